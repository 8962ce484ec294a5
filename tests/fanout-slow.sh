# fanout: a reader that never reads and one that reads too slowly are dropped with a
# warning; the slow one still gets whole lines only; another subscriber gets
# everything and fanout finishes promptly.
. "$TOP/tests/lib.sh"
export CALLPIPE_DIR=$WORK/state CALLPIPE_CALL_GRACE_SECONDS=0
SID=CA0123456789ABCDEF0123456789ABCDEF
strip() { sed -E 's/,?"callpipe":\{[^}]*\}\}$/}/' "$@"; }
live() { subscribe | grep -q "^$SID "; }
attached() { ls -l /proc/$FP/fd 2>/dev/null | grep -q "subscribers/$1"; }

/usr/bin/python3 - > big <<'PY'
import json
for i in range(1, 401):
    print(json.dumps({"seq": i, "pad": "w" * 10000}, separators=(",", ":")))
PY
cat > slow.py <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)      # waits for fanout to open the FIFO
with open(sys.argv[2], "wb") as out:
    while True:
        b = os.read(fd, 16384)
        if not b:
            break
        out.write(b)
        time.sleep(0.05)
PY

mkfifo in
fanout -c $SID <in 2>fanout.err & FP=$!
exec 3>in
rc waitfor 5 live
D=$(echo "$CALLPIPE_DIR/calls/$SID/streams/1."*)

case_ "a stalled reader, a slow reader and subscribe attach"
mkfifo "$D/subscribers/stall" "$D/subscribers/slow"
sh -c 'exec sleep 60' < "$D/subscribers/stall" 3>&- & ZP=$!
/usr/bin/python3 slow.py "$D/subscribers/slow" slow.out 3>&- & WP=$!
subscribe -n $SID > s.out 2>s.err 3>&- & SP=$!
rc waitfor 5 attached stall
rc waitfor 5 attached slow
rc waitfor 5 attached "subscribe.$SP."

case_ "4 MB in 400 lines of 10 KB (40 bursts), then end of input"
/usr/bin/python3 -c '
import sys, time
lines = open("big", "rb").readlines()
for i in range(0, len(lines), 10):
    sys.stdout.buffer.write(b"".join(lines[i:i + 10])); sys.stdout.flush(); time.sleep(0.01)
' >&3
exec 3>&-
rc waitfor 5 sh -c "! kill -0 $FP 2>/dev/null"
wait $FP; echo "fanout ? $?"
wait $SP; echo "subscribe ? $?"
wait $WP; echo "slow reader ? $?"
strip "$D/log.jsonl" | cmp big - && echo "log = input (each line with its callpipe member)"
sed '$d' s.out | cmp "$D/log.jsonl" - && echo "subscribe got everything, then: $(tail -n 1 s.out)"
n=$(wc -l < slow.out)
[ "$n" -gt 0 ] && [ "$n" -lt 400 ] && echo "slow reader got some lines, not all"
head -n "$n" "$D/log.jsonl" | cmp - slow.out && echo "slow reader got whole lines, in order, then EOF"
grep dropping fanout.err | sort
grep 'info: .* lines' fanout.err | sed -E 's/.*; ([0-9]+ subscribers), [0-9]+ dropped; (.*)/\1, N dropped; \2/'
killpids $ZP
cat s.err
