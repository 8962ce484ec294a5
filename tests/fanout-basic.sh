# fanout: lines reach user FIFOs (mkfifo + cat) and subscribe(1) whole and identical
# to the transcript log, including lines longer than PIPE_BUF, each with the callpipe
# member added (and nothing else changed); the call and stream folders' files.
. "$TOP/tests/lib.sh"
export CALLPIPE_DIR=$WORK/state CALLPIPE_CALL_GRACE_SECONDS=0
SID=CA0123456789abcdef0123456789abcdef
MZ=MZ00000000000000000000000000000001
strip() { sed -E 's/,?"callpipe":\{[^}]*\}\}$/}/' "$@"; }
norm() { sed -E 's/streams\/1\.[0-9]+\./streams\/1.MS./'; }
live() { subscribe | grep -q "^$SID "; }
attached() { ls -l /proc/$FP/fd 2>/dev/null | grep -q "subscribers/$1"; }

/usr/bin/python3 - > lines <<'PY'
import json
for i in range(1, 301):
    m = {"type": "Results", "seq": i, "channel_index": [i % 2, 2]}
    if i % 50 == 0:
        m["pad"] = "w" * 10000          # > PIPE_BUF (4096)
    print(json.dumps(m, separators=(",", ":")))
PY

case_ "fanout starts: call folder, lock held, start event saved"
mkfifo in
TWILIO_CALL_SID=$SID TWILIO_STREAM_SID=$MZ TWILIO_TRACKS=inbound,outbound \
    TWILIO_START='{"event":"start","start":{"callSid":"'$SID'"}}' fanout <in 2>fanout.err & FP=$!
exec 3>in
rc waitfor 5 live
D=$(echo "$CALLPIPE_DIR/calls/$SID/streams/1."*)
cat "$D/start.json"
(cd "$CALLPIPE_DIR" && stat -c '%a %F %n' . calls calls/$SID calls/$SID/lock calls/$SID/streams calls/$SID/streams/* \
    calls/$SID/streams/*/subscribers calls/$SID/streams/*/log.jsonl calls/$SID/streams/*/live.lock) | norm
rc flock -n "$D/live.lock" true
echo "live.lock bytes: $(wc -c < "$D/live.lock")"

case_ "two user FIFOs and one subscribe attach"
mkfifo "$D/subscribers/a" "$D/subscribers/b"
cat "$D/subscribers/a" > a.out 3>&- & CA=$!
cat "$D/subscribers/b" > b.out 3>&- & CB=$!
subscribe -n $SID > s.out 2>s.err 3>&- & SP=$!
rc waitfor 5 attached a
rc waitfor 5 attached b
rc waitfor 5 attached "subscribe.$SP."

case_ "300 lines, six of 10000 bytes, then end of input"
cat lines >&3
exec 3>&-
wait $FP; echo "fanout ? $?"
wait $CA; echo "cat a ? $?"
wait $CB; echo "cat b ? $?"
wait $SP; echo "subscribe ? $?"
wc -l < "$D/log.jsonl"
strip "$D/log.jsonl" | cmp lines - && echo "log = input, each line with its callpipe member"
head -n 1 "$D/log.jsonl" | jq -c .callpipe | norm
for f in a.out b.out; do cmp "$D/log.jsonl" $f && echo "$f = log"; done
sed '$d' s.out | cmp "$D/log.jsonl" - && echo "s.out = log, then:"
tail -n 1 s.out

case_ "call ended: ended written, lock released, subscribe FIFO removed"
cat "$D/ended"
rc flock -n "$D/live.lock" true
ls "$D/subscribers"
subscribe | wc -l
echo "fanout drops: $(grep -c dropping fanout.err), subscribe warnings: $(grep -c . s.err)"
sed 's/[0-9]*$/N/' fanout.err | grep -c 'info: CA0123456789abcdef0123456789abcdef: stream 1: 300 lines, 300 logged, 0 too long, 0 empty, 0 not JSON objects; 3 subscribers'
