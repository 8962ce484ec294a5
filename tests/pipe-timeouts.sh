# pipe-timeouts: a /twilio connection that sends no start within
# CALLPIPE_HANDSHAKE_SECONDS is closed, and so is one that sends no media for
# CALLPIPE_MEDIA_TIMEOUT_SECONDS after its start (issue 9, section 4): each holds a
# connection, and after start a Deepgram session. twilio-mix on input with no start
# event prints one line and exits 1 (section 7).
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

export CALLPIPE_HANDSHAKE_SECONDS=1 CALLPIPE_MEDIA_TIMEOUT_SECONDS=2
start_standin
start_pipeline
S=$(sid 61)
fake-capture -c "$S" -s 1 | sed -n 2p >start.jsonl

case_ "no start within 1 s: closed"
ws-client -c -t 20 "ws://127.0.0.1:$PORT/twilio"; echo "? $?"
waitfor 5 grep -q 'no Twilio start event within' "$WORK/pipeline.log"
grep -o 'twilio-mix: .*no Twilio start.*' "$WORK/pipeline.log"

case_ "a start, then no media for 2 s: closed, the call ends"
ws-client -c -t 20 -s "$(cat start.jsonl)" "ws://127.0.0.1:$PORT/twilio"; echo "? $?"
waitfor 10 ended "$S" && echo "the call ended"
waitfor 5 grep -q 'no media for' "$WORK/pipeline.log"
grep -o 'twilio-mix: .*no media for.*' "$WORK/pipeline.log"
echo "stand-in connections: $(jq -r 'select(.ev == "connect") | .conn' "$WORK/standin.log" | wc -l)"
waitfor 10 noprocs && echo "no call processes left"

case_ "a call with media is not cut"
fake-capture -c "$(sid 62)" -s 4 >call.jsonl
twilio-replay "ws://127.0.0.1:$PORT/twilio" <call.jsonl 2>replay.err; echo "twilio-replay exit $?"
waitfor 10 ended "$(sid 62)" && summary "$(streamdir "$(sid 62)")/log.jsonl"

case_ "twilio-mix on input with no start event"
printf '%s\n' '{"event":"connected","protocol":"Call","version":"1.0.0"}' | twilio-mix >out.wav 2>err.txt
echo "? $?"
cat err.txt
wc -c <out.wav
