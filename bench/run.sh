#!/bin/sh
# bench/run.sh [--smoke]: callpipe's benchmarks (`make bench`; `make bench-smoke`).
# Builds the benchmark's own load generator and Deepgram sink (bench/*.c, into
# build/bench/, not bin/), then runs bench/bench.py, which prints one table and writes
# it to bench/RESULTS.md (with --smoke: to a temporary file, named on stderr; RESULTS.md
# is left alone). Tools come from $BENCH_BIN, else $BIN (the test runner's variant), else
# bin/. Method and figures: bench/README.md. Exit 0 with figures however slow the
# machine is; 1 when something broke (with --smoke also: lost audio, failed calls).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${BENCH_BIN:-${BIN:-$top/bin}}
smoke=
case ${1-} in
--smoke) smoke=--smoke ;;
'') ;;
*) echo "usage: bench/run.sh [--smoke]" >&2; exit 100 ;;
esac
. "$top/bench/lib.sh"
needbin "$bin" twilio-mix deepgram-stream fanout subscribe
needcmd websocketd
tools=$top/build/bench
buildtools "$tools" loadgen dg-sink runstat floor
morefds

if [ -n "$smoke" ]; then
	out=$(mktemp "${TMPDIR:-/tmp}/callpipe-bench-smoke.XXXXXX") || exit 111
else
	out=$top/bench/RESULTS.md
fi
t0=$(date +%s)
# a hard bound: bench.py stops at SIGTERM, stops what it started and prints what it has
if [ -n "$smoke" ]; then limit=300; else limit=720; fi
timeout -k 30 "$limit" /usr/bin/python3 "$top/bench/bench.py" $smoke --top "$top" --bin "$bin" \
    --tools "$tools" --out "$out"
rc=$?
[ "$rc" -eq 124 ] && echo "bench: stopped after $limit s" >&2

# HOOK: deepgram-stream's cost per frame, bench/dg-frame.sh (owner: the dg helper, branch
# dg; usage: dg-frame.sh [-s seconds] [-b rev | -B binary], tools from $BIN). Runs here
# (full run: 10 s paced against the floor; smoke: 2 s); its table
# is appended to the results indented, so that bench.py's table stays the only table.
if [ -f "$top/bench/dg-frame.sh" ]; then
	echo "bench: deepgram-stream per frame (bench/dg-frame.sh)" >&2
	# before/after needs a revision to compare with (dg-frame.sh -b REV, by hand): here the
	# build against the floor; 3 rounds x 2 runs x 12 s, then strace and perf runs
	if [ -n "$smoke" ]; then set -- -s 2 -b none; else set -- -s 10 -b none; fi
	BIN=$bin timeout 240 sh "$top/bench/dg-frame.sh" "$@" >"$out.dgframe" 2>&1 || rc=1
	{ printf '\n## deepgram-stream per frame (bench/dg-frame.sh %s)\n\n' "$*"
	  sed 's/^/    /' "$out.dgframe"; } >>"$out" || rc=1
	cat "$out.dgframe" >&2
	rm -f "$out.dgframe"
else
	echo "bench: hook: bench/dg-frame.sh (deepgram-stream per frame, dg helper) not here yet" >&2
fi
# Redis (issue 12): egress through Redis against the local FIFO path, Redis and publisher
# CPU and memory per call (bench/redis.sh, about 70 s); the full run only.
if [ -z "$smoke" ] && command -v redis-server >/dev/null 2>&1; then
	echo "bench: Redis across hosts (bench/redis.sh)" >&2
	BIN=$bin timeout 300 sh "$top/bench/redis.sh" --calls 100 --secs 20 \
		--out "$out.redis" >&2 || rc=1
	{ printf '\n'; cat "$out.redis"; } >>"$out" 2>/dev/null || rc=1
	rm -f "$out.redis"
fi
echo "bench: run time $(( $(date +%s) - t0 )) s; load average now $(cut -d' ' -f1-3 /proc/loadavg)" >&2
[ -n "$smoke" ] && echo "bench: smoke results in $out (not bench/RESULTS.md)" >&2
exit $rc
