# deepgram-stream over wss:// (the production path): TLS ends at socat in front of the
# stand-in, with a certificate for 127.0.0.1 from a throw-away CA. With DEEPGRAM_CA_FILE
# naming that CA (or SSL_CERT_FILE, or SSL_CERT_DIR hashed), every final arrives as over ws://; without it the
# certificate is refused, and so is a host name the certificate does not name.
. "$TOP/tests/lib.sh"
. "$TOP/tests/fixtures/dg-lib.sh"
TPID=
cleanup_tls() { [ -n "$TPID" ] && killpids $TPID; TPID=; cleanup; }
trap cleanup_tls EXIT

testca ca
testcert

mkraw 10 st.raw   # 2.5 s stereo mu-law
standin
tlsfront
export DEEPGRAM_URL="wss://127.0.0.1:$TPORT/v1/listen"

case_ "wss:// with DEEPGRAM_CA_FILE: every final, as the audio says"
DEEPGRAM_CA_FILE=ca.pem deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > out.jsonl 2> err; echo "? $?"
finals out.jsonl > got
expect_finals st.raw 2 1 8000 > want
cmp -s got want && echo "finals as expected: $(wc -l < got)" || { echo "finals differ"; diff want got; }
jq -r '.type' out.jsonl | sort | uniq -c | sed 's/^ *//'

case_ "wss:// without the CA: the certificate is refused at once (exit 100), nothing printed"
deepgram-stream -e mulaw -r 8000 -c 2 -T 1 < st.raw > out2.jsonl 2> err2; echo "? $?"
wc -c < out2.jsonl
grep -qi "certificate\|SSL\|TLS" err2 && echo "the error names the certificate problem" || cat err2
grep -o "SSL certificate problem: [a-z ]*" err2

case_ "an unreadable DEEPGRAM_CA_FILE is a usage error"
DEEPGRAM_CA_FILE=nonexistent.pem deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > /dev/null 2> err3; echo "? $?"
sed 's/: No such file.*/: ENOENT/' err3

case_ "a host name the certificate does not name (localhost; it names IP 127.0.0.1): refused (exit 100)"
DEEPGRAM_CA_FILE=ca.pem deepgram-stream -e mulaw -r 8000 -c 2 -T 1 -u "wss://localhost:$TPORT/v1/listen" < st.raw > out4.jsonl 2> err4; echo "? $?"
wc -c < out4.jsonl
grep -o 'SSL certificate problem: [a-z ]*' err4

case_ "SSL_CERT_FILE names the CA when DEEPGRAM_CA_FILE does not: every final"
SSL_CERT_FILE=ca.pem SSL_CERT_DIR= deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > out5.jsonl 2> err5; echo "? $?"
finals out5.jsonl > got5
cmp -s got5 want && echo "finals as expected: $(wc -l < got5)" || { echo "finals differ"; diff want got5; }

case_ "SSL_CERT_DIR, a hashed folder holding the CA (what /etc/ssl/certs is by default): every final"
mkdir cadir && cp ca.pem cadir/ && openssl rehash cadir 2>/dev/null
SSL_CERT_DIR=cadir deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > out6.jsonl 2> err6; echo "? $?"
finals out6.jsonl > got6
cmp -s got6 want && echo "finals as expected: $(wc -l < got6)" || { echo "finals differ"; diff want got6; cat err6; }
