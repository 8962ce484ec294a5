# browser-busy: with CALLPIPE_MAX_SUBSCRIBERS=1 and the one slot held by an idle /client
# socket, the page (headless Chromium) says in words that the server has too many
# subscribers, for the list and for the call of its ?callsid= link, retries with backoff,
# and once the slot is free shows the whole call. Screenshots: build/screens/<v>/busy-*
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"
. "$TOP/tests/browser/expect.sh"

start_standin
CALLPIPE_MAX_SUBSCRIBERS=1 CALLPIPE_HANDSHAKE_SECONDS=120 start_pipeline
S=$(sid 71)
fake-capture -c "$S" -s 6 >call.jsonl
ws-client -t 120 "ws://127.0.0.1:$PORT/client" >holder.out 2>holder.err &
HP=$!
waitfor 10 test -s holder.out || echo "the holder got no calls list"

BASE=http://127.0.0.1:$PORT SID=$S CAP=$WORK/call.jsonl HOLDER=$HP DL=$WORK/dl \
	node "$TOP/tests/browser/busy.js"
echo "node exit $?"
waitexit 10 "$HP" >/dev/null

case_ "every final once"
subscribe -H "$S" >all.jsonl 2>all.err; echo "subscribe -H exit $?"
finals all.jsonl >expected.txt
echo "finals: $(wc -l <expected.txt)"
same dl/shown.txt expected.txt
