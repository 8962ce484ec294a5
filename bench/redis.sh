#!/bin/sh
# bench/redis.sh [--calls N] [--secs S] [--out FILE]: the Redis row of `make bench`:
# egress p50/p99 through Redis (calls on one host, subscribers on another) against the
# local FIFO path, Redis CPU and memory per call, callpipe-publish CPU per call, at N
# concurrent real-time calls (default 100, 20 s). Builds loadgen and dg-sink like
# bench/run.sh; prints a markdown table (and writes it to FILE). Method:
# bench/README-redis.md. Exit 0 with figures however slow the machine is.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${BENCH_BIN:-${BIN:-$top/bin}}
for t in twilio-mix deepgram-stream fanout subscribe callpipe-publish callpipe-follow; do
	[ -x "$bin/$t" ] || { echo "bench: fatal: $bin/$t is missing: run make first" >&2; exit 100; }
done
for t in websocketd redis-server redis-cli; do
	command -v "$t" >/dev/null 2>&1 || { echo "bench: fatal: $t is missing (make deps)" >&2; exit 100; }
done
tools=$top/build/bench
mkdir -p "$tools" || exit 111
for p in loadgen dg-sink; do
	if [ ! -x "$tools/$p" ] || [ "$top/bench/$p.c" -nt "$tools/$p" ] || [ "$top/bench/bws.h" -nt "$tools/$p" ]; then
		${CC:-cc} -std=c11 -O2 -g -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
		    -o "$tools/$p.tmp.$$" "$top/bench/$p.c" -lcrypto &&
		    mv -f "$tools/$p.tmp.$$" "$tools/$p" ||
		    { rm -f "$tools/$p.tmp.$$"; echo "bench: fatal: unable to build $p" >&2; exit 111; }
	fi
done
n=$(ulimit -Hn)
[ "$n" = unlimited ] && n=65536
[ "$n" -gt 65536 ] && n=65536
ulimit -n "$n" 2>/dev/null
tmp=$(mktemp -d "${TMPDIR:-/tmp}/callpipe-bench-redis.XXXXXX") || exit 111
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
/usr/bin/python3 "$top/bench/redis.py" --top "$top" --bin "$bin" --tools "$tools" --tmp "$tmp" "$@"
