# fanout: subscribers that join while lines flow, some in quick bursts (several
# FIFOs in one tick of the folder's timestamps), each get every line written after
# their reader opened; fanout finds them without inotify (no per-user limit).
. "$TOP/tests/lib.sh"
export CALLPIPE_DIR=$WORK/state CALLPIPE_CALL_GRACE_SECONDS=0
SID=CA00000000000000000000000000001010
live() { subscribe | grep -q "^$SID "; }

cat > gen.py <<'PY'
import json, sys, time
for i in range(1, 3001):
    sys.stdout.write(json.dumps({"type": "Results", "seq": i}) + "\n")
    sys.stdout.flush()
    time.sleep(0.001)
PY
# join.py DIR: 60 subscribers, in bursts of one to four; each FIFO is made and
# opened for reading (fanout may open it from then on), and the log's size is noted
# right after: every line logged beyond it must reach that subscriber. A writer of
# our own keeps read() from seeing end of file before fanout opens the FIFO.
cat > join.py <<'PY'
import os, random, select, sys, time
d = sys.argv[1]
random.seed(7)
subs = []
while len(subs) < 60:
    for _ in range(random.randint(1, 4)):
        i = len(subs)
        p = "%s/subscribers/j%02d" % (d, i)
        os.mkfifo(p)
        r = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
        w = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
        off = os.stat(d + "/log.jsonl").st_size
        subs.append([r, w, off, bytearray()])
        time.sleep(random.random() * 0.002)
    time.sleep(random.random() * 0.03)
def drain(s):
    while True:
        try:
            b = os.read(s[0], 65536)
        except BlockingIOError:
            return True
        if not b:
            return False
        s[3] += b
while not os.path.exists("stop"):
    select.select([s[0] for s in subs], [], [], 0.05)
    for s in subs:
        drain(s)
for s in subs:
    os.close(s[1])
    while drain(s):
        time.sleep(0.01)
for i, s in enumerate(subs):
    with open("j%02d.out" % i, "wb") as f:
        f.write(s[3])
    with open("j%02d.off" % i, "w") as f:
        f.write("%d\n" % s[2])
PY
# got N: subscriber N's output is a tail of the log that starts at its offset or at
# most one line later (fanout may have looked for subscribers just before the
# reader opened, and be writing that line)
got() {
	_n=$(wc -c < j$1.out); _t=$(wc -c < "$D/log.jsonl"); _o=$(cat j$1.off)
	_l=$(tail -c +$((_o + 1)) "$D/log.jsonl" | head -n 1 | wc -c)
	[ "$_n" -gt 0 ] && [ $((_t - _n)) -le $((_o + _l)) ] &&
	    tail -c "$_n" "$D/log.jsonl" | cmp -s - j$1.out
}
if command -v strace >/dev/null; then
	# LeakSanitizer cannot run under ptrace; the second fanout is checked for leaks
	trace() {
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -f -qq \
		    -o inotify.trace -e trace=inotify_init,inotify_init1 "$@"
	}
else # make deps installs it: without it this case proves nothing, so it fails
	trace() { echo "inotify_init not traced: no strace on PATH (run make deps)" > inotify.trace; "$@"; }
fi

case_ "60 subscribers join while 3000 lines flow"
mkfifo in
trace fanout -c $SID <in 2>fanout.err & FP=$!
exec 3>in
rc waitfor 5 live
D=$(echo "$CALLPIPE_DIR/calls/$SID/streams/1."*)
/usr/bin/python3 join.py "$D" 3>&- & JP=$!
/usr/bin/python3 gen.py >&3
exec 3>&-
wait $FP; echo "fanout ? $?"
touch stop
wait $JP; echo "join.py ? $?"
wc -l < "$D/log.jsonl"
ok=0
for i in $(seq -w 0 59); do
	if got $i; then ok=$((ok + 1)); else echo "j$i missed lines after it joined"; fi
done
echo "subscribers with every line after they joined: $ok"
grep -c 'warning' fanout.err

case_ "no inotify instance: none made, none held"
grep -c 'inotify_init' inotify.trace
mkfifo in2
fanout -c CA00000000000000000000000000002020 <in2 2>fanout2.err & FP=$!
exec 3>in2
rc waitfor 5 sh -c "ls -l /proc/$FP/fd | grep -q log.jsonl"
echo "inotify fds held: $(ls -l /proc/$FP/fd | grep -c inotify)"
exec 3>&-
wait $FP; echo "fanout ? $?"
