# dg-front: wss:// through a shared TLS front (DEEPGRAM_TLS_FRONT). HAProxy on
# 127.0.0.1 takes plain WebSocket from deepgram-stream and does TLS, verifying the
# server, to socat's TLS listener in front of the stand-in. deepgram-stream never
# maps libssl; a front that cannot verify the server transcribes nothing.
. "$TOP/tests/lib.sh"
. "$TOP/tests/fixtures/dg-lib.sh"
TPID= HPID= DPID=
cleanup_front() {
	exec 3>&-
	for p in $DPID $HPID $TPID; do killpids $p; done
	DPID= HPID= TPID=
	cleanup
}
trap cleanup_front EXIT

command -v haproxy >/dev/null || { echo "no haproxy on PATH: run make deps"; exit 1; }
testca ca
testca other
testcert IP:127.0.0.1,DNS:dg.test

# front CAFILE: HAProxy on a free port (HAPORT) trusting CAFILE for the backend,
# logging a line per session to CAFILE.log
front() {
	[ -n "$HPID" ] && killpids $HPID
	HAPORT=$(freeport)
	cat > front.cfg <<CFG
global
	maxconn 100
	nbthread 1
	log stdout format raw local0
defaults
	mode tcp
	log global
	option tcplog
	timeout connect 5s
	timeout client 30s
	timeout server 30s
	timeout tunnel 1h
frontend fe_dg
	bind 127.0.0.1:$HAPORT
	default_backend be_dg
backend be_dg
	server dg 127.0.0.1:$TPORT ssl verify required ca-file $1 sni str(dg.test) verifyhost dg.test
CFG
	haproxy -db -f front.cfg > "$1.log" 2>&1 &
	HPID=$!
	waitport 10 $HAPORT || { echo "haproxy did not start"; cat "$1.log"; }
}

mkraw 10 st.raw   # 2.5 s stereo mu-law
standin
case_ "ws:// straight to the stand-in: the finals to compare with"
deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > direct.jsonl 2> err0; echo "? $?"
finals direct.jsonl > want
expect_finals st.raw 2 1 8000 | cmp -s - want && echo "finals as expected: $(wc -l < want)"

tlsfront
export DEEPGRAM_URL="wss://127.0.0.1:$TPORT/v1/listen"
front ca.pem
export DEEPGRAM_TLS_FRONT=127.0.0.1:$HAPORT

case_ "wss:// through the front: the same finals as ws://"
deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > out.jsonl 2> err; echo "? $?"
finals out.jsonl > got
cmp -s got want && echo "finals as direct: $(wc -l < got)" || { echo "finals differ"; diff want got; cat err; }

case_ "while connected through the front: no libssl, no libcrypto"
connected() { [ "$(grep -c '"ev": *"connect"' log)" -ge 3 ]; }
rm -f in; mkfifo in
deepgram-stream -e mulaw -r 8000 -c 2 < in > out2.jsonl 2> err2 &
DPID=$!
exec 3> in
waitfor 10 connected || { echo "no connection"; cat err2; }
grep -o 'lib\(ssl\|crypto\|curl\)[.a-z0-9-]*\.so' "/proc/$DPID/maps" | sort -u | grep . || echo none
exec 3>&-
wait $DPID; echo "? $?"; DPID=

case_ "HAProxy logged both sessions, ended normally (--), with bytes from the server"
sessions() { awk '$4 == "be_dg/dg" && $7 == "--" && $6 > 0' ca.pem.log | wc -l; }
waitfor 5 test "$(sessions)" -ge 2
killpids $HPID; HPID=
sessions

case_ "a DEEPGRAM_TLS_FRONT that is not numeric loopback, or not host:port: refused (exit 100)"
for f in 192.0.2.1:443 localhost:$HAPORT 127.0.0.1 '[::1]:0' '::1:443'; do
	DEEPGRAM_TLS_FRONT=$f deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > /dev/null 2> err3
	echo "? $? $(wc -l < err3) line: $(sed "s/$HAPORT/PORT/" err3)"
done

case_ "a front that cannot verify the server (another CA): nothing transcribed, one clear line"
front other.pem
# HAProxy tries the server 4 times (retries 3), then closes: -C 10 outwaits it
DEEPGRAM_TLS_FRONT=127.0.0.1:$HAPORT deepgram-stream -e mulaw -r 8000 -c 2 -T 0 -C 10 < st.raw > out4.jsonl 2> err4; echo "? $?"
wc -c < out4.jsonl
grep fatal err4 | sed -e "s/$HAPORT/PORT/g" -e "s/$TPORT/TLSPORT/g" -e 's/?[^:]*:/?...:/'
killpids $HPID; HPID=
awk '$4 == "be_dg/dg" && $7 == "SC" { split($8, c, "/")
	print "HAProxy: no server connection (SC) after", c[5], "retries" }' other.pem.log | uniq -c
