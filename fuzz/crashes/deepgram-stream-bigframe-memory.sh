#!/bin/sh
# Reproducer (found by tests/hostile.sh work, not a libFuzzer crash): one huge text frame
# from the Deepgram side grows deepgram-stream's memory by the size of the frame, although
# wsc.c keeps at most 1 MiB of a message and discards the rest ("ignoring a message from
# Deepgram longer than 1 MiB"). heaptrack puts the memory in libcurl under curl_ws_recv
# (called from wsc_recv, src/lib/wsc.c:493): libcurl's WebSocket receive buffer grows.
# Run from the repo root after `make`: prints peak RSS for a 1-byte, 20 MB and 40 MB frame.
# Expected (bounded): about the same for all three. Seen: ~12 MB, ~32 MB, ~53 MB.
# Fixed when wsc stopped using libcurl (its own 16 KiB input buffer; the rest of a
# message beyond max_msg streams by): 2.0 MB, 3.2 MB, 3.2 MB (the 1 MiB message head).
set -u
top=$(pwd)
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
sox -n -r 8000 -c 2 -e mu-law -t wav "$t/a.wav" trim 0 0.5
for sz in 1 20971520 41943040; do
	{ printf '{"type":"Results","channel_index":[0,2],"start":1,"duration":1,"is_final":true,"channel":{"alternatives":[{"transcript":"'
	  head -c $sz /dev/zero | tr '\0' a; printf '","words":[]}]}}\n'; } >"$t/m.jsonl"
	rm -f "$t/port"
	"$top/tests/hostile/dg-hostile.py" "$t/port" "$t/m.jsonl" & s=$!
	i=0; while [ ! -s "$t/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	DEEPGRAM_API_KEY=k /usr/bin/time -f "frame $sz bytes: peak %M KiB" "$top/bin/deepgram-stream" \
	    -u "ws://127.0.0.1:$(cat "$t/port")/v1/listen" <"$t/a.wav" 2>&1 >/dev/null | grep peak
	wait $s
done
