# A bot call against the Deepgram stand-in with vad_events=true and interim_results=true:
# the stand-in "hears" speech in every second of the caller's audio (SpeechStarted, and
# interims whose words are hashes), so the example bot's greeting is interrupted: exactly
# one clear reaches Twilio, the greeting's mark is echoed, the bot is told and falls
# silent (no keyword in a hash). The transcript reaches fanout as for any call.
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"
export CALLPIPE_PUBLIC_URL=ws://127.0.0.1:1
export CALLPIPE_BOT="sh $TOP/examples/bot.sh"
C=$(sid 61)
start_standin
start_pipeline "vad_events=true&interim_results=true"

case_ "an unsigned webhook (no TWILIO_AUTH_TOKEN) gets the single-use URL"
curl -s --data "CallSid=$C" "http://127.0.0.1:$PORT/twiml" > twiml.xml
url=$(xmllint --xpath 'string(/Response/Connect/Stream/@url)' twiml.xml)
echo "$url" | sed -E 's|/agent/[0-9a-f]{32}$|/agent/NONCE|'

case_ "the caller talks over the greeting: one clear, the greeting's mark echoed"
fake-capture -c "$C" -t inbound -s 4 > cap.jsonl
twilio-sim -w 2 -r rec.jsonl "ws://127.0.0.1:$PORT/agent/${url##*/}" < cap.jsonl
echo "twilio-sim exit $?"
echo "messages Twilio would flag: $(jq -s 'map(select(.bad)) | length' rec.jsonl)"
jq -r 'select(.msg.event != "media") | [.dir, .msg.event // .name // .by, .msg.mark.name // empty] | join(" ")' rec.jsonl
waitfor 10 ended "$C" && echo "the call ended"
grep -c 'twilio-agent: info: barge-in' "$WORK/pipeline.log"
summary "$(streamdir "$C")/log.jsonl" | sed -E 's/ [0-9]+$/ N/'
waitfor 10 noprocs && echo "no processes left"
stop_pipeline
