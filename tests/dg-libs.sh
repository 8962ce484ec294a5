# dg-libs: the libraries a connected deepgram-stream maps (/proc/PID/maps). Over ws://
# none of libssl, libcrypto, libcurl: wsc is callpipe's own and OpenSSL is loaded only
# at a wss:// connection (tests/dg-tls.sh: the TLS cases). Over wss:// (socat's TLS in
# front of the stand-in) libssl and libcrypto, and nothing else new.
. "$TOP/tests/lib.sh"
. "$TOP/tests/fixtures/dg-lib.sh"
DPID= TPID=
cleanup_libs() { exec 3>&-; [ -n "$DPID" ] && killpids $DPID; [ -n "$TPID" ] && killpids $TPID; cleanup; }
trap cleanup_libs EXIT

libs() { # pid: the TLS and HTTP libraries it maps, one a line, or "none"
	grep -o 'lib\(ssl\|crypto\|curl\)[.a-z0-9-]*\.so' "/proc/$1/maps" | sort -u | grep . || echo none
}
connected() { [ "$(grep -c '"ev": *"connect"' log)" -ge "$n" ]; } # n connections so far
# run URL [env...]: a deepgram-stream fed by the FIFO "in" (kept open on fd 3), connected
run() {
	rm -f in; mkfifo in
	env "$@" deepgram-stream -e mulaw -r 8000 -c 2 < in > out.jsonl 2> err &
	DPID=$!
	exec 3> in
	waitfor 10 connected || { echo "no connection"; cat err; }
	n=$((n + 1))
}
stop() { exec 3>&-; wait $DPID; echo "? $?"; DPID=; }

standin
n=1
case_ "ws://: connected, without libssl, libcrypto or libcurl"
run DEEPGRAM_URL="$DEEPGRAM_URL"
libs $DPID
stop

testca ca
testcert
tlsfront

case_ "wss://: connected, with libssl and libcrypto loaded for it"
run DEEPGRAM_URL="wss://127.0.0.1:$TPORT/v1/listen" DEEPGRAM_CA_FILE=ca.pem
libs $DPID
stop
