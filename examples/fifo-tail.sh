#!/bin/sh
# fifo-tail.sh: read a live call's messages from a FIFO of your own, without subscribe.
# usage: sh examples/fifo-tail.sh CALLSID
# fanout writes every message of the call to each FIFO in the call's subscribers/ folder
# (whole lines, never blocking on a slow reader: one that falls 1 MiB behind is dropped),
# and closes them when the call ends, so cat sees EOF and this script ends.
set -eu
sid=${1:?usage: fifo-tail.sh CALLSID}
case $sid in CA*[!0-9a-fA-F]* | [!C]* | ?[!A]*) sid= ;; esac
[ ${#sid} -eq 34 ] || { echo "fifo-tail.sh: fatal: bad CallSid: want CA and 32 hex digits" >&2; exit 100; }
call=${CALLPIPE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/callpipe}/calls/$sid
[ -d "$call/subscribers" ] || { echo "fifo-tail.sh: fatal: no call $sid" >&2; exit 1; }
[ ! -e "$call/ended" ] || { echo "fifo-tail.sh: fatal: call $sid has ended (see $call/log.jsonl)" >&2; exit 1; }
fifo=$call/subscribers/tail.$$
mkfifo -m 600 "$fifo"
trap 'rm -f "$fifo"' EXIT
trap 'exit 130' INT TERM
cat "$fifo"
