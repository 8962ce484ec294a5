# twilio-replay over wss:// to pipeline.sh serving TLS itself (CERT_PEM, KEY_PEM) with a
# certificate for 127.0.0.1 from a throw-away CA: with -C naming that CA the call is
# transcribed end to end; without it the certificate is refused, permanently (exit 100).
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

testca ca
testcert

start_standin
PORT=$(freeport)
CERT_PEM=srv.pem KEY_PEM=srv.key CALLPIPE_BIN=$BIN CALLPIPE_DIR=$STATE \
	DEEPGRAM_API_KEY=testkey DEEPGRAM_URL="ws://127.0.0.1:$SPORT/v1/listen" \
	PROXY_URL=127.0.0.1:$PORT sh "$TOP/pipeline.sh" 2>>"$WORK/pipeline.log" &
PLPID=$!
waitfor 15 curl -sf --cacert ca.pem -o /dev/null "https://127.0.0.1:$PORT/health" ||
	{ echo "pipeline.sh did not start"; tail -n 20 "$WORK/pipeline.log"; exit 1; }
S=$(sid 1)
fake-capture -c "$S" -s 2 > call.jsonl

case_ "wss:// with -C ca.pem: the call is played and transcribed"
twilio-replay -f -C ca.pem "wss://127.0.0.1:$PORT/twilio" < call.jsonl > out 2> err
echo "? $?"
cat err
waitfor 20 ended "$S" || echo "call did not end"
echo "finals in the log: $(jq -r 'select(.type == "Results" and .is_final) | .type' "$(streamdir "$S")/log.jsonl" | wc -l | awk '{ print ($1 > 0) ? "some" : "none" }')"

case_ "--cafile is the same option"
S2=$(sid 2)
sed "s/$S/$S2/g" call.jsonl > call2.jsonl
twilio-replay -f --cafile ca.pem "wss://127.0.0.1:$PORT/twilio" < call2.jsonl 2> err; echo "? $?"
waitfor 20 ended "$S2" || echo "call did not end"

case_ "without the CA: the certificate is refused, exit 100 (permanent), one line"
twilio-replay -f "wss://127.0.0.1:$PORT/twilio" < call.jsonl > out 2> err; echo "? $?"
wc -l < err | tr -d ' '
grep -qi "certificate\|SSL" err && echo "the error names the certificate problem" || cat err

case_ "ws:// to a wss:// server: refused, exit 100"
twilio-replay -f -t 5 "ws://127.0.0.1:$PORT/twilio" < call.jsonl 2> err; echo "? $?"

stop_pipeline
