# fanout: end of input, SIGTERM and SIGKILL; a second fanout for a live call; the
# limits -s (subscribers), -m (log size), -l (line length); empty lines.
. "$TOP/tests/lib.sh"
export CALLPIPE_DIR=$WORK/state
SID=CA11111111111111111111111111111111
D=$CALLPIPE_DIR/calls/$SID
live() { subscribe | grep -q "^$SID "; }
attached() { ls -l /proc/$FP/fd 2>/dev/null | grep -q "subscribers/$1"; }
gone() { ! kill -0 "$1" 2>/dev/null; }
iso() { sed 's/^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z$/TIME/' "$@"; }

case_ "end of input: subscribers see EOF at once, ended written, lock released"
mkfifo in
fanout -c $SID <in 2>fanout.err & FP=$!
exec 3>in
rc waitfor 5 live
mkfifo "$D/subscribers/u"
cat "$D/subscribers/u" > u.out 3>&- & UP=$!
subscribe -n $SID > s.out 3>&- & SP=$!
rc waitfor 5 attached u
rc waitfor 5 attached "subscribe.$SP."
echo '{"n":1}' >&3
exec 3>&-
rc waitfor 2 gone $UP
rc waitfor 2 gone $SP
wait $FP; echo "fanout ? $?"
wait $UP; echo "cat ? $?"
wait $SP; echo "subscribe ? $?"
cat u.out s.out
iso "$D/ended"
rc flock -n "$D/live.lock" true

case_ "the same call again: ended removed while live, lock taken"
mkfifo in2
fanout -c $SID <in2 2>fanout2.err & FP=$!
exec 3>in2
rc waitfor 5 live
waitfor 5 test ! -e "$D/ended"; test -e "$D/ended"; echo "ended while live: $?"

case_ "a second fanout for a live call is refused"
fanout -c $SID </dev/null 2>second.err; echo "? $?"
cat second.err

case_ "SIGTERM ends the call like end of input"
subscribe -n $SID > t.out 3>&- & SP=$!
rc waitfor 5 attached "subscribe.$SP."
echo '{"n":2}' >&3
rc waitfor 5 grep -q '"n":2' "$D/log.jsonl"
kill -TERM $FP
rc waitfor 2 gone $SP
wait $FP; echo "fanout ? $?"
wait $SP; echo "subscribe ? $?"
cat t.out
iso "$D/ended"
exec 3>&-
grep -c 'got signal 15' fanout2.err

case_ "SIGKILL: the call does not look live, no ended"
rm -f "$D/ended"
mkfifo in3
fanout -c $SID <in3 2>fanout3.err & FP=$!
exec 3>in3
rc waitfor 5 live
subscribe -n $SID > k.out 2>k.err 3>&- & SP=$!
rc waitfor 5 attached "subscribe.$SP."
kill -KILL $FP
wait $FP 2>/dev/null
rc waitfor 2 gone $SP
wait $SP; echo "subscribe ? $?"
exec 3>&-
live; echo "live: $?"
subscribe | wc -l
rc flock -n "$D/live.lock" true
test -e "$D/ended"; echo "ended: $?"
subscribe $SID 2>&1; echo "? $?"

case_ "-s 1: a second subscriber is dropped; it exits 1"
SID2=CA22222222222222222222222222222222
D2=$CALLPIPE_DIR/calls/$SID2
mkfifo in4
fanout -c $SID2 -s 1 <in4 2>fanout4.err & FP=$!
exec 3>in4
waitfor 5 sh -c "subscribe | grep -q $SID2"
subscribe -n $SID2 > a.out 2>a.err 3>&- & AP=$!
rc waitfor 5 attached "subscribe.$AP."
subscribe -n $SID2 > b.out 2>b.err 3>&-; echo "second subscribe ? $?"
cat b.err
grep -c 'limit of 1 subscribers reached' fanout4.err

case_ "empty lines are skipped"
printf '{"n":1}\n\n{"n":2}\n' >&3
exec 3>&-
wait $FP; echo "fanout ? $?"
wait $AP; echo "subscribe ? $?"
cat a.out
cat "$D2/log.jsonl"

case_ "-l 20: longer lines skipped; -m 30: log stops growing, lines still fanned out"
SID3=CA33333333333333333333333333333333
D3=$CALLPIPE_DIR/calls/$SID3
mkfifo in5
fanout -c $SID3 -l 20 -m 30 <in5 2>fanout5.err & FP=$!
exec 3>in5
waitfor 5 sh -c "subscribe | grep -q $SID3"
subscribe -n $SID3 > m.out 3>&- & MP=$!
rc waitfor 5 attached "subscribe.$MP."
printf '{"n":1}\n{"n":"this line is too long"}\n{"n":2}\n{"n":3}\n{"n":4}\n{"n":5}\nabc' >&3
exec 3>&-
wait $FP; echo "fanout ? $?"
wait $MP; echo "subscribe ? $?"
echo "subscriber:"; cat m.out
echo "log:"; cat "$D3/log.jsonl"
grep -e skipping -e "not logged" fanout5.err
