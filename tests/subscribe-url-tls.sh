# subscribe-url-tls: subscribe --url over wss:// to pipeline.sh serving TLS itself
# (CERT_PEM/KEY_PEM, a certificate from a throw-away CA made here): with --cafile the
# list and a call's last line come through; without it the certificate is refused for
# good (exit 100), and so is ws:// to the TLS port.
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "$@" 2>/dev/null; }
ec -x509 -keyout ca.key -out ca.pem -days 2 -subj /CN=callpipe-test-ca
ec -keyout srv.key -out srv.csr -subj /CN=127.0.0.1
printf 'subjectAltName=IP:127.0.0.1\n' >srv.ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem \
	-days 2 -extfile srv.ext 2>/dev/null || echo "no certificate"

start_standin
PORT=$(freeport)
CALLPIPE_BIN=$BIN CALLPIPE_DIR=$STATE DEEPGRAM_API_KEY=testkey \
	DEEPGRAM_URL="ws://127.0.0.1:$SPORT/v1/listen" PROXY_URL=127.0.0.1:$PORT \
	CERT_PEM=$WORK/srv.pem KEY_PEM=$WORK/srv.key sh "$TOP/pipeline.sh" 2>>pipeline.log &
PLPID=$!
waitfor 15 curl -sf --cacert ca.pem -o /dev/null "https://127.0.0.1:$PORT/health" ||
	{ echo "pipeline.sh did not start"; tail -n 20 pipeline.log; exit 1; }
U=wss://127.0.0.1:$PORT
norm() { sed "s/127.0.0.1:$PORT/127.0.0.1:P/g; s/ after [0-9]* ms//"; }

case_ "wss:// with the CA"
subscribe --url "$U" --cafile ca.pem -j 2>&1; echo "? $?"
subscribe --url "$U" --cafile ca.pem -w 1 "$(sid 81)" 2>&1; echo "? $?"

case_ "wss:// without it, ws:// to the TLS port, a CA file that is not there"
subscribe --url "$U" -j >out 2>err; echo "? $?"
norm <err | sed 's/: SSL certificate problem.*(permanent)/: SSL certificate problem (permanent)/'
subscribe --url "ws://127.0.0.1:$PORT" -j >out 2>err; echo "? $?"
norm <err
subscribe --url "$U" --cafile nosuch.pem -j >out 2>err; echo "? $?"
norm <err
subscribe --cafile ca.pem -j 2>&1 | head -n 1
stop_pipeline
