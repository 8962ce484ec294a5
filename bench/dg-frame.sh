#!/bin/sh
# bench/dg-frame.sh [-s seconds] [-b rev | -B binary]: deepgram-stream's cost per 20 ms
# audio frame, before and after, next to the floor.
#
# Method. A pacer writes one 320-byte frame (20 ms of 8 kHz stereo mu-law, what
# twilio-mix writes live for a two-track call) every 20 ms into deepgram-stream's stdin
# for S seconds (default 20); deepgram-stream streams it to the bench's Deepgram sink
# (bench/dg-sink.c, Results once a second per channel) on 127.0.0.1. After a 1 s
# warm-up (connection open), the pacer samples deepgram-stream's /proc/PID/schedstat
# (CPU time in ns, exact) and /proc/PID/status (voluntary context switches = wake-ups)
# at the first and after the last frame; the deltas divided by the frames give CPU
# and wake-ups per frame. A second run under strace -f -ttt counts the system calls
# between the same two instants. CPU per real-time hour = CPU per frame x 180000.
#
# before: deepgram-stream built from git revision REV (-b, default main; -b none
# skips it) or the binary given with -B; after: $BIN or bin/deepgram-stream.
# floor: a 30-line C loop that does only what a relay cannot avoid: one wake-up
# (poll on the pipe), one pipe hop (read 320 bytes) and one 320-byte send on a
# loopback TCP socket, paced the same way.
# Prints one table; exit 0 with figures, 1 when a run failed, 100 usage.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
secs=20 rev=main before_bin=
while getopts s:b:B: o; do
	case $o in
	s) secs=$OPTARG ;;
	b) rev=$OPTARG ;;
	B) before_bin=$OPTARG rev= ;;
	*) echo "usage: bench/dg-frame.sh [-s seconds] [-b rev | -B binary]" >&2; exit 100 ;;
	esac
done
case $secs in ''|*[!0-9]*) echo "dg-frame: fatal: -s wants whole seconds" >&2; exit 100 ;; esac
[ "$secs" -ge 2 ] && [ "$secs" -le 3600 ] || { echo "dg-frame: fatal: -s 2..3600" >&2; exit 100; }
after_bin=${BIN:-$top/bin}/deepgram-stream
[ -x "$after_bin" ] || { echo "dg-frame: fatal: $after_bin is missing: run make first" >&2; exit 100; }
command -v strace >/dev/null 2>&1 || { echo "dg-frame: fatal: strace is missing" >&2; exit 100; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dg-frame.XXXXXX") || exit 111
SINK=
cleanup() { [ -n "$SINK" ] && kill "$SINK" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
die() { echo "dg-frame: fatal: $*" >&2; exit 1; }

# the sink (as bench/run.sh builds it) and the floor loop
tools=$top/build/bench
mkdir -p "$tools" || exit 111
cc=${CC:-cc}
if [ ! -x "$tools/dg-sink" ] || [ "$top/bench/dg-sink.c" -nt "$tools/dg-sink" ]; then
	$cc -std=c11 -O2 -g -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -o "$tmp/dg-sink" \
	    "$top/bench/dg-sink.c" -lcrypto && mv -f "$tmp/dg-sink" "$tools/dg-sink" ||
	    die "unable to build dg-sink"
fi
cat >"$tmp/floor.c" <<'EOF'
/* floor: per frame, one wake-up (poll on stdin), one pipe hop (read), one loopback
 * send; a forked child drains the socket. */
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int
main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	char b[4096];
	int l = socket(AF_INET, SOCK_STREAM, 0), s, c;
	struct pollfd p = { 0, POLLIN, 0 };
	ssize_t n;

	if (l < 0 || bind(l, (void *)&a, sizeof a) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (void *)&a, &al) < 0)
		return 111;
	if (fork() == 0) {
		c = accept(l, NULL, NULL);
		while (read(c, b, sizeof b) > 0)
			;
		_exit(0);
	}
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (void *)&a, sizeof a) < 0)
		return 111;
	for (;;) {
		if (poll(&p, 1, -1) < 0)
			return 111;
		if ((n = read(0, b, sizeof b)) <= 0)
			return 0;
		if (send(s, b, (size_t)n, 0) != n)
			return 111;
	}
}
EOF
$cc -O2 -o "$tools/dg-floor" "$tmp/floor.c" || die "unable to build the floor loop"

# before: a revision's deepgram-stream, built apart
if [ -n "$rev" ] && [ "$rev" != none ]; then
	mkdir -p "$tmp/before"
	git -C "$top" archive "$rev" Makefile src 2>/dev/null | tar -x -C "$tmp/before" ||
	    die "unable to read revision $rev"
	make -s -C "$tmp/before" -j2 bin/deepgram-stream >"$tmp/before.log" 2>&1 ||
	    die "unable to build deepgram-stream at $rev (see make bin/deepgram-stream)"
	before_bin=$tmp/before/bin/deepgram-stream
fi

"$tools/dg-sink" -f "$tmp/port" -o "$tmp/sink.log" 2>"$tmp/sink.err" &
SINK=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$tmp/port" ] || die "the sink did not start"
url="ws://127.0.0.1:$(cat "$tmp/port")/v1/listen"

cat >"$tmp/pacer.py" <<'EOF'
# pacer SECONDS PIDFILE OUT: 320 bytes every 20 ms on stdout after a 1 s warm-up;
# writes "t0 t1 cpu_ns wakeups frames" (t: CLOCK_REALTIME s) to OUT
import os, sys, time
secs, pidfile, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
frame = bytes((i * 7) & 255 for i in range(320))
def sample(pid):
    with open("/proc/%s/schedstat" % pid) as f:
        ns = int(f.read().split()[0])
    with open("/proc/%s/status" % pid) as f:
        v = [int(l.split()[1]) for l in f if l.startswith("voluntary_ctxt_switches")][0]
    return ns, v
time.sleep(1.0)
pid = open(pidfile).read().strip()
n = secs * 50
os.write(1, frame)                     # the first frame opens the stream
time.sleep(1.0)
c0, w0 = sample(pid); t0 = time.time(); start = time.monotonic()
for k in range(n):
    d = start + k * 0.02 - time.monotonic()
    if d > 0:
        time.sleep(d)
    os.write(1, frame)
time.sleep(0.01)
c1, w1 = sample(pid); t1 = time.time()
open(out, "w").write("%.6f %.6f %d %d %d\n" % (t0, t1, c1 - c0, w1 - w0, n))
EOF

# run NAME BINARY [strace]: one paced run; leaves $tmp/NAME.res (and NAME.trace)
run() {
	rm -f "$tmp/$1.pid"
	if [ "$2" = floor ]; then set -- "$1" "$tools/dg-floor" "${3-}"; cmd=$2
	else cmd="$2 -e mulaw -r 8000 -c 2 -u $url"; fi
	if [ -n "${3-}" ]; then
		pre="strace -f -ttt -o $tmp/$1.trace"
	else
		pre=
	fi
	/usr/bin/python3 "$tmp/pacer.py" "$secs" "$tmp/$1.pid" "$tmp/$1.res${3:+.s}" |
	    DEEPGRAM_API_KEY=bench sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$tmp/$1.pid" \
	    $pre $cmd >/dev/null 2>"$tmp/$1.err"
}
# syscalls NAME: per-frame count of the calls between the pacer's two samples
syscalls() {
	set -- "$1" $(cat "$tmp/$1.res.s")
	# the traced program only (not the floor's draining child): the first pid seen
	awk -v t0="$2" -v t1="$3" -v n="$6" '
	NR == 1 { pid = $1 }
	$1 == pid && $2 + 0 >= t0 && $2 + 0 <= t1 && $3 ~ /^[a-z_0-9]+\(/ {
		s = $3; sub(/\(.*/, "", s); c[s]++; tot++ }
	END { line = ""; for (k in c) line = line sprintf(" %s %.2f", k, c[k] / n)
	      printf "%.2f%s\n", tot / n, line }' "$tmp/$1.trace"
}
row() { # NAME LABEL
	set -- "$1" "$2" $(cat "$tmp/$1.res")
	sc=$(syscalls "$1")
	awk -v l="$2" -v cpu="$5" -v w="$6" -v n="$7" -v sc="${sc%% *}" 'BEGIN {
		us = cpu / 1000 / n
		printf "%-22s %9s %9.2f %9.1f %11.1f %9.3f\n", l, sc, w / n, us, us * 180000 / 1e6,
		    us * 50 / 1e4 }'
	echo "    syscalls per frame by name:${sc#* }" >>"$tmp/detail"
}

: >"$tmp/detail"
names=
if [ -n "$before_bin" ]; then
	run before "$before_bin" && run before "$before_bin" strace || die "the before run failed: $(tail -n 2 "$tmp/before.err")"
	names="before"
fi
run after "$after_bin" && run after "$after_bin" strace || die "the after run failed: $(tail -n 2 "$tmp/after.err")"
run floor floor && run floor floor strace || die "the floor run failed"
echo "deepgram-stream, cost per 20 ms frame ($secs s paced, $((secs * 50)) frames of 320 bytes, 8 kHz stereo mu-law)"
printf "%-22s %9s %9s %9s %11s %9s\n" run syscalls wake-ups "CPU us" "CPU s/hour" "% core"
for n in $names after floor; do
	case $n in
	before) l="before (${rev:-$before_bin})" ;;
	after) l="after ($(git -C "$top" rev-parse --short HEAD 2>/dev/null))" ;;
	floor) l="floor" ;;
	esac
	echo "$n: $l" >>"$tmp/detail"
	row "$n" "$l"
done
cat "$tmp/detail"
