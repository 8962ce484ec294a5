# browser-ended: headless Chromium at 1440 px against pipeline.sh and the stand-in. A call
# of two streams (one after the other, custom <Parameter>s inboundTrackLabel=Agent and
# outboundTrackLabel=Customer) has ended: the list shows it under "ended" with its
# streams and parameters, the filter finds it, and opened from the keyboard it shows its
# whole transcript, the second stream placed on the call's timeline, with the custom
# labels. A link to a call that has not started yet follows it from its start, and
# follows it again when a new stream comes after the call's end.
# Screenshots: build/screens/<variant>/ended-*.png
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"
. "$TOP/tests/browser/expect.sh"

start_standin
start_pipeline "interim_results=true&utterance_end_ms=1000"
S=$(sid 61) S2=$(sid 62)
labels='.start.customParameters += {"inboundTrackLabel":"Agent","outboundTrackLabel":"Customer"}'
fake-capture -c "$S" -s 3 | jq -c "if .event == \"start\" then $labels else . end" >one.jsonl
# the second stream: same call, its own StreamSid and audio
fake-capture -c "$S" -s 3 -r second |
	jq -c --arg m MZ00000000000000000000000000000002 \
	"if .streamSid then .streamSid = \$m else . end |
	 if .event == \"start\" then .start.streamSid = \$m | $labels else . end" >two.jsonl
fake-capture -c "$S2" -s 3 >three.jsonl
fake-capture -c "$S2" -s 3 -r later | jq -c --arg m MZ00000000000000000000000000000004 \
	'if .streamSid then .streamSid = $m else . end |
	 if .event == "start" then .start.streamSid = $m else . end' >four.jsonl

case_ "a call of two streams"
twilio-replay "ws://127.0.0.1:$PORT/twilio" <one.jsonl 2>one.err; echo "stream 1: twilio-replay exit $?"
twilio-replay "ws://127.0.0.1:$PORT/twilio" <two.jsonl 2>two.err; echo "stream 2: twilio-replay exit $?"
waitfor 30 sh -c "subscribe -j | jq -e '.ended | map(.callSid) | index(\"$S\")' >/dev/null" ||
	echo "the call did not end"
subscribe -j | jq -c ".ended[] | select(.callSid == \"$S\") | {streams, params}"

BASE=http://127.0.0.1:$PORT SID=$S SID2=$S2 CAP2=$WORK/three.jsonl CAP3=$WORK/four.jsonl DL=$WORK/dl \
	node "$TOP/tests/browser/ended.js"
echo "node exit $?"

case_ "the whole transcript, on the call's timeline, with the custom labels"
subscribe -H "$S" >all.jsonl 2>all.err; echo "subscribe -H exit $?"
jq -r 'select(.type == "Results" and .is_final) | "stream \(.callpipe.stream) offset>0: \(.callpipe.offset > 0)"' all.jsonl | sort | uniq -c | sed 's/^ *//'
finals all.jsonl Agent Customer >expected.txt
echo "finals: $(wc -l <expected.txt)"
same dl/ended.txt expected.txt
subscribe -H "$S2" >all2.jsonl 2>all2.err
finals all2.jsonl >expected2.txt
same dl/link.txt expected2.txt
