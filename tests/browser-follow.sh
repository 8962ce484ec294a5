# browser-follow: the page in headless Chromium at 390 px, against pipeline.sh and the
# stand-in: a call started after the page loaded appears by itself, is followed from the
# keyboard, its finals show with caller/callee labels, interim lines are replaced, the page
# follows the bottom until the reader scrolls up, the end shows as an end, and the
# downloads hold what the page showed. Screenshots: build/screens/<variant>/follow-*.png
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"
. "$TOP/tests/browser/expect.sh"

start_standin
start_pipeline "interim_results=true&utterance_end_ms=1000"
S=$(sid 11)
# 1.5 s of silence (mu-law 0xFF) on both tracks at 6 s: an utterance end on each
# channel (the stand-in, as Deepgram, sends UtteranceEnd only after utterance_end_ms
# without words)
quiet=$(head -c 160 /dev/zero | tr '\0' '\377' | base64 -w 0)
fake-capture -c "$S" -s 14 | jq -c --arg q "$quiet" 'if .event == "media" and
	(.media.timestamp | tonumber) >= 6000 and (.media.timestamp | tonumber) < 7500
	then .media.payload = $q else . end' >call.jsonl

BASE=http://127.0.0.1:$PORT SID=$S CAP=$WORK/call.jsonl DL=$WORK/dl \
	node "$TOP/tests/browser/follow.js"
echo "node exit $?"

case_ "what the page showed is the call's transcript"
subscribe -H "$S" >all.jsonl 2>all.err; echo "subscribe -H exit $?"
finals all.jsonl >expected.txt
echo "finals: $(wc -l <expected.txt)"
same dl/shown.txt expected.txt
same "dl/$S.txt" expected.txt
ue=$(jq -c 'select(.type == "UtteranceEnd")' all.jsonl | wc -l)
[ "$ue" -gt 0 ] && [ "$(cat dl/uend.txt)" -eq "$ue" ] &&
	echo "finals marked as utterance ends = UtteranceEnd messages" ||
	echo "utterance ends marked: $(cat dl/uend.txt), UtteranceEnd messages: $ue"
jsonl_lines "dl/$S.jsonl" >jsonl.txt
same jsonl.txt expected.txt
jq -r '.call_sid + " " + .track' "dl/$S.jsonl" | sort | uniq -c | sed 's/^ *//'
