# server-refuse: unknown and malformed CallSids, and path traversal attempts, are refused
# without touching the filesystem (issue 4, test 6): over /client (URL and typed line),
# over /twilio (the start event's callSid), in the shell (subscribe), and in the URL path.
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

start_standin
start_pipeline
U=ws://127.0.0.1:$PORT
unknown=CA0123456789abcdef0123456789abcdef
# slots/ holds the subscriber slots (CALLPIPE_MAX_SUBSCRIBERS), made by the first /client
snap() { (cd "$STATE" && find . -path ./slots -prune -o -print | sort); }
snap >before

case_ "/client: unknown and malformed CallSids in the URL"
for q in "callsid=$unknown" "callsid=$unknown&history=1" "callsid=../../pwned" \
	"callsid=CA0123456789abcdef0123456789abcde%2F" "callsid=CA0123456789abcdef0123456789abcdeg" \
	"callsid=CA0123456789abcdef0123456789abcdef0" "callsid=%24%28touch%20pwned%29" \
	"history=1&callsid=CA/../../../pwned"; do
	echo "? $q"
	ws-client -c -t 10 "$U/client?$q&wait=0" | sed 1d
done

case_ "/client: typed lines"
for l in "$unknown" "  $unknown  " "../../pwned" 'CA$(touch pwned)' '`touch pwned`' \
	"CA0123456789abcdef0123456789abcdef/../.." "$(printf 'x%.0s' $(seq 1 3000))"; do
	echo "? $(printf '%s' "$l" | cut -c1-40)"
	ws-client -c -t 10 -s "$l" "$U/client?wait=0" | sed 1d
done

case_ "/twilio: a start event with a bad callSid opens nothing"
for c in "../../pwned" "CA../../../../pwned" "CA0123456789abcdef0123456789abcdeX" ""; do
	fake-capture -c "$c" -s 1 >bad.jsonl
	# twilio-mix refuses the call; whether the connection closes before the replay ends
	# is a race, so the replay's exit status (0 or 111) is not shown
	twilio-replay -f "$U/twilio" <bad.jsonl >/dev/null 2>bad.err
	case $? in 0 | 111) ;; *) echo "twilio-replay exit $?" ;; esac
done
printf '%s\n' 'not json' '{"event":"media"}' '{"event":"start","start":{"callSid":{"a":1}}}' >junk.jsonl
twilio-replay -f "$U/twilio" <junk.jsonl >/dev/null 2>junk.err
case $? in 0 | 111) ;; *) echo "twilio-replay exit $?" ;; esac
# twilio-mix logs each refusal straight into the server's log (run/calls.fifo), so
# none is lost when the handler exits at once (websocketd used to lose some)
refusals() { [ "$(grep -c 'twilio-mix: fatal: .*refusing the call' "$WORK/pipeline.log")" -ge 4 ]; }
waitfor 10 refusals
echo "refusals logged: $(grep -c 'twilio-mix: fatal: .*refusing the call' "$WORK/pipeline.log")"
echo "stand-in connections: $(jq -r 'select(.ev == "connect") | .conn' "$WORK/standin.log" | wc -l)"

case_ "subscribe in the shell"
for s in ../../pwned "$unknown" 'CA$(touch pwned)'; do
	subscribe -n "$s" 2>&1
	echo "? $?"
done

case_ "paths that leave the folders"
for p in /../../../etc/passwd /twilio/../../etc/passwd /%2e%2e/%2e%2e/etc/passwd /health/../client; do
	printf '%s %s\n' "$p" "$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT$p")"
done

case_ "nothing changed on disk"
snap >after
same before after
echo "call folders: $(ls "$STATE/calls" | wc -l)"
echo "files named pwned: $(find "$WORK" -name '*pwned*' | wc -l)"
