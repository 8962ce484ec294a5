# call-early: subscribers that come before the call (issue 9, 2 and 3). /client?callsid=
# (ours, python websockets; npm ws), the typed-CallSid handshake and subscribe -w wait
# for a call that is not live yet and then follow it from its start: every message, then
# {"type":"callpipe.end","reason":"call-ended"}. After the wait: unknown-call. Every
# other end of a /client connection is explicit too: bad-request, unauthorized (the
# Bearer scheme in any case, or ?token=).
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

export CALLPIPE_CLIENT_TOKEN=f00dfeed0123456789abcdef.42-x
start_standin
start_pipeline
S=$(sid 111)
fake-capture -c "$S" -s 3 >call.jsonl
U="ws://127.0.0.1:$PORT/client"
T="token=$CALLPIPE_CLIENT_TOKEN"
cat >early.py <<'PY'
import asyncio, sys, websockets
# a python websockets client: connect, print every message until the server closes
async def main():
    async with websockets.connect(sys.argv[1], open_timeout=5) as ws:
        try:
            while True:
                print(await asyncio.wait_for(ws.recv(), 30), flush=True)
        except websockets.exceptions.ConnectionClosed:
            pass
asyncio.run(main())
PY

case_ "five subscribers before the call: URL, typed CallSid, python websockets, npm ws, subscribe -w"
ws-client -c -t 60 "$U?callsid=$S&$T" >url.out 2>url.err &
P1=$!
ws-client -c -t 60 -s "$S" -H "Authorization: bearer $CALLPIPE_CLIENT_TOKEN" "$U" >typed.out 2>typed.err &
P2=$!
/usr/bin/python3 early.py "$U?callsid=$S&wait=30&$T" >py.out 2>py.err &
P3=$!
ws-node "$U?callsid=$S&$T" 60 >node.out 2>node.err &
P4=$!
subscribe -w 30 "$S" >sub.out 2>sub.err &
P5=$!
for f in url.out typed.out py.out node.out; do waitfor 10 test -s $f || echo "$f: not connected"; done
head -q -n 1 url.out typed.out py.out node.out | jq -c '[.type, (.calls | length), (.ended | length)]' | uniq -c | sed 's/^ *//'
twilio-replay -s 2 "ws://127.0.0.1:$PORT/twilio" <call.jsonl 2>replay.err
echo "twilio-replay exit $?"
for p in $P1 $P2 $P3 $P4 $P5; do waitexit 30 "$p"; echo "exit $?"; done
L=$(streamdir "$S")/log.jsonl
summary "$L"
for f in url typed py node; do
	sed 1d $f.out | grep -v '^-- ' | sed '$d' >$f.msgs
	same $f.msgs "$L"
	grep -v '^-- ' $f.out | tail -n 1
done
sed '$d' sub.out >sub.msgs
same sub.msgs "$L"
tail -n 1 sub.out

case_ "nobody comes: unknown-call after the wait"
V=$(sid 112)
ws-client -c -t 20 "$U?callsid=$V&wait=1&$T" | sed 1d
subscribe -w 1 "$V"; echo "? $?"
ws-client -c -t 20 -s "$V" "$U?wait=0&$T" | sed 1d

case_ "bad requests and missing tokens end explicitly"
for q in "callsid=$V&wait=601&$T" "callsid=$V&wait=x&$T" "callsid=CA123&$T" "callsid=../../x&$T"; do
	ws-client -c -t 10 "$U?$q" | grep -v '"type":"calls"'
done
ws-client -c -t 10 -s 'CA$(id)' "$U?$T" | sed 1d
ws-client -c -t 10 "$U?callsid=$S"
ws-client -c -t 10 -H "Authorization: Bearer wrong-token-0123456789" "$U?callsid=$S"
ws-client -c -t 10 -H "Authorization: BEARER $CALLPIPE_CLIENT_TOKEN" "$U?callsid=$S" | tail -n 2
