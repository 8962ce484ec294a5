# browser-token: with CALLPIPE_CLIENT_TOKEN set, the page (headless Chromium, 1440 px)
# reports a missing or wrong token in words and works with the token of its own URL;
# the token never appears in the server's log. Screenshots: build/screens/<variant>/token-*
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"
. "$TOP/tests/browser/expect.sh"

T=feedc0de0123456789.page-token
start_standin
CALLPIPE_CLIENT_TOKEN=$T start_pipeline
S=$(sid 31)
fake-capture -c "$S" -s 4 >call.jsonl

BASE=http://127.0.0.1:$PORT TOKEN=$T SID=$S CAP=$WORK/call.jsonl node "$TOP/tests/browser/token.js"
echo "node exit $?"
stop_pipeline
echo "lines naming the token in the server's log: $(grep -c "$T" "$WORK/pipeline.log")"
