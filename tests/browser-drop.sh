# browser-drop: a link (?callsid=) opens a live call in headless Chromium; when the
# connection drops mid-call (the server side's subscribe killed), the page says so,
# reconnects with backoff and resumes: every final exactly once, no duplicate.
# Screenshots: build/screens/<variant>/drop-*.png
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"
. "$TOP/tests/browser/expect.sh"

start_standin
start_pipeline "interim_results=true"
S=$(sid 51)
fake-capture -c "$S" -s 10 >call.jsonl

BASE=http://127.0.0.1:$PORT SID=$S CAP=$WORK/call.jsonl STATE=$STATE DL=$WORK/dl \
	node "$TOP/tests/browser/drop.js"
echo "node exit $?"

case_ "every final once"
subscribe -H "$S" >all.jsonl 2>all.err; echo "subscribe -H exit $?"
finals all.jsonl >expected.txt
echo "finals: $(wc -l <expected.txt)"
same dl/shown.txt expected.txt
echo "duplicates: $(sort dl/shown.txt | uniq -d | wc -l)"
