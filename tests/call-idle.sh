# call-idle: subscribers can never keep calls out (issue 9, 4). With
# CALLPIPE_MAX_SUBSCRIBERS=4, twelve /client sockets that never name a call: four hold a
# slot (they got the calls list), eight get {"type":"callpipe.end","reason":"busy"} at
# once. A Twilio call still connects and is transcribed, /health answers 200 throughout;
# once the idle sockets go, subscribers are served again. A socket that names no call
# within CALLPIPE_HANDSHAKE_SECONDS gets "timeout".
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

cat >idle.py <<'PY'
import asyncio, json, os, sys, time, websockets
# open N sockets one after another; each: its first message, then hold it open (never
# naming a call) until the file "stop" exists (at most 60 s); report what each got.
async def one(url, firsts, later):
    ws = await websockets.connect(url, open_timeout=5)
    m = json.loads(await asyncio.wait_for(ws.recv(), 10))
    firsts.append(m["type"] + (" " + m["reason"] if m["type"] == "callpipe.end" else ""))
    open("ready.%d" % len(firsts), "w").close()
    end = time.time() + 60
    try:
        while not os.path.exists("stop") and time.time() < end:
            try:
                m = json.loads(await asyncio.wait_for(ws.recv(), 0.1))
                later.append(m.get("reason", m["type"]))
            except asyncio.TimeoutError:
                pass
    except websockets.exceptions.ConnectionClosed:
        pass
    await ws.close()
async def main(url, n):
    firsts, later, tasks = [], [], []
    for i in range(n):
        tasks.append(asyncio.create_task(one(url, firsts, later)))
        while len(firsts) <= i:
            await asyncio.sleep(0.01)
    await asyncio.gather(*tasks)
    for k in sorted(set(firsts)):
        print(firsts.count(k), k)
    print("later:", sorted(later))
asyncio.run(main(sys.argv[1], int(sys.argv[2])))
PY
export CALLPIPE_MAX_SUBSCRIBERS=4 CALLPIPE_HANDSHAKE_SECONDS=60 CALLPIPE_MAX_CONNECTIONS=8
start_standin
start_pipeline
S=$(sid 121)
fake-capture -c "$S" -s 3 >call.jsonl
U="ws://127.0.0.1:$PORT/client"
code() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health"; }

case_ "twelve idle /client sockets, four subscriber slots"
/usr/bin/python3 idle.py "$U" 12 >idle.out 2>idle.err &
IP=$!
waitfor 30 test -e ready.12 || echo "the idle sockets did not all connect"
echo "health: $(code)"
ws-client -c -t 10 "$U?callsid=$S&wait=0" | grep -v '"type":"calls"'

case_ "a call connects and is transcribed meanwhile; /health stays 200"
h=
twilio-replay -s 2 "ws://127.0.0.1:$PORT/twilio" <call.jsonl 2>replay.err &
RP=$!
waitfor 10 live "$S" || echo "the call did not start"
h="$h $(code)"
waitexit 30 "$RP"; echo "twilio-replay exit $?"
h="$h $(code)"
waitfor 20 ended "$S" && echo "the call ended"
summary "$(streamdir "$S")/log.jsonl"
echo "health:$h $(code)"

case_ "the idle sockets go: subscribers are served again"
: >stop
waitexit 30 "$IP"; echo "idle sockets exit $?"
cat idle.out
ws-client -c -t 10 "$U?callsid=$S&history=1" >h.out
sed '1d' h.out | sed '$d' | sed '$d' >h.msgs
same h.msgs "$(streamdir "$S")/log.jsonl"
tail -n 2 h.out

case_ "CALLPIPE_HANDSHAKE_SECONDS=1: a socket that names no call gets timeout"
stop_pipeline
export CALLPIPE_HANDSHAKE_SECONDS=1
start_pipeline
ws-client -c -t 10 "ws://127.0.0.1:$PORT/client" | sed 1d
