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
. "$top/bench/lib.sh"
needbin "$bin" twilio-mix deepgram-stream fanout subscribe callpipe-publish callpipe-follow
needcmd websocketd redis-server redis-cli
tools=$top/build/bench
buildtools "$tools" loadgen dg-sink
morefds
tmp=$(mktemp -d "${TMPDIR:-/tmp}/callpipe-bench-redis.XXXXXX") || exit 111
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
/usr/bin/python3 "$top/bench/redis.py" --top "$top" --bin "$bin" --tools "$tools" --tmp "$tmp" "$@"
