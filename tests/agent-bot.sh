# A bot call end to end: pipeline.sh (real websocketd) with CALLPIPE_BOT=examples/bot.sh,
# a scripted Deepgram (tests/bin/dg-script: words the bot understands, at set points of
# the audio), and a simulated Twilio (tests/bin/twilio-sim) that POSTs nothing itself:
# the test POSTs the signed voice webhook to /twiml, takes the single-use stream URL from
# the TwiML, and twilio-sim plays 15 s of caller audio into it in real time, plays back
# what comes back and echoes marks as Twilio does.
# Script: 3.0 s SpeechStarted (over the 4.4 s greeting: barge-in), 3.25 s an
# interim, 3.5 s the final "What are your hours?", 9.0 s the final "Okay, bye."
# The bot answers the hours, says goodbye, and ends the call once Twilio echoes
# the goodbye mark.
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"
export TWILIO_AUTH_TOKEN=0123456789abcdef0123456789abcdef
export CALLPIPE_PUBLIC_URL=wss://callpipe.example.com
export CALLPIPE_BOT="sh $TOP/examples/bot.sh"
C=$(sid 71)
sig() { printf %s "$1" | openssl dgst -sha1 -hmac "$TWILIO_AUTH_TOKEN" -binary | base64; }

cat > script.txt <<'DG'
3.0 {"type":"SpeechStarted","channel":[0,1],"timestamp":3.0}
3.25 {"type":"Results","channel_index":[0,1],"start":3.0,"duration":0.25,"is_final":false,"speech_final":false,"channel":{"alternatives":[{"transcript":"what are","confidence":0.9,"words":[]}]}}
3.5 {"type":"Results","channel_index":[0,1],"start":3.0,"duration":0.5,"is_final":true,"speech_final":true,"channel":{"alternatives":[{"transcript":"What are your hours?","confidence":0.99,"words":[]}]}}
9.0 {"type":"Results","channel_index":[0,1],"start":8.0,"duration":1.0,"is_final":true,"speech_final":true,"channel":{"alternatives":[{"transcript":"Okay, bye.","confidence":0.99,"words":[]}]}}
DG
dg-script --port-file "$WORK/dg.port" --log "$WORK/dg.log" script.txt 2>> "$WORK/dg.err" &
SPID=$!
waitfor 10 test -s "$WORK/dg.port" || { echo "dg-script did not start"; exit 1; }
SPORT=$(cat "$WORK/dg.port")
start_pipeline "vad_events=true&interim_results=true"

case_ "the voice webhook: a signed POST gets <Connect><Stream> with a single-use URL"
form="CallSid=$C&From=%2B15005550006&To=%2B15005550001"
curl -s -o twiml.xml -w '%{http_code} %{content_type}\n' -H "X-Twilio-Signature: $(sig "https://callpipe.example.com/twimlCallSid${C}From+15005550006To+15005550001")" \
	--data "$form" "http://127.0.0.1:$PORT/twiml"
url=$(xmllint --xpath 'string(/Response/Connect/Stream/@url)' twiml.xml)
echo "$url" | sed -E 's|/agent/[0-9a-f]{32}$|/agent/NONCE|'
path=${url#wss://callpipe.example.com}

case_ "the call: greeting, barge-in, the hours, goodbye, hang-up"
fake-capture -c "$C" -t inbound -s 15 > cap.jsonl
S=$(jq -r 'select(.event == "start") | .streamSid' cap.jsonl)
twilio-sim -H "X-Twilio-Signature: $(sig "$url")" -r rec.jsonl "ws://127.0.0.1:$PORT$path" < cap.jsonl &
SIM=$!
# someone watches the bot call live, as any call
waitfor 10 live "$C" && subscribe -Hn "$C" > watched.jsonl 2> sub.err &
SUB=$!
waitexit 60 $SIM
echo "twilio-sim exit $?"
echo "messages Twilio would flag: $(jq -s 'map(select(.bad)) | length' rec.jsonl)"
echo "first message: $(jq -rs '.[0].msg.event' rec.jsonl); streamSids: $(jq -r 'select(.msg) | .msg.streamSid == "'"$S"'"' rec.jsonl | sort -u)"
# everything but media, in order: what came in, what the simulator echoed, who closed
jq -r 'select(.msg.event != "media") | [.dir, .msg.event // .name // .by, .msg.mark.name // empty] | join(" ")' rec.jsonl

case_ "the greeting played until the barge-in; the answer to 'hours' arrived whole"
jq -r 'select(.msg.event == "media" or .msg.event == "mark") | .msg.mark.name // "m"' rec.jsonl |
	uniq -c | awk '{ print ($2 == "m" ? "media" : "mark " $2) }'
jq -r 'select(.msg) | .msg | if .event == "mark" then "--" else .media.payload // "" end' rec.jsonl |
	awk '/^--$/ { n++; next } n == 1 && $0 != ""' > hours.b64
TWILIO_STREAM_SID=$S twilio-say -m hours -t "We are open from nine to five, Monday to Friday." 2> /dev/null |
	jq -r 'select(.event == "media") | .media.payload' > want.b64
same hours.b64 want.b64
clear=$(jq -r 'select(.msg.event == "clear") | .wall' rec.jsonl)
said=$(jq -r 'select(.type == "SpeechStarted") | .wall' dg.log)
awk -v c="$clear" -v s="$said" 'BEGIN { printf "barge-in: SpeechStarted sent -> clear received: %.1f ms\n", (c - s) * 1000 }' >&2
awk -v c="$clear" -v s="$said" 'BEGIN { print (c > s ? "the clear came after SpeechStarted" : "clear before SpeechStarted?") }'

case_ "the bot heard the marks and ended the call; the transcript reached fanout"
waitfor 10 ended "$C" && echo "the call ended"
grep -o 'twilio-agent: info: the bot exited with status [0-9]*' "$WORK/pipeline.log"
grep -c 'twilio-agent: info: barge-in (SpeechStarted)' "$WORK/pipeline.log"
grep -o 'twilio-agent: info: the bot is done: ending the stream' "$WORK/pipeline.log"
summary "$(streamdir "$C")/log.jsonl"
waitexit 20 $SUB
sed '$d' watched.jsonl > watched.msgs
same watched.msgs "$(streamdir "$C")/log.jsonl"
tail -n 1 watched.jsonl
waitfor 10 noprocs && echo "no processes left"
stop_pipeline
