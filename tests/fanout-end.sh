# fanout: end of input, SIGTERM and SIGKILL; a second fanout for the same stream, for
# another stream, and for an ended call; the limits -s (subscribers), -m (log size),
# -l (line length); empty lines and lines that are not JSON objects.
. "$TOP/tests/lib.sh"
export CALLPIPE_DIR=$WORK/state CALLPIPE_CALL_GRACE_SECONDS=0
SID=CA11111111111111111111111111111111
MZ=MZ11111111111111111111111111111111
sd() { echo "$CALLPIPE_DIR/calls/$SID/streams/$1."*; }
strip() { sed -E 's/,?"callpipe":\{[^}]*\}\}$/}/' "$@"; }
live() { subscribe | grep -q "^$SID "; }
attached() { ls -l /proc/$FP/fd 2>/dev/null | grep -q "subscribers/$1"; }
gone() { ! kill -0 "$1" 2>/dev/null; }
iso() { sed 's/^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z$/TIME/' "$@"; }

case_ "end of input: subscribers see EOF at once, ended written, lock released"
mkfifo in
fanout -c $SID -S $MZ <in 2>fanout.err & FP=$!
exec 3>in
rc waitfor 5 live
D=$(sd 1)
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
strip u.out s.out
cat "$D/ended"
rc flock -n "$D/live.lock" true

case_ "the same StreamSid after the call ended: a new stream; its earlier data untouched"
cp "$D/log.jsonl" log1
mkfifo in2
fanout -c $SID -S $MZ <in2 2>fanout2.err & FP=$!
exec 3>in2
rc waitfor 5 live
ls "$CALLPIPE_DIR/calls/$SID/streams" | sed -E 's/\.[0-9]+\./.MS./'
cmp log1 "$D/log.jsonl" && test -e "$D/ended" && echo "stream 1: log and ended mark unchanged"
D=$(sd 2)

case_ "a second fanout for the same live stream is refused; another stream is not"
fanout -c $SID -S $MZ </dev/null 2>second.err; echo "? $?"
sed -E 's/[0-9]+\.[0-9]+\.MZ/N.MS.MZ/' second.err
echo '{"other":1}' | fanout -c $SID 2>third.err; echo "? $?"
ls "$CALLPIPE_DIR/calls/$SID/streams" | sed -E 's/\.[0-9]+\./.MS./'

case_ "SIGTERM ends the call like end of input"
subscribe -n $SID > t.out 3>&- & SP=$!
rc waitfor 5 attached "subscribe.$SP."
echo '{"n":2}' >&3
rc waitfor 5 grep -q '"n":2' "$D/log.jsonl"
kill -TERM $FP
rc waitfor 2 gone $SP
wait $FP; echo "fanout ? $?"
wait $SP; echo "subscribe ? $?"
strip t.out
cat "$D/ended"
exec 3>&-
grep -c 'got signal 15' fanout2.err

case_ "SIGKILL: the call does not look live, no ended mark"
mkfifo in3
fanout -c $SID <in3 2>fanout3.err & FP=$!
exec 3>in3
rc waitfor 5 live
D=$(sd 4)
subscribe -n $SID > k.out 2>k.err 3>&- & SP=$!
rc waitfor 5 attached "subscribe.$SP."
kill -KILL $FP
wait $FP 2>/dev/null
rc waitfor 2 gone $SP
wait $SP; echo "subscribe ? $?"
cat k.out
exec 3>&-
live; echo "live: $?"
subscribe | wc -l
rc flock -n "$D/live.lock" true
test -e "$D/ended"; echo "ended: $?"
subscribe $SID 2>&1; echo "? $?"
callstate sweep; echo "sweep ? $?"
cat "$D/ended"

case_ "-s 1: a second subscriber is dropped; it exits 1"
SID2=CA22222222222222222222222222222222
mkfifo in4
fanout -c $SID2 -s 1 <in4 2>fanout4.err & FP=$!
exec 3>in4
waitfor 5 sh -c "subscribe | grep -q $SID2"
subscribe -n $SID2 > a.out 2>a.err 3>&- & AP=$!
rc waitfor 5 attached "subscribe.$AP."
subscribe -n $SID2 > b.out 2>b.err 3>&-; echo "second subscribe ? $?"
cat b.out b.err
grep -c 'limit of 1 subscribers reached' fanout4.err

case_ "empty lines are skipped"
printf '{"n":1}\n\n{"n":2}\n' >&3
exec 3>&-
wait $FP; echo "fanout ? $?"
wait $AP; echo "subscribe ? $?"
strip a.out
strip "$CALLPIPE_DIR"/calls/$SID2/streams/1.*/log.jsonl

case_ "-l 20: longer lines skipped; -m 400: log stops growing, lines still fanned out"
SID3=CA33333333333333333333333333333333
mkfifo in5
fanout -c $SID3 -l 20 -m 400 <in5 2>fanout5.err & FP=$!
exec 3>in5
waitfor 5 sh -c "subscribe | grep -q $SID3"
subscribe -n $SID3 > m.out 3>&- & MP=$!
rc waitfor 5 attached "subscribe.$MP."
printf '{"n":1}\n{"n":"this line is too long"}\n{"n":2}\n{"n":3}\n{"n":4}\n{"n":5}\nabc' >&3
exec 3>&-
wait $FP; echo "fanout ? $?"
wait $MP; echo "subscribe ? $?"
echo "subscriber:"; strip m.out
echo "log:"; strip "$CALLPIPE_DIR"/calls/$SID3/streams/1.*/log.jsonl
grep -e skipping -e "not logged" -e "not JSON" fanout5.err

case_ "a fatal callpipe.error from the pipeline: subscribers get it, then transcription-failed"
SID4=CA44444444444444444444444444444444
mkfifo in6
fanout -c $SID4 <in6 2>fanout6.err & FP=$!
exec 3>in6
waitfor 5 sh -c "subscribe | grep -q $SID4"
subscribe $SID4 > e.out 2>e.err 3>&- & EP=$!
rc waitfor 5 attached "subscribe.$EP."
printf '{"n":1}\n{"type":"callpipe.gap","start":1.5,"end":3,"reason":"deepgram-stream restarted"}\n{"type":"callpipe.error","error":"HTTP 401","fatal":true}\n' >&3
exec 3>&-
wait $FP; echo "fanout ? $?"
wait $EP; echo "subscribe ? $?"
strip e.out
cat e.err
cat "$CALLPIPE_DIR"/calls/$SID4/streams/*/ended
subscribe -j | jq -c '.ended | map(select(.callSid == "'$SID4'") | .streams)'
