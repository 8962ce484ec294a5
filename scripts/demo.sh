#!/bin/sh
# demo.sh (make demo): the whole path on this machine, in under a minute, no accounts:
# a Deepgram stand-in, pipeline.sh (websocketd, /twilio, /client, /health) on free
# 127.0.0.1 ports with a temporary CALLPIPE_DIR, the example call replayed into /twilio
# as Twilio would send it, and a WebSocket subscriber on /client printing what arrives.
# Everything started here is stopped by its PID at the end.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
PATH=$top/bin:$top/tests/bin:$PATH
export PATH
say() { printf 'demo: %s\n' "$*"; }
die() { printf 'demo: fatal: %s\n' "$*" >&2; exit 1; }

for t in twilio-replay twilio-mix deepgram-stream fanout subscribe; do
	[ -x "$top/bin/$t" ] || die "bin/$t is missing: run make first (make demo does)"
done
command -v websocketd >/dev/null || die "websocketd is missing: run make deps"
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import websockets' 2>/dev/null ||
	die "python3-websockets is missing (the stand-in and the demo client use it): run make deps"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/callpipe-demo.XXXXXX") || die "unable to make a temporary folder"
spid= ppid= cpid= rpid=
cleanup() {
	for p in $rpid $cpid; do kill "$p" 2>/dev/null; done
	[ -n "$ppid" ] && kill -TERM "$ppid" 2>/dev/null && wait "$ppid" 2>/dev/null
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# waitfor SECONDS CMD...: bounded retry every 100 ms
waitfor() {
	_n=$(($1 * 10)); shift
	while ! "$@" 2>/dev/null; do
		_n=$((_n - 1)); [ "$_n" -gt 0 ] || return 1
		sleep 0.1
	done
}

call=$top/examples/call.jsonl
if [ ! -s "$call" ]; then
	say "examples/call.jsonl is missing: making one with espeak-ng, sox and twilio-capture"
	sh "$top/examples/make-call.sh" "$tmp/call.jsonl" >/dev/null || die "unable to make a call capture"
	call=$tmp/call.jsonl
fi
sid=$(jq -r 'select(.event == "start") | .start.callSid' "$call" | head -n 1)
secs=$(jq -r 'select(.event == "media") | .media.timestamp' "$call" | sort -n | tail -n 1)
secs=$(((secs + 20 + 500) / 1000))

say "starting the Deepgram stand-in (tests/bin/dg-standin)."
say "  Its transcripts are SYNTHETIC: each 'word' is a hash of one second of one channel's"
say "  audio. Nothing here recognises speech; with DEEPGRAM_API_KEY and no DEEPGRAM_URL,"
say "  ./pipeline.sh sends the same audio to the real Deepgram."
dg-standin --key demo-key --port 0 --port-file "$tmp/standin.port" 2>"$tmp/standin.log" &
spid=$!
waitfor 10 test -s "$tmp/standin.port" || die "the stand-in did not start: $(tail -n 3 "$tmp/standin.log")"
sport=$(cat "$tmp/standin.port")

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
say "starting pipeline.sh on 127.0.0.1:$port (state in $tmp/state, log in $tmp/pipeline.log)"
PROXY_URL=127.0.0.1:$port DEEPGRAM_API_KEY=demo-key DEEPGRAM_URL=ws://127.0.0.1:$sport/v1/listen \
	CALLPIPE_DIR=$tmp/state CALLPIPE_BIN=$top/bin CALLPIPE_DRAIN_SECONDS=10 \
	sh "$top/pipeline.sh" 2>"$tmp/pipeline.log" &
ppid=$!
waitfor 15 curl -sf -o /dev/null "http://127.0.0.1:$port/health" ||
	die "pipeline.sh did not start: $(tail -n 3 "$tmp/pipeline.log")"
say "GET /health: $(curl -s "http://127.0.0.1:$port/health")"

say "replaying examples/call.jsonl (${secs} s, real time) into ws://127.0.0.1:$port/twilio"
twilio-replay "ws://127.0.0.1:$port/twilio" <"$call" 2>"$tmp/replay.log" &
rpid=$!
export CALLPIPE_DIR=$tmp/state
waitfor 10 sh -c "subscribe | grep -q '^$sid '" || die "the call did not start: $(tail -n 3 "$tmp/pipeline.log")"
say "subscribe (shell) lists the live call: $(subscribe)"
url="ws://127.0.0.1:$port/client?callsid=$sid&history=1"
say "subscribing over WebSocket: $url"
say "live messages (one line each: channel, seconds, kind, transcript):"
ws-client -c -t $((secs + 30)) "$url" 2>"$tmp/client.log" |
	jq --unbuffered -r '
		def who: if . == 0 then "caller" elif . == 1 then "callee" else "ch\(.)" end;
		def r: . * 100 | round / 100;
		def said: if . == "bbc0f58b6ba5" then . + " (a second of silence)" else . end;
		if .type == "calls" then "  [calls] \(.calls | map(.callSid) | join(" "))"
		elif .type == "Results" then
			"  \(.channel_index[0] | who) \(.start | r)-\(.start + .duration | r) s \(if .is_final then "final" else "interim" end): \(.channel.alternatives[0].transcript | said)"
		elif .type == "Metadata" then "  [Metadata] \(.duration | r) s of audio, \(.channels) channels"
		else "  [\(.type)]" end' 2>/dev/null ||
	sed -u 's/^/  /'
cpid=
wait "$rpid"
rc=$?
rpid=
say "twilio-replay exit $rc; the server closed the subscriber at the end of the call"
log=$(echo "$tmp/state/calls/$sid/streams/1."*/log.jsonl)
say "the call's transcript log holds $(wc -l <"$log") messages; its finals (examples/finals.jq):"
jq -r -f "$top/examples/finals.jq" "$log" | sed 's/^/  /'
say "stopping pipeline.sh (SIGTERM: drain, then stop websocketd)"
kill -TERM "$ppid"
wait "$ppid"
say "pipeline.sh exit $?"
ppid=
grep '^pipeline.sh:' "$tmp/pipeline.log" | sed 's/^/  /'
say "done. Run it for real: DEEPGRAM_API_KEY=... ./pipeline.sh (see README and pipeline.sh(8))"
