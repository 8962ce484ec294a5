# subscribe: exits 0 and removes its FIFO at stdin EOF (websocketd's client is gone),
# when stdout goes away, at call end, and on SIGTERM/SIGINT/SIGHUP, even while blocked
# writing to a stalled stdout; data on stdin is read and ignored.
. "$TOP/tests/lib.sh"
export CALLPIPE_DIR=$WORK/state
SID=CAabcdefabcdefabcdefabcdefabcdefab
D=$CALLPIPE_DIR/calls/$SID
live() { subscribe | grep -q "^$SID "; }
attached() { ls -l /proc/$FP/fd 2>/dev/null | grep -q "subscribers/$1"; }
gone() { ! kill -0 "$1" 2>/dev/null; }
fifos() { echo "FIFOs: $(ls "$D/subscribers" | wc -l)"; }

mkfifo in
fanout -c $SID <in 2>fanout.err & FP=$!
exec 3>in
rc waitfor 5 live

case_ "stdin at EOF from the start (no -n): exits at once"
subscribe $SID > o0; echo "? $?"
fifos

case_ "stdin open: client messages are ignored; EOF on stdin ends it"
mkfifo sin
subscribe $SID < sin > o1 3>&- & P=$!
exec 4>sin
rc waitfor 5 attached "subscribe.$P."
echo 'hello from the client' >&4
echo '{"n":1}' >&3
rc waitfor 5 test -s o1
kill -0 $P; echo "still attached: $?"
exec 4>&-
rc waitfor 3 gone $P
wait $P; echo "subscribe ? $?"
cat o1
fifos

case_ "stdout goes away (head -n 1)"
( subscribe -n $SID 3>&-; echo $? > rc2 ) | head -n 1 > o2 & HP=$!
rc waitfor 5 attached subscribe.
echo '{"n":2}' >&3
rc waitfor 3 test -s rc2
echo "subscribe ? $(cat rc2)"
cat o2
wait $HP
fifos

for sig in TERM INT HUP; do
	case_ "SIG$sig"
	subscribe -n $SID > o3 3>&- & P=$!
	rc waitfor 5 attached "subscribe.$P."
	kill -s $sig $P
	rc waitfor 3 gone $P
	wait $P; echo "subscribe ? $?"
	fifos
done

case_ "SIGTERM while blocked writing to a stdout nobody reads"
mkfifo out
sleep 60 < out 3>&- & ZP=$!
subscribe -n $SID > out 2>o4.err 3>&- & P=$!
rc waitfor 5 attached "subscribe.$P."
/usr/bin/python3 -c 'print("\n".join("{\"pad\":\"%s\"}" % ("w" * 10000) for i in range(30)))' >&3
sleep 0.5
kill -0 $P; echo "blocked, still running: $?"
kill -TERM $P
rc waitfor 3 gone $P
wait $P; echo "subscribe ? $?"
killpids $ZP
fifos

case_ "call end"
subscribe -n $SID > o5 3>&- & P=$!
rc waitfor 5 attached "subscribe.$P."
echo '{"n":3}' >&3
exec 3>&-
rc waitfor 3 gone $P
wait $P; echo "subscribe ? $?"
cat o5
wait $FP; echo "fanout ? $?"
fifos
