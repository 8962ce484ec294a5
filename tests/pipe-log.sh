# pipe-log: the server's log cannot be forged and stays readable (issue 9, section 5;
# issue 14): caller text is escaped (a StreamSid shaped like a log prefix), every line
# is shorter than 1 KiB (websocketd's own too: a 100 KB URL), ?token= is redacted, 7000
# duplicate custom parameters give a bounded number of warnings, raw control bytes in a
# parameter do not fail the call, Go's raw TLS lines are formatted, and the call's
# processes still log after websocketd has killed the handler.
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

export CALLPIPE_LOGLEVEL=access CALLPIPE_CLOSE_MS=100
start_standin --delay-ms 1500
start_pipeline
U=ws://127.0.0.1:$PORT
# capture SID STREAMSID PARAMS-JSON: a 2 s call with that StreamSid and those parameters
capture() {
	fake-capture -c "$1" -s 2 | /usr/bin/python3 -c '
import re, sys
sid, params = sys.argv[1], sys.argv[2]
for i, l in enumerate(sys.stdin):
    if i == 1:
        l = l.replace("\"customParameters\":{\"test\":\"server\"}", "\"customParameters\":" + params)
        l = re.sub("\"streamSid\":\"MZ[0-9a-f]+\"", lambda m: "\"streamSid\":" + sid, l)
    sys.stdout.write(l)' "$2" "$3"
}

case_ "a StreamSid shaped like a log line"
A=$(sid 31) B=$(sid 32)
capture "$A" '"x pid:'"'"'1'"'"' | pipeline.sh: fatal: FORGED-1 by caller"' '{}' >a.jsonl
capture "$B" '"y\npipeline.sh: fatal: FORGED-2 by caller"' '{}' >b.jsonl
twilio-replay "$U/twilio" <a.jsonl 2>/dev/null; echo "twilio-replay exit $?"
twilio-replay "$U/twilio" <b.jsonl 2>/dev/null; echo "twilio-replay exit $?"
waitfor 10 ended "$A" && waitfor 10 ended "$B" && echo "both calls ended"
waitfor 10 noprocs
echo "forged lines: $(grep -c '^pipeline.sh: fatal: FORGED' "$WORK/pipeline.log")"
grep -o 'twilio-mix: info: call [^ ]* stream .*FORGED.*' "$WORK/pipeline.log" | sed -E 's/CA[0-9a-f]{32}/CALL/'

case_ "7000 duplicate parameters, raw control bytes in a value"
C=$(sid 33) D=$(sid 34)
capture "$C" '"MZ00000000000000000000000000000033"' "{$(seq 1 7000 | sed 's/.*/"a":"1"/' | paste -sd,)}" >c.jsonl
capture "$D" '"MZ00000000000000000000000000000034"' "{\"a\":\"$(head -c 60000 /dev/zero | tr '\0' '\001')\"}" >d.jsonl
twilio-replay "$U/twilio" <c.jsonl 2>/dev/null; echo "twilio-replay exit $?"
twilio-replay "$U/twilio" <d.jsonl 2>/dev/null; echo "twilio-replay exit $?"
waitfor 10 ended "$C" && waitfor 10 ended "$D" && echo "both calls ended"
waitfor 10 noprocs
n=$(grep -c 'custom parameter' "$WORK/pipeline.log")
[ "$n" -le 12 ] && echo "parameter warnings: at most 12" || echo "parameter warnings: $n"
for s in $C $D; do summary "$(streamdir "$s")/log.jsonl"; done
grep -c 'Argument list too long' "$WORK/pipeline.log"

case_ "a 100 KB URL and a token"
curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$PORT/health?x=$(head -c 100000 /dev/zero | tr '\0' a)"
ws-client -t 5 "$U/client?token=s3cr3t0123456789abcdef" >/dev/null 2>&1
waitfor 5 grep -q 'token=REDACTED' "$WORK/pipeline.log" && echo "token redacted"
echo "lines with the token: $(grep -c s3cr3t0123456789abcdef "$WORK/pipeline.log")"

case_ "the call's processes log after the handler is killed"
E=$(sid 35)
fake-capture -c "$E" -s 4 >e.jsonl
twilio-replay -d 1 "$U/twilio" <e.jsonl 2>/dev/null; echo "twilio-replay exit $?"
waitfor 20 ended "$E" && echo "the call ended"
waitfor 10 noprocs && echo "no call processes left"
grep -c "fanout: info: $E: stream [0-9]*: [0-9]* lines" "$WORK/pipeline.log"
grep -c 'deepgram-stream: info: summary' "$WORK/pipeline.log" | awk '{ print ($1 >= 5) ? "every deepgram-stream summary" : "missing summaries: " $1 }'
stop_pipeline

case_ "Go's raw TLS lines are formatted"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=127.0.0.1 -keyout key.pem -out cert.pem 2>/dev/null
PORT=$(freeport)
CALLPIPE_BIN=$BIN CALLPIPE_DIR=$STATE DEEPGRAM_API_KEY=testkey CERT_PEM=$WORK/cert.pem \
	KEY_PEM=$WORK/key.pem PROXY_URL=127.0.0.1:$PORT sh "$TOP/pipeline.sh" 2>>"$WORK/pipeline.log" &
PLPID=$!
waitfor 15 curl -skf -o /dev/null "https://127.0.0.1:$PORT/health" && echo "https /health answers"
/usr/bin/python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(b"\x16\x03\x01\x00\x05hello")
s.settimeout(5)
try:
    s.recv(100)
except Exception:
    pass' "$PORT"
waitfor 5 grep -q 'TLS handshake error' "$WORK/pipeline.log"
grep 'TLS handshake error' "$WORK/pipeline.log" | sed -E 's/:[0-9]+: /:PORT: /' | cut -c1-60
stop_pipeline

case_ "every line is one line of the log's format, under 1 KiB"
echo "lines of 1 KiB or more: $(awk 'length($0) >= 1024' "$WORK/pipeline.log" | wc -l)"
echo "lines not in the format: $(grep -cvE '^[A-Za-z0-9._-]+: (debug|info|warning|error|fatal): ' "$WORK/pipeline.log")"
