# subscribe: exits 0 and removes its FIFO with -i at stdin EOF (websocketd's client is
# gone), when stdout goes away, at call end, and on SIGTERM/SIGINT/SIGHUP (end line
# server-stopping), even while blocked writing to a stalled stdout; data on stdin is read
# and ignored. Without -i stdin is not watched: `subscribe CA… </dev/null | jq` works.
. "$TOP/tests/lib.sh"
export CALLPIPE_DIR=$WORK/state CALLPIPE_CALL_GRACE_SECONDS=0
SID=CAabcdefabcdefabcdefabcdefabcdefab
strip() { sed -E 's/,?"callpipe":\{[^}]*\}\}$/}/' "$@"; }
live() { subscribe | grep -q "^$SID "; }
attached() { ls -l /proc/$FP/fd 2>/dev/null | grep -q "subscribers/$1"; }
gone() { ! kill -0 "$1" 2>/dev/null; }
fifos() { echo "FIFOs: $(ls "$D/subscribers" | wc -l)"; }
# served N: fanout holds N subscriber FIFOs open (one that only exists may miss a line)
served() { [ "$(ls -l /proc/$FP/fd 2>/dev/null | grep -c "subscribers/subscribe\.")" -ge "$1" ]; }

mkfifo in
fanout -c $SID <in 2>fanout.err & FP=$!
exec 3>in
rc waitfor 5 live
D=$(echo "$CALLPIPE_DIR/calls/$SID/streams/1."*)

case_ "-i with stdin at EOF from the start: the calls list, then exits at once"
subscribe -i $SID </dev/null > o0; echo "? $?"
jq -c '.calls | map(.callSid == "'$SID'")' o0
fifos

case_ "without -i, stdin at EOF: still attached, through a pipe to jq"
(subscribe $SID </dev/null; echo $? > rcj) 3>&- | jq --unbuffered -c 'del(.callpipe)' > oj 3>&- & JP=$!
rc waitfor 5 served 1
echo '{"n":0}' >&3
rc waitfor 5 test -s oj
test -e rcj; echo "exited: $?"

case_ "stdin open: client messages are ignored; EOF on stdin ends it"
mkfifo sin
subscribe -i $SID < sin > o1 3>&- & P=$!
exec 4>sin
rc waitfor 5 attached "subscribe.$P."
echo 'hello from the client' >&4
echo '{"n":1}' >&3
rc waitfor 5 grep -q '"n":1' o1 # the calls list came first: wait for the line itself
kill -0 $P; echo "still attached: $?"
exec 4>&-
rc waitfor 3 gone $P
wait $P; echo "subscribe ? $?"
sed 1d o1 | strip
fifos

case_ "stdout goes away (head -n 1)"
( subscribe -n $SID 3>&-; echo $? > rc2 ) | head -n 1 > o2 & HP=$!
rc waitfor 5 served 2 # the subscriber piped to jq, and this one
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
	cat o3
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
strip o5
wait $FP; echo "fanout ? $?"
fifos
wait $JP
echo "subscribe | jq: ? $(cat rcj)"
grep -v pad oj
