#!/bin/sh
# fifo-tail.sh: read a live call's messages from a FIFO of your own, without subscribe.
# usage: sh examples/fifo-tail.sh CALLSID
# Each stream of a call has its own fanout and folder, calls/<CallSid>/streams/<N>.<ms>.<sid>;
# fanout writes every message of its stream to each FIFO in that folder's subscribers/
# (whole lines, never blocking on a slow reader: one that falls 1 MiB behind is dropped),
# and closes them when the stream ends, so cat sees EOF and this script ends. This reads
# the call's newest stream; subscribe(1) follows every stream of a call.
set -eu
sid=${1:?usage: fifo-tail.sh CALLSID}
case $sid in CA*[!0-9a-fA-F]* | [!C]* | ?[!A]*) sid= ;; esac
[ ${#sid} -eq 34 ] || { echo "fifo-tail.sh: fatal: bad CallSid: want CA and 32 hex digits" >&2; exit 100; }
call=${CALLPIPE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/callpipe}/calls/$sid
stream=
for d in "$call"/streams/*; do [ -d "$d/subscribers" ] && stream=$d; done
[ -n "$stream" ] || { echo "fifo-tail.sh: fatal: no call $sid" >&2; exit 1; }
[ ! -e "$stream/ended" ] || { echo "fifo-tail.sh: fatal: call $sid has ended (see $stream/log.jsonl)" >&2; exit 1; }
fifo=$stream/subscribers/tail.$$
mkfifo -m 600 "$fifo"
trap 'rm -f "$fifo"' EXIT
trap 'exit 130' INT TERM
cat "$fifo"
