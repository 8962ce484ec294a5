# server-examples: the recipes in examples/ run as written against a live server:
# fifo-tail.sh (a FIFO of one's own), socat-transcript.sh (one call over TCP, with
# history), finals.jq (final transcripts with speaker labels), and the TwiML Bin's shape.
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"
X=$TOP/examples

case_ "bad CallSids"
sh "$X/fifo-tail.sh" ../../x; echo "? $?"
sh "$X/socat-transcript.sh" 'CA$(id)' 7000; echo "? $?"
sh "$X/fifo-tail.sh" CA0123456789abcdef0123456789abcdef 2>&1 | sed "s|$STATE|STATE|"

start_standin
start_pipeline
S=$(sid 9)
fake-capture -c "$S" -s 4 -r examples >call.jsonl

case_ "a call, read by fifo-tail.sh and over TCP by socat-transcript.sh"
twilio-replay "ws://127.0.0.1:$PORT/twilio" <call.jsonl 2>replay.err &
RP=$!
waitfor 10 live "$S" || echo "call did not start"
hold "$RP"
sh "$X/fifo-tail.sh" "$S" >fifo.out 2>fifo.err &
FP=$!
TP=$(freeport)
sh "$X/socat-transcript.sh" "$S" "$TP" 2>socat.err &
XP=$!
waitport 10 "$TP" || echo "socat is not listening"
mkfifo keepopen
exec 7<>keepopen # the TCP client's stdin stays open: it reads until the server closes
socat - "TCP:127.0.0.1:$TP" <keepopen >tcp.out 2>tcp.err &
CP=$!
waitfor 10 hasnsubs "$S" 2 || echo "subscribers did not attach"
release "$RP" "$S" 2
waitexit 20 "$RP"
echo "twilio-replay exit $?"
waitexit 10 "$FP"
echo "fifo-tail.sh exit $?"
waitexit 10 "$CP"
echo "socat client exit $?"
exec 7>&-
kill "$XP"; waitexit 5 "$XP" >/dev/null
L=$(streamdir "$S")/log.jsonl
sed '$d' tcp.out >tcp.msgs
same tcp.msgs "$L"
tail -n 1 tcp.out
n=$(wc -l <fifo.out)
tail -n "$n" "$L" | cmp -s - fifo.out && [ "$n" -gt 0 ] && echo "fifo-tail.sh got the rest of the call"
ls "$(streamdir "$S")/subscribers" | wc -l

case_ "finals.jq"
jq -r -f "$X/finals.jq" "$L"

case_ "the TwiML Bin: <Start><Stream url=wss://…/twilio track=both_tracks> before <Dial>"
/usr/bin/python3 - "$X/twiml-bin.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
print(r.tag, [c.tag for c in r])
s = r.find("Start/Stream")
print(s.get("url").startswith("wss://"), s.get("url").endswith("/twilio"), "?" not in s.get("url"), s.get("track"))
PY
