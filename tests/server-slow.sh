# server-slow: a subscriber that stops reading is dropped (fanout warns), while another
# gets everything and the call is unaffected (issue 4, test 3). The stalled reader holds
# its FIFO open with a 4 KiB pipe and never reads; the server runs with an 8 KiB
# per-subscriber buffer (CALLPIPE_SUBSCRIBER_BUFFER), interim results make the traffic
# (over 16 KiB). The reading subscriber takes the call with history, so when it attaches
# does not matter, and the replay is paced (no burst) so a loaded machine keeps up.
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

cat >stall.py <<'PY'
import fcntl, os, sys, time
# open the FIFO, shrink its pipe to 4 KiB, never read until told (file "go"), then read all
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
fcntl.fcntl(fd, 1031, 4096)  # F_SETPIPE_SZ
open(sys.argv[2], "w").close()
end = time.time() + 60
while not os.path.exists("go") and time.time() < end:
    time.sleep(0.05)
os.set_blocking(fd, True)
with open(sys.argv[3], "wb") as out:
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        out.write(b)
PY

export CALLPIPE_SUBSCRIBER_BUFFER=8192
start_standin
start_pipeline "interim_results=true&vad_events=true"
S=$(sid 3)
fake-capture -c "$S" -s 6 >call.jsonl

case_ "one stalled subscriber, one reading"
twilio-replay -s 2 "ws://127.0.0.1:$PORT/twilio" <call.jsonl 2>replay.err &
RP=$!
waitfor 10 live "$S" || echo "call did not start"
D=$(streamdir "$S")
mkfifo -m 600 "$D/subscribers/stalled"
/usr/bin/python3 stall.py "$D/subscribers/stalled" stall.ready stalled.out &
PP=$!
waitfor 10 test -e stall.ready || echo "stalled reader not ready"
ws-client -c -t 30 "ws://127.0.0.1:$PORT/client?callsid=$S&history=1" >ws.out 2>ws.err &
WP=$!
# fanout gives a dropped subscriber a second to take the rest of the line it was in
# the middle of: the stalled reader wakes up as soon as the drop is logged
dropped() { grep -q 'fanout: warning: dropping subscriber stalled' "$WORK/pipeline.log"; }
waitfor 20 dropped || echo "the stalled subscriber was not dropped"
: >go
waitexit 30 "$RP"
echo "twilio-replay exit $?"
waitfor 20 ended "$S" || echo "call did not end"
waitexit 20 "$WP"
echo "ws-client exit $?"
waitexit 10 "$PP"
echo "stalled reader exit $?"

case_ "the call and the reading subscriber got everything"
L=$D/log.jsonl
summary "$L"
jq -r 'select(.type == "Metadata") | "audio seconds \(.duration)"' "$L"
sed '1d;$d' ws.out | sed '$d' >ws.msgs
same ws.msgs "$L"
tail -n 2 ws.out
echo "log bytes > 16 KiB: $([ "$(wc -c <"$L")" -gt 16384 ] && echo yes)"

case_ "the stalled subscriber was dropped, with whole lines only"
grep -c 'fanout: warning: dropping subscriber stalled' "$WORK/pipeline.log"
n=$(wc -l <stalled.out)
echo "stalled reader got fewer lines than the log: $([ "$n" -lt "$(wc -l <"$L")" ] && echo yes)"
echo "stalled reader's bytes end with a newline: $([ -z "$(tail -c 1 stalled.out | tr -d '\n')" ] && echo yes)"
k=$(grep -nFx -- "$(head -n 1 stalled.out)" "$L" | head -n 1 | cut -d: -f1)
echo "stalled reader's lines are a run of the log: $(sed -n "${k:-1},$((${k:-1} + n - 1))p" "$L" | cmp -s - stalled.out && echo yes)"
