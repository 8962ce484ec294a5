# server-basic: a replayed call through pipeline.sh (real websocketd, the stand-in as
# Deepgram) reaches two subscribers, one over /client (a real WebSocket client) and one
# running subscribe in the shell: each gets every message, in order, identical to the
# transcript log; both see EOF within a second of the call's end (issue 4, tests 1 and 8).
# Also: /health while idle and during a call, nothing sent back to "Twilio", /client's
# calls list, the static page.
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

start_standin
start_pipeline
S=$(sid 1)
fake-capture -c "$S" -s 3 >call.jsonl

case_ "health while idle"
health

case_ "static page and an unknown path"
curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$PORT/"
curl -s "http://127.0.0.1:$PORT/" | grep -c '<script src="app.js"'
curl -s "http://127.0.0.1:$PORT/app.js" | grep -c 'new URL("/client"'
curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$PORT/nothere"

case_ "a call at half speed, two subscribers attached before its first result"
twilio-replay -s 0.5 "ws://127.0.0.1:$PORT/twilio" <call.jsonl >twilio.out 2>replay.err &
RP=$!
waitfor 10 live "$S" || echo "call did not start"
hold "$RP"
ws-client -c -t 30 "ws://127.0.0.1:$PORT/client?callsid=$S" >ws.out 2>ws.err &
WP=$!
subscribe -n "$S" >sub.out 2>sub.err &
SP=$!
waitfor 10 hasnsubs "$S" 2 || echo "subscribers did not attach"
echo "log lines when both attached: $(loglines "$S")"
health
release "$RP" "$S" 2
waitexit 30 "$RP"
echo "twilio-replay exit $?"
waitfor 20 ended "$S" || echo "call did not end"
# EOF within a second of the end (fanout closes the FIFOs before it writes `ended`)
if within 1000 gone "$SP" && within 1000 gone "$WP"; then echo "both subscribers ended within 1 s"; fi
waitexit 5 "$SP"
echo "subscribe exit $?"
waitexit 5 "$WP"
echo "ws-client exit $?"

case_ "what the subscribers got"
L=$(streamdir "$S")/log.jsonl
summary "$L"
jq -r 'select(.type == "Metadata") | "audio seconds \(.duration), channels \(.channels)"' "$L"
sed '$d' sub.out >sub.msgs
same sub.msgs "$L"
tail -n 1 sub.out
head -n 1 ws.out | jq -c '.type, (.calls | map(.callSid == "'"$S"'"))'
sed '1d;$d' ws.out | sed '$d' >ws.msgs
same ws.msgs "$L"
tail -n 2 ws.out
echo "bytes sent back to twilio: $(wc -c <twilio.out)"
echo "subscribe stderr: $(wc -l <sub.err) lines"

case_ "after the call"
# /health (a CGI: no --passenv) counts calls inside the default 5 s grace as live
waitfor 10 sh -c 'curl -s "http://127.0.0.1:'$PORT'/health" | grep -q "\"calls\":0"'
health
ws-client -c -t 10 -s "$S" "ws://127.0.0.1:$PORT/client" >after.out
echo "ws-client exit $?"
sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z/TIME/g' after.out
subscribe
echo "subscribe exit $?"
ls "$(calldir "$S")"
ls "$(streamdir "$S")/subscribers" | wc -l

case_ "stop"
stop_pipeline
grep -c '^pipeline.sh: info: stopped (0 live calls left)$' "$WORK/pipeline.log"
