#!/bin/sh
# examples/make-call.sh: make examples/call.jsonl, a two-party call of synthetic speech.
# Run from the repository root after `make`:  sh examples/make-call.sh
# Needs espeak-ng and sox. The caller (inbound track) and the callee (outbound track)
# take turns; each track is silent while the other party speaks.
set -eu
out=${1:-examples/call.jsonl}
capture=${TWILIO_CAPTURE:-bin/twilio-capture}
[ -x "$capture" ] || { echo "make-call.sh: fatal: no $capture: run make first" >&2; exit 100; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/make-call.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# turn N VOICE TEXT: the speech of turn N as 8 kHz mu-law, and a silence as long
turn() {
	espeak-ng -v "$2" -s 175 -w "$tmp/t$1.wav" "$3"
	sox -D "$tmp/t$1.wav" -r 8000 -c 1 -e mu-law "$tmp/s$1.wav" pad 0 0.2
	sox -D "$tmp/s$1.wav" "$tmp/q$1.wav" vol 0
}
turn 1 en-us+m3 "Hi, a table for two tonight, please."
turn 2 en-gb+f3 "Of course. What time?"
turn 3 en-us+m3 "Eight, if you can."
turn 4 en-gb+f3 "Eight it is. See you then."

# caller speaks in turns 1 and 3, callee in turns 2 and 4
sox -D "$tmp/s1.wav" "$tmp/q2.wav" "$tmp/s3.wav" "$tmp/q4.wav" "$tmp/caller.wav"
sox -D "$tmp/q1.wav" "$tmp/s2.wav" "$tmp/q3.wav" "$tmp/s4.wav" "$tmp/callee.wav"
"$capture" -p caller=sam -p purpose=booking "$tmp/caller.wav" "$tmp/callee.wav" > "$out.tmp"
mv "$out.tmp" "$out"
echo "make-call.sh: info: wrote $out ($(wc -l < "$out") messages, $(soxi -d "$tmp/caller.wav") of audio)" >&2
