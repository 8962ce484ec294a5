# pipe-fail: a call whose transcription fails for good (Deepgram refuses the key: HTTP
# 401, permanent) logs ONE line naming the CallSid, the StreamSid and the cause; the
# call's transcript ends with a fatal callpipe.error line (what subscribers get before
# transcription-failed); /health says degraded (still 200) with the count and the last
# error (issue 9, section 5).
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

start_standin --key otherkey
start_pipeline
S=$(sid 91)
fake-capture -c "$S" -s 2 >call.jsonl

case_ "healthy before any failure"
health

case_ "Deepgram refuses the key"
twilio-replay "ws://127.0.0.1:$PORT/twilio" <call.jsonl 2>replay.err
echo "twilio-replay exit $?"
waitfor 10 ended "$S" && echo "the call ended"
waitfor 10 noprocs && echo "no call processes left"
M=$(jq -r .streamSid call.jsonl | grep MZ | head -n 1)
norm() { sed -E "s/$S/CALL/; s/$M/STREAM/; s/127.0.0.1:$SPORT/DG/; s/dg-request-id: [0-9a-f-]+/dg-request-id: ID/"; }
echo "lines naming the call, the stream and a failure: $(grep "$S" "$WORK/pipeline.log" | grep "$M" | grep -c fail)"
grep "$S" "$WORK/pipeline.log" | grep "$M" | grep fail | norm
tail -n 1 "$(streamdir "$S")/log.jsonl" | jq -c '{type, fatal, error: (.error | test("HTTP 401"))}'

case_ "/health: degraded, with the count and the last error"
health | sed -E 's/"last_error_at":"[0-9T:Z-]+"/"last_error_at":"T"/' | norm
jq -r '.failures.last_error_at | test("^20[0-9-]+T[0-9:]+Z$")' "$WORK/health.json"
stop_pipeline
