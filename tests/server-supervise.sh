# server-supervise: pipeline.sh refuses bad configuration (exit 100, one clear line),
# marks stale calls ended, refuses a second instance, answers 429 over the connection
# limit, restarts a killed websocketd, and drains on SIGTERM while a call is live: /health
# says 503, new calls are refused at once, the live call finishes, exit 0; with a short
# drain it stops anyway and the cut call still flushes its tail (issue 4, test 7).
# A port in use is one line (issue 14); websocketd's --maxforks is
# CALLPIPE_MAX_CONNECTIONS + CALLPIPE_MAX_SUBSCRIBERS + 16 (issue 9).
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

norm() { sed -e "s|$WORK|WORK|g" -e "s|$TOP|TOP|g" -e 's/pid [0-9]*/pid N/' -e 's/after [0-9]*s/after Ns/'; }

case_ "bad configuration"
pl DEEPGRAM_API_KEY=
for v in localhost http://127.0.0.1:5000 127.0.0.1:99999 127.0.0.1:0 :5000 '[::1:5000' 'a b:1'; do
	pl PROXY_URL="$v"
done
pl DEEPGRAM_URL=http://api.deepgram.com/v1/listen
pl DEEPGRAM_TLS_FRONT=192.0.2.1:443
pl DEEPGRAM_TLS_FRONT=127.0.0.1
pl DEEPGRAM_API_KEY="$(printf 'a\tb')"
pl CERT_PEM="$WORK/cert.pem"
pl KEY_PEM="$WORK/key.pem"
pl CERT_PEM="$WORK/none.pem" KEY_PEM="$WORK/none.pem"
pl CALLPIPE_MAX_CONNECTIONS=0
pl CALLPIPE_MAX_CONNECTIONS=lots
pl CALLPIPE_DRAIN_SECONDS=-1
pl CALLPIPE_SUBSCRIBER_BUFFER=12
pl CALLPIPE_LOGLEVEL=loud
pl CALLPIPE_BIN="$WORK/nothere"
mkdir -m 777 "$WORK/open"
chmod 777 "$WORK/open"
pl CALLPIPE_DIR="$WORK/open"
env CALLPIPE_BIN="$BIN" CALLPIPE_DIR="$WORK/cfg" PROXY_URL=127.0.0.1:1 sh "$TOP/pipeline.sh" 2>/dev/null
echo "? $?"
echo "state folders made: $(ls -d "$WORK/cfg" 2>/dev/null | wc -l)"

case_ "stale calls are marked ended at startup, live ones are not"
A=$(sid 71) B=$(sid 72) C=$(sid 73)
# one stream each (src/lib/calldir.h), started on 2026-01-01
for s in $A $B $C; do mkdir -p -m 700 "$STATE/calls/$s/streams/1.1767225600000.-/subscribers"; done
chmod 700 "$STATE" "$STATE/calls" "$STATE"/calls/* "$STATE"/calls/*/streams "$STATE"/calls/*/streams/*
: >"$STATE/calls/$A/streams/1.1767225600000.-/live.lock"   # crashed: lock file, nobody holds it
echo call-ended >"$STATE/calls/$C/streams/1.1767225600000.-/ended" # ended normally
: >"$STATE/calls/$B/streams/1.1767225600000.-/live.lock"
touch -d 2026-01-01 "$STATE"/calls/*/streams/*/* "$STATE"/calls/*/streams/*
/usr/bin/python3 -c 'import fcntl, sys, time
f = open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_EX); time.sleep(60)' "$STATE/calls/$B/streams/1.1767225600000.-/live.lock" &
HP=$! # live: this process holds the lock, as a call's fanout would
waitfor 5 live "$B" || echo "lock not held"
start_standin
export CALLPIPE_MAX_CONNECTIONS=2 CALLPIPE_MAX_SUBSCRIBERS=1 CALLPIPE_DRAIN_SECONDS=20
export CALLPIPE_HANDSHAKE_SECONDS=60
# the sweep at start (callstate(1)) marks crashed streams ended; calls of 2026-01-01
# would also be removed after the default 7 days
export CALLPIPE_RETAIN_DAYS=36500
start_pipeline
for s in $A $B $C; do echo "$(ended "$s" && echo ended || echo not-ended)"; done
cat "$STATE/calls/$C/streams/1.1767225600000.-/ended"
waitfor 5 test -e "$STATE/calls/$A/streams/1.1767225600000.-/ended" &&
	echo "crashed stream marked: $(cat "$STATE/calls/$A/streams/1.1767225600000.-/ended")"
kill "$HP"; waitexit 5 "$HP" >/dev/null

case_ "a second pipeline.sh on the same folder, and one on a port in use"
pl CALLPIPE_DIR="$STATE" PROXY_URL=127.0.0.1:1
pl CALLPIPE_DIR="$WORK/cfg2" PROXY_URL="127.0.0.1:$PORT" | sed "s/:$PORT/:PORT/"

case_ "more connections than 2 + 1 + 16 get 429"
hps=
for i in $(seq 1 19); do # /twilio sockets that send nothing (closed after 60 s)
	ws-client -t 30 "ws://127.0.0.1:$PORT/twilio" >hold$i.out 2>&1 &
	hps="$hps $!"
done
held() { [ "$(ls /proc/"$(cat "$STATE/run/websocketd.pid")"/task/*/children 2>/dev/null |
	xargs cat | wc -w)" -ge 19 ]; }
waitfor 20 held || echo "holders not connected"
ws-client -t 5 "ws://127.0.0.1:$PORT/client" 2>&1; echo "? $?"
curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$PORT/health"
for p in $hps; do kill "$p"; waitexit 5 "$p"; done
waitfor 10 sh -c "curl -sf -o /dev/null http://127.0.0.1:$PORT/health" && echo "served again"

case_ "a killed websocketd is restarted"
W1=$(cat "$STATE/run/websocketd.pid")
[ "$(cat "/proc/$W1/comm")" = websocketd ] && echo "websocketd.pid names websocketd"
kill -KILL "$W1"
waitfor 15 sh -c "[ \"\$(cat $STATE/run/websocketd.pid)\" != $W1 ] && curl -sf -o /dev/null http://127.0.0.1:$PORT/health" &&
	echo "restarted and serving"
grep 'websocketd exited' "$WORK/pipeline.log" | norm

case_ "SIGTERM drains while a call is live"
S=$(sid 74) N=$(sid 75)
fake-capture -c "$S" -s 4 >call.jsonl
fake-capture -c "$N" -s 1 >new.jsonl
twilio-replay "ws://127.0.0.1:$PORT/twilio" <call.jsonl 2>replay.err &
RP=$!
waitfor 10 live "$S" || echo "call did not start"
subscribe -n "$S" >sub.out 2>sub.err &
SP=$!
waitfor 5 hasnsubs "$S" 1 || echo "subscriber did not attach"
W2=$(cat "$STATE/run/websocketd.pid")
kill -TERM "$PLPID"
waitfor 5 test -e "$STATE/run/draining" || echo "not draining"
health
twilio-replay "ws://127.0.0.1:$PORT/twilio" <new.jsonl 2>new.err
echo "new call: twilio-replay exit $?"
[ -e "$(calldir "$N")" ] && echo "new call has a folder" || echo "new call has no folder"
live "$S" && echo "the first call is still live"
waitexit 20 "$RP"
echo "twilio-replay exit $?"
waitexit 30 "$PLPID"
echo "pipeline.sh exit $?"
PLPID=
gone "$W2" && echo "websocketd stopped"
waitexit 5 "$SP"
echo "subscribe exit $?"
L=$(streamdir "$S")/log.jsonl
summary "$L"
sed '$d' sub.out >sub.msgs
same sub.msgs "$L"
tail -n 1 sub.out
grep -oE '(pipeline.sh|twilio): .*(draining|refusing|stopp).*' "$WORK/pipeline.log" | norm

case_ "a drain that times out stops anyway; the cut call flushes its tail"
: >"$WORK/pipeline.log"
export CALLPIPE_DRAIN_SECONDS=1
start_pipeline
S=$(sid 76)
fake-capture -c "$S" -s 20 >long.jsonl
twilio-replay -s 1 "ws://127.0.0.1:$PORT/twilio" <long.jsonl 2>long.err &
RP=$!
waitfor 10 haslines "$S" 2 || echo "no results"
kill -TERM "$PLPID"
waitexit 30 "$PLPID"
echo "pipeline.sh exit $?"
PLPID=
waitexit 10 "$RP"
echo "twilio-replay exit $?"
ended "$S" && echo "the call ended"
tail -n 1 "$(streamdir "$S")/log.jsonl" | jq -r .type
noprocs && echo "no call processes left"
grep -oE 'pipeline.sh: .*(draining|live calls).*' "$WORK/pipeline.log" | norm

case_ "TLS: CERT_PEM and KEY_PEM"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=127.0.0.1 -keyout key.pem -out cert.pem 2>/dev/null
: >"$WORK/pipeline.log"
PORT=$(freeport)
CALLPIPE_BIN=$BIN CALLPIPE_DIR=$STATE DEEPGRAM_API_KEY=testkey CERT_PEM=$WORK/cert.pem \
	KEY_PEM=$WORK/key.pem PROXY_URL=127.0.0.1:$PORT sh "$TOP/pipeline.sh" 2>>"$WORK/pipeline.log" &
PLPID=$!
waitfor 15 curl -skf -o /dev/null "https://127.0.0.1:$PORT/health" && echo "https /health answers"
curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$PORT/health"
/usr/bin/python3 - "wss://127.0.0.1:$PORT/client" <<'PY'
import asyncio, json, ssl, sys, websockets
async def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    async with websockets.connect(sys.argv[1], ssl=ctx, open_timeout=5) as ws:
        print("wss /client:", json.loads(await asyncio.wait_for(ws.recv(), 5))["type"])
asyncio.run(main())
PY
waitfor 10 grep -q 'websocketd pid' "$WORK/pipeline.log" # logged once it listens
grep -o 'pipeline.sh: info: websocketd pid [0-9]*: .*' "$WORK/pipeline.log" | norm | sed "s/:$PORT/:PORT/g"
stop_pipeline
