# browser-protocol: the page in headless Chromium against a real websocketd whose /client
# is a script speaking the /client protocol with fixed messages (tests/browser/client):
# the cases a stand-in call does not make. Single-track streams get the right speaker
# (an outboundTrackLabel from the list), a later stream is noted on the call's timeline,
# a gap and a transcription error are shown, transcription-failed is said in words and
# not retried; too-slow is retried with backoff and resumed without a repeated line.
. "$TOP/tests/lib.sh"

P=$(freeport)
mkdir -p proto
PROTO_DIR=$WORK/proto websocketd --address=127.0.0.1 --port="$P" --passenv=PATH,PROTO_DIR \
	--dir="$TOP/tests/browser/client" --staticdir="$TOP/static" --loglevel=error \
	>websocketd.log 2>&1 &
WP=$!
trap 'killpids $WP' EXIT
waitport 10 "$P" || echo "websocketd did not start"
SHOTS=$TOP/build/screens/$VARIANT BASE=http://127.0.0.1:$P node "$TOP/tests/browser/protocol.js"
echo "node exit $?"
echo "connections for the too-slow call: $(cat proto/b.count)"
