# /agent takes a stream only on a path /twiml issued: /agent/NONCE, 32 hex digits, for the
# CallSid named in the webhook, once, within 120 s, and (with TWILIO_AUTH_TOKEN) with a
# valid X-Twilio-Signature over that very URL. Anything else is refused at once: the
# socket closes, nothing is started for the call, one log line says why. A bad signature
# does not use up the nonce. /twilio (listen-only) is untouched.
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"
export TWILIO_AUTH_TOKEN=0123456789abcdef0123456789abcdef
export CALLPIPE_PUBLIC_URL=wss://callpipe.example.com
export CALLPIPE_BOT='cat > /dev/null'
sig() { printf %s "$1" | openssl dgst -sha1 -hmac "$TWILIO_AUTH_TOKEN" -binary | base64; }
webhook() { # CALLSID: the nonce /twiml issues for it
	_f="CallSid=$1&From=%2B15005550006"
	curl -s -H "X-Twilio-Signature: $(sig "https://callpipe.example.com/twimlCallSid${1}From+15005550006")" \
		--data "$_f" "http://127.0.0.1:$PORT/twiml" | sed -n 's|.*/agent/\([0-9a-f]*\)".*|\1|p'
}
stream() { # PATH CAPTURE [SIGNED-PATH]: play CAPTURE into PATH, signed for SIGNED-PATH
	twilio-sim -w 2 -H "X-Twilio-Signature: $(sig "wss://callpipe.example.com${3:-$1}")" \
		-r rec.jsonl "ws://127.0.0.1:$PORT$1" < "$2"
	echo "twilio-sim exit $?: $(jq -r 'select(.dir == "closed") | "closed by " + .by' rec.jsonl)"
}
nrefused=0
refused() { # the next refusal's log line
	nrefused=$((nrefused + 1))
	waitfor 10 eval '[ "$(grep -c "agent: warning: refusing" "$WORK/pipeline.log")" -ge $nrefused ]'
	grep -o 'agent: warning: refusing.*' "$WORK/pipeline.log" | sed -n "${nrefused}p"
}
start_standin
start_pipeline
A=$(sid 91) B=$(sid 92) D=$(sid 93) E=$(sid 94)
for c in $A $B $D $E; do fake-capture -c "$c" -t inbound -s 2 > "$c.jsonl"; done

case_ "no nonce, a malformed one, an unknown one"
stream /agent "$A.jsonl"; refused
stream /agent/xyz "$A.jsonl"; refused
stream /agent/0123456789abcdef0123456789abcdef "$A.jsonl"; refused

case_ "a nonce with a bad signature: refused, and the nonce is still good"
N=$(webhook "$A")
stream "/agent/$N" "$A.jsonl" /agent/elsewhere; refused
stream "/agent/$N" "$A.jsonl"
waitfor 10 ended "$A" && echo "call A served and ended"
summary "$(streamdir "$A")/log.jsonl"

case_ "the same nonce again: refused"
stream "/agent/$N" "$A.jsonl"; refused

case_ "a nonce issued for another call: refused once the start names the call"
N=$(webhook "$B")
stream "/agent/$N" "$D.jsonl"; refused
[ -e "$(calldir "$D")" ] && echo "call D has a folder" || echo "call D: no folder"

case_ "an expired nonce: refused"
N=$(webhook "$E")
touch -d '-200 seconds' "$STATE/run/nonces/$N"
stream "/agent/$N" "$E.jsonl"; refused
echo "nonces left: $(ls "$STATE/run/nonces" | wc -l)"
waitfor 10 noprocs && echo "no processes left"
stop_pipeline
