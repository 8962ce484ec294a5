# server-drop: the caller's socket drops mid-call (no close frame, as when Twilio's side
# vanishes): every process of the call still ends on its own within a few seconds, and
# the log and the subscriber get the flushed tail: the last partial second's finals and
# Deepgram's Metadata after CloseStream (issue 4, test 5).
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

start_standin
start_pipeline
S=$(sid 5)
fake-capture -c "$S" -s 6 >call.jsonl

case_ "drop the caller's connection 2.5 s into a 6 s call"
twilio-replay -d 2.5 "ws://127.0.0.1:$PORT/twilio" <call.jsonl 2>replay.err &
RP=$!
waitfor 10 live "$S" || echo "call did not start"
hold "$RP"
subscribe -n "$S" >sub.out 2>sub.err &
SP=$!
waitfor 10 hasnsubs "$S" 1 || echo "subscriber did not attach"
# checked while the replay is held: once released, the call may end within a moment
[ -n "$(callprocs "$S")" ] && echo "the call has processes while live"
echo "log lines when attached: $(loglines "$S")" >&2
release "$RP" "$S" 1
waitexit 20 "$RP"
echo "twilio-replay exit $?"
waitfor 15 ended "$S" && echo "the call ended"
waitfor 10 noprocs && echo "no process of the call is left"
callprocs "$S" | wc -l
waitexit 5 "$SP"
echo "subscribe exit $?"

case_ "the tail reached the log and the subscriber"
L=$(streamdir "$S")/log.jsonl
summary "$L"
jq -r 'select(.type == "Results") | "\(.channel_index[0]) \(.start) \(.duration)"' "$L" | tail -n 2
jq -r 'select(.type == "Metadata") | "audio seconds \(.duration)"' "$L"
tail -n 1 "$L" | jq -r .type
sed '$d' sub.out >sub.msgs
same sub.msgs "$L"
tail -n 1 sub.out
jq -r 'select(.ev == "control") | .type' "$WORK/standin.log"
jq -r 'select(.ev == "close") | "close \(.code) by \(.by)"' "$WORK/standin.log"
