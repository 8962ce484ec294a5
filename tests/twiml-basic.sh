# /twiml, the voice webhook (CGI behind pipeline.sh's websocketd): POST only, form-encoded;
# with TWILIO_AUTH_TOKEN the X-Twilio-Signature must be base64(HMAC-SHA1(token, public
# https URL of /twiml + the sorted form parameters)). Signatures here are computed with
# openssl AND with Twilio's own Node SDK (getExpectedTwilioSignature, validateRequest).
# Bot mode: <Connect><Stream url=".../agent/NONCE">, a nonce recorded for the CallSid;
# listen mode: <Start><Stream track="both_tracks"> then <Dial>. TwiML is well formed and
# uses only documented elements and attributes. Anything else: a clear 4xx.
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"
TOK=0123456789abcdef0123456789abcdef
C=$(sid 81)
U=https://callpipe.example.com/twiml
sslsig() { printf %s "$1" | openssl dgst -sha1 -hmac "$TOK" -binary | base64; }
# node VERB BODY [SIG]: the Twilio SDK on the form BODY (URLSearchParams: repeated names
# become arrays, as Express would give them): "sig" prints getExpectedTwilioSignature,
# "valid" prints validateRequest's verdict on SIG
node_() {
	NODE_PATH=$TOP/tests/node/node_modules node -e '
const twilio = require("twilio"), [verb, url, tok, body, sig] = process.argv.slice(1);
const p = {};
for (const [k, v] of new URLSearchParams(body))
	p[k] = k in p ? [].concat(p[k], v) : v;
console.log(verb === "sig" ? twilio.getExpectedTwilioSignature(tok, url, p)
	: twilio.validateRequest(tok, sig, url, p));' "$1" "$U" "$TOK" "$2" "${3:-}"
}
post() { # BODY [SIG [CONTENT-TYPE]]: status line, then the body
	curl -s -o resp -w '%{http_code} %{content_type}\n' -X POST \
		${2:+-H "X-Twilio-Signature: $2"} -H "Content-Type: ${3:-application/x-www-form-urlencoded}" \
		--data-binary "$1" "http://127.0.0.1:$PORT/twiml"
	sed -E 's|/agent/[0-9a-f]{32}"|/agent/NONCE"|' resp
}
# tree FILE: well-formedness, then each element with its attributes, indented
tree() {
	xmllint --noout "$1" && /usr/bin/python3 -c '
import sys, xml.etree.ElementTree as ET
def walk(e, d):
    print("  " * d + e.tag + "".join(" %s=%s" % kv for kv in sorted(e.attrib.items())) +
          (" text=" + e.text.strip() if e.text and e.text.strip() else ""))
    for c in e: walk(c, d + 1)
walk(ET.parse(sys.argv[1]).getroot(), 0)' "$1" | sed -E 's|/agent/[0-9a-f]{32}|/agent/NONCE|'
}

case_ "pipeline.sh checks the /twiml settings"
for v in 'CALLPIPE_DIAL=+1 555' 'CALLPIPE_STREAM_PARAMS=a=b=c' 'CALLPIPE_STREAM_PARAMS=noval' 'CALLPIPE_STREAM_PARAMS=x="y"'; do
	env CALLPIPE_BIN="$BIN" CALLPIPE_DIR="$WORK/cfg" DEEPGRAM_API_KEY=k "$v" sh "$TOP/pipeline.sh" 2>&1
	echo "? $?"
done

start_standin
export TWILIO_AUTH_TOKEN=$TOK CALLPIPE_PUBLIC_URL=wss://callpipe.example.com
export CALLPIPE_BOT="cat > /dev/null" CALLPIPE_STREAM_PARAMS="line=support tenant=acme"
start_pipeline
# a realistic form: UTF-8 and punctuation escaped, an empty value, a repeated name
body="CallSid=$C&AccountSid=AC$(printf 'a%.0s' $(seq 32))&From=%2B15005550006&To=%2B15005550001&CallerName=Jos%C3%A9+O%27Neil+%26+Co&Digits=&Tag=b&Tag=a&CallStatus=ringing"
data="${U}AccountSidAC$(printf 'a%.0s' $(seq 32))CallSid${C}CallStatusringingCallerNameJosé O'Neil & CoDigitsFrom+15005550006Taga""TagbTo+15005550001"

case_ "openssl and the Twilio SDK agree on the signature"
s1=$(sslsig "$data") s2=$(node_ sig "$body")
[ "$s1" = "$s2" ] && echo "same signature: $s1"
echo "SDK validateRequest: $(node_ valid "$body" "$s1")"

case_ "a signed POST: bot TwiML, a nonce recorded for the CallSid"
post "$body" "$s1"
tree resp
ls "$STATE/run/nonces" | grep -cE '^[0-9a-f]{32}$'
cat "$STATE/run/nonces"/* | sort -u
echo "$(xmllint --xpath 'string(//Stream/@url)' resp | sed 's|.*/||')" > nonce1
post "$body" "$s1" > /dev/null
xmllint --xpath 'string(//Stream/@url)' resp | sed 's|.*/||' | cmp -s - nonce1 || echo "each POST gets a new nonce"

case_ "unsigned, wrongly signed, tampered: 403"
post "$body"
post "$body" "$(sslsig "http://callpipe.example.com/twiml${data#"$U"}")"
post "$(echo "$body" | sed 's/ringing/completed/')" "$s1"
echo "SDK validateRequest on the tampered form: $(node_ valid "$(echo "$body" | sed 's/ringing/completed/')" "$s1")"

case_ "not a form POST, bad escapes, no CallSid: 4xx"
curl -s -w '%{http_code}\n' "http://127.0.0.1:$PORT/twiml"
post "$body" "$s1" application/json
post "CallSid=$C&From=%ZZ" "$(sslsig "${U}CallSid${C}From%ZZ")"
post "CallSid=$C&From=%0A" x
post "CallSid=CA1&From=x" "$(sslsig "${U}CallSidCA1Fromx")"
grep -c 'twiml: warning: 4' "$WORK/pipeline.log"
stop_pipeline

case_ "listen mode, no token: <Start><Stream track=both_tracks> then <Dial>"
unset TWILIO_AUTH_TOKEN CALLPIPE_BOT CALLPIPE_STREAM_PARAMS
export CALLPIPE_DIAL=+15005550006
start_pipeline
post "CallSid=$C&From=%2B15005550001"
tree resp
stop_pipeline

case_ "neither a bot nor a number to dial: 500, said plainly"
unset CALLPIPE_DIAL
start_pipeline
post "CallSid=$C"
stop_pipeline
