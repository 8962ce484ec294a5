# fanout: subscribers that arrive during a silent stretch (no lines) are found at once
# and get every later line; a FIFO whose reader comes late is picked up too.
. "$TOP/tests/lib.sh"
export CALLPIPE_DIR=$WORK/state CALLPIPE_CALL_GRACE_SECONDS=0
SID=CAffffffffffffffffffffffffffffffff
strip() { sed -E 's/,?"callpipe":\{[^}]*\}\}$/}/' "$@"; }
live() { subscribe | grep -q "^$SID "; }
attached() { ls -l /proc/$FP/fd 2>/dev/null | grep -q "subscribers/$1"; }

mkfifo in
fanout -c $SID <in 2>fanout.err & FP=$!
exec 3>in
rc waitfor 5 live
D=$(echo "$CALLPIPE_DIR/calls/$SID/streams/1."*)
printf '{"n":1}\n{"n":2}\n{"n":3}\n' >&3
rc waitfor 5 sh -c "[ \$(wc -l < $D/log.jsonl) -eq 3 ]"

case_ "silence: subscribe, subscribe -H and cat join; fanout opens their FIFOs with no line written"
subscribe -n $SID > l.out 2>l.err 3>&- & LP=$!
subscribe -n -H $SID > h.out 2>h.err 3>&- & HP=$!
mkfifo "$D/subscribers/u"
cat "$D/subscribers/u" > u.out 3>&- & UP=$!
rc waitfor 5 attached "subscribe.$LP."
rc waitfor 5 attached "subscribe.$HP."
rc waitfor 5 attached u

case_ "a FIFO made now, its reader only later"
mkfifo "$D/subscribers/late"
sleep 0.5
attached late; echo "attached before a reader: $?"
cat "$D/subscribers/late" > late.out 3>&- & TP=$!
rc waitfor 5 attached late

case_ "the silence ends"
sleep 0.3
printf '{"n":4}\n{"n":5}\n' >&3
exec 3>&-
for p in $FP $LP $HP $UP $TP; do wait $p; echo "? $?"; done
echo "l:"; strip l.out
echo "u:"; strip u.out
echo "late:"; strip late.out
echo "h:"; strip h.out
cat l.err h.err
