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
# CPU time depends on what else the machine runs, so the runs are interleaved and
# repeated (ROUNDS, default 3; the median is shown, with min-max); perf stat's
# instruction counts (user and kernel, per frame: a run of S s minus one of S/2)
# do not depend on load.
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

# run NAME BINARY [MODE] [SECS]: one paced run. MODE "": CPU sample into NAME.res;
# strace: NAME.trace and NAME.res.s; perf: instruction counts into NAME.perf.SECS
run() {
	_s=${4:-$secs}
	rm -f "$tmp/$1.pid"
	if [ "$2" = floor ]; then cmd=$tools/dg-floor
	else cmd="$2 -e mulaw -r 8000 -c 2 -u $url"; fi
	case ${3-} in
	# LeakSanitizer cannot run under ptrace (a san build): no leak check when traced
	strace) pre="env ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	    strace -f -ttt -o $tmp/$1.trace" out=$tmp/$1.res.s ;;
	perf) pre="perf stat -i -x , -e instructions:u,instructions:k -o $tmp/$1.perf.$_s --"
	      out=$tmp/$1.res.p ;;
	*) pre= out=$tmp/$1.res.$round ;;
	esac
	/usr/bin/python3 "$tmp/pacer.py" "$_s" "$tmp/$1.pid" "$out" |
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
# cpu NAME: the median over the rounds of CPU (us) and wake-ups per frame
cpu() {
	for f in "$tmp/$1".res.[0-9]*; do
		awk '{ printf "%.3f %.3f\n", $3 / 1000 / $5, $4 / $5 }' "$f"
	done | sort -n | awk '{ u[NR] = $1; w[NR] = $2 } END {
		m = int((NR + 1) / 2); printf "%.1f %.2f %.1f %.1f\n", u[m], w[m], u[1], u[NR] }'
}
# insns NAME: instructions (user, kernel) per frame: the difference between a run
# of secs and one of secs/2, over the frames between them (startup cancels out)
insns() {
	[ -s "$tmp/$1.perf.$secs" ] && [ -s "$tmp/$1.perf.$half" ] || { echo "- -"; return; }
	awk -F, -v n=$(( (secs - half) * 50 )) '
	FNR == 1 { f++ }
	$3 ~ /instructions:u/ && $1 ~ /^[0-9]+$/ { u[f] = $1 }
	$3 ~ /instructions:k/ && $1 ~ /^[0-9]+$/ { k[f] = $1 }
	END { if (u[1] == "" || u[2] == "") print "- -"
	      else printf "%.0f %.0f\n", (u[1] - u[2]) / n, (k[1] - k[2]) / n }' \
	    "$tmp/$1.perf.$secs" "$tmp/$1.perf.$half"
}
row() { # NAME LABEL
	sc=$(syscalls "$1")
	set -- "$1" "$2" $(cpu "$1") $(insns "$1")
	printf "%-20s %8s %8s %8s %9s %8s %10s %10s\n" "$2" "${sc%% *}" "$4" "$3" \
	    "$5-$6" "$(awk -v u="$3" 'BEGIN { printf "%.1f", u * 180000 / 1e6 }')" "$7" "$8"
	echo "    syscalls per frame by name:${sc#* }" >>"$tmp/detail"
}

: >"$tmp/detail"
names="after floor"
[ -n "$before_bin" ] && names="before after floor"
bin_of() { case $1 in before) echo "$before_bin" ;; after) echo "$after_bin" ;; *) echo floor ;; esac; }
rounds=${ROUNDS:-3}
half=$((secs / 2))
round=1
while [ $round -le "$rounds" ]; do # interleaved, so that load from elsewhere hits all
	for n in $names; do
		run "$n" "$(bin_of $n)" || die "the $n run failed: $(tail -n 2 "$tmp/$n.err")"
	done
	round=$((round + 1))
done
for n in $names; do
	run "$n" "$(bin_of $n)" strace || die "the $n strace run failed"
	if command -v perf >/dev/null 2>&1; then
		run "$n" "$(bin_of $n)" perf "$secs" && run "$n" "$(bin_of $n)" perf "$half" ||
		    rm -f "$tmp/$n.perf".*
	fi
done
echo "deepgram-stream, cost per 20 ms frame ($secs s paced, $((secs * 50)) frames of 320 bytes, 8 kHz stereo mu-law; CPU: median of $rounds interleaved runs)"
printf "%-20s %8s %8s %8s %9s %8s %10s %10s\n" run syscalls wake-ups "CPU us" "min-max" \
    "CPU s/h" "insns usr" "insns krn"
for n in $names; do
	case $n in
	before) l="before (${rev:-$before_bin})" ;;
	after) l="after ($(git -C "$top" rev-parse --short HEAD 2>/dev/null))" ;;
	floor) l="floor" ;;
	esac
	echo "$n: $l" >>"$tmp/detail"
	row "$n" "$l"
done
cat "$tmp/detail"
echo "(CPU s/h: CPU seconds per hour of real-time audio; insns: instructions per frame in"
echo " user space and in the kernel, from perf stat; - where the machine has no counters)"
