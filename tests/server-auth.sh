# server-auth: with TWILIO_AUTH_TOKEN and CALLPIPE_PUBLIC_URL set, /twilio takes a call
# only with a valid X-Twilio-Signature (computed here with openssl over the public URL);
# an unsigned or wrongly signed call is refused at once: no call folder, no Deepgram
# connection, one log line with the remote address. twilio-replay -H sends the header.
# With CALLPIPE_CLIENT_TOKEN set, /client lists nothing before the token is presented
# (Authorization: Bearer, or ?token= for browsers).
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

case_ "TWILIO_AUTH_TOKEN needs CALLPIPE_PUBLIC_URL"
for u in "" callpipe.example.com; do
	env CALLPIPE_BIN="$BIN" CALLPIPE_DIR="$WORK/cfg" DEEPGRAM_API_KEY=testkey TWILIO_AUTH_TOKEN=x \
		CALLPIPE_PUBLIC_URL="$u" sh "$TOP/pipeline.sh" 2>&1
	echo "? $?"
done

export TWILIO_AUTH_TOKEN=0123456789abcdef0123456789abcdef
export CALLPIPE_PUBLIC_URL=wss://callpipe.example.com
for t in short 'has space and more than 16' 'abc/def0123456789abc'; do
	env CALLPIPE_BIN="$BIN" CALLPIPE_DIR="$WORK/cfg" DEEPGRAM_API_KEY=testkey \
		CALLPIPE_CLIENT_TOKEN="$t" sh "$TOP/pipeline.sh" 2>&1
	echo "? $?"
done
export CALLPIPE_CLIENT_TOKEN=f00dfeed0123456789abcdef.42-x
start_standin
start_pipeline
sig() { printf %s "$1" | openssl dgst -sha1 -hmac "$TWILIO_AUTH_TOKEN" -binary | base64; }
good=$(sig wss://callpipe.example.com/twilio)
bad=$(sig wss://elsewhere.example.com/twilio)

case_ "unsigned and wrongly signed calls are refused"
A=$(sid 41) B=$(sid 42) C=$(sid 43)
fake-capture -c "$A" -s 1 >a.jsonl
fake-capture -c "$B" -s 1 >b.jsonl
twilio-replay -f "ws://127.0.0.1:$PORT/twilio" <a.jsonl >/dev/null 2>a.err
twilio-replay -f -H "X-Twilio-Signature: $bad" "ws://127.0.0.1:$PORT/twilio" <b.jsonl >/dev/null 2>b.err
refused() { [ "$(grep -c 'twilio: warning: refusing call' "$WORK/pipeline.log")" -ge 2 ]; }
waitfor 5 refused
grep -o 'twilio: warning: refusing call.*' "$WORK/pipeline.log"
for s in $A $B; do [ -e "$(calldir "$s")" ] && echo "$s has a folder" || echo "no folder"; done
echo "stand-in connections: $(jq -r 'select(.ev == "connect") | .conn' "$WORK/standin.log" | wc -l)"

case_ "a signed call goes through"
fake-capture -c "$C" -s 2 >c.jsonl
twilio-replay -s 2 -H "X-Twilio-Signature: $good" "ws://127.0.0.1:$PORT/twilio" <c.jsonl 2>c.err
echo "twilio-replay exit $?"
waitfor 10 ended "$C" && echo "the call ended"
summary "$(streamdir "$C")/log.jsonl"
echo "stand-in connections: $(jq -r 'select(.ev == "connect") | .conn' "$WORK/standin.log" | wc -l)"

case_ "/client needs the client token"
U="ws://127.0.0.1:$PORT/client"
ws-client -c -t 10 "$U"
ws-client -c -t 10 "$U?token=f00dfeed0123456789abcdef.42-y"
ws-client -c -t 10 -H "Authorization: Bearer f00dfeed0123456789abcdef.42" "$U"
ws-client -c -t 10 -H "Authorization: Basic f00dfeed0123456789abcdef.42-x" "$U"
ws-client -c -t 10 -s "$C" "$U?token=$CALLPIPE_CLIENT_TOKEN" | sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z/TIME/g'
ws-client -c -t 10 -s "$C" -H "Authorization: Bearer $CALLPIPE_CLIENT_TOKEN" "$U" | sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z/TIME/g'
