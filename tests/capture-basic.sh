# twilio-capture: message format, track layout, exact bytes, inputs sox reads, errors.
. "$TOP/tests/lib.sh"
FIX=$TOP/tests/fixtures/capture
# mkwav OUT [streaming|trailer] < raw: a mu-law 8 kHz mono WAV made by hand (sox would
# re-encode the negative zero 0x7F as 0xFF)
mkwav() {
	/usr/bin/python3 -c '
import struct, sys
d = sys.stdin.buffer.read(); mode = sys.argv[2] if len(sys.argv) > 2 else ""
tail = b"LIST\x04\x00\x00\x00abcd" if mode == "trailer" else b""
dl = 0xFFFFFFFF if mode == "streaming" else len(d)
fmt = struct.pack("<HHIIHHH", 7, 1, 8000, 8000, 1, 8, 0)
body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", dl) + d + tail
rl = 0xFFFFFFFF if mode == "streaming" else len(body)
open(sys.argv[1], "wb").write(b"RIFF" + struct.pack("<I", rl) + body)' "$@"
}
mk() { /usr/bin/python3 -c "import sys; sys.stdout.buffer.write(bytes(($2 + i * $3) % 256 for i in range($1)))"; }
# one line per message: event seq [track chunk timestamp payload-bytes]
summary() {
	jq -r 'if .event == "media" then
	    [.event, .sequenceNumber, .media.track, .media.chunk, .media.timestamp,
	     ((.media.payload | length) / 4 * 3 - (.media.payload | if endswith("==") then 2 elif endswith("=") then 1 else 0 end))]
	  else [.event, (.sequenceNumber // "-")] end | map(tostring) | join(" ")'
}

case_ "exact output: one raw track of 400 bytes (160 + 160 + 80)"
mk 400 0 1 > in.raw
rc twilio-capture -r in.raw 2>&1

case_ "two tracks interleave by time, inbound first; start names both"
mk 400 7 3 > out.raw
twilio-capture -r in.raw out.raw > two.jsonl; echo "? $?"
summary < two.jsonl
jq -c '.start.tracks // empty' two.jsonl

case_ "payloads are the input bytes"
"$FIX/track-bytes" inbound < two.jsonl | cmp - in.raw && echo inbound same
"$FIX/track-bytes" outbound < two.jsonl | cmp - out.raw && echo outbound same

case_ "a WAV that is already 8 kHz mono mu-law is read byte for byte (0x7F stays 0x7F)"
mkwav in.wav < in.raw
mkwav out.wav < out.raw
twilio-capture in.wav out.wav > wav.jsonl; echo "? $?"
cmp wav.jsonl two.jsonl && echo same capture as from raw
case_ "its data length is honoured (a trailing chunk is not audio); a streaming length reads to the end"
mkwav trailer.wav trailer < in.raw
mkwav streaming.wav streaming < in.raw
twilio-capture trailer.wav streaming.wav > tr.jsonl; echo "? $?"
"$FIX/track-bytes" inbound < tr.jsonl | cmp - in.raw && echo trailer: same bytes
"$FIX/track-bytes" outbound < tr.jsonl | cmp - in.raw && echo streaming: same bytes
case_ "other WAVs go through sox: 16-bit PCM of the same audio differs only where 0x7F became 0xFF"
sox -t wav in.wav -e signed -b 16 in16.wav
twilio-capture in16.wav | "$FIX/track-bytes" inbound | cmp -l - in.raw

case_ "any rate, format and channel count sox reads: 0.5 s of 16 kHz 16-bit stereo, 44.1 kHz float"
sox -D -n -r 16000 -b 16 -c 2 st16.wav synth 0.5 sine 300 sine 500
sox -D -n -r 44100 -e floating-point -b 32 -c 1 fl.wav synth 0.25 sine 300
twilio-capture -u st16.wav fl.wav > any.jsonl; echo "? $?"
summary < any.jsonl | awk '$1 == "media" { n[$3]++; b[$3] += $6 } END { for (t in n) print t, n[t], "chunks", b[t], "bytes" }' | sort
"$FIX/track-bytes" inbound < any.jsonl > any.in
od -An -tx1 -N4 any.in | tr -d ' '
"$FIX/track-bytes" outbound < any.jsonl | wc -c | tr -d ' '

case_ "a FIFO is handed to sox as its stdin and read once"
mkfifo fifo
timeout 10 sh -c 'cat st16.wav > fifo' &
twilio-capture -u fifo fl.wav > fifo.jsonl; echo "? $?"
wait
cmp fifo.jsonl any.jsonl && echo same capture as from the file

case_ "an empty track still gives a valid capture"
: > empty.raw
twilio-capture -r -u empty.raw in.raw | summary

case_ "the shorter track is padded with silence (0xFF) to the longer one's end, as on a real stream"
twilio-capture -r empty.raw in.raw | summary
mk 240 5 1 > short.raw
twilio-capture -r short.raw in.raw > pad.jsonl; echo "? $?"
summary < pad.jsonl | awk '$1 == "media" { print $3, $5, $6 }' | paste -sd' '
"$FIX/track-bytes" inbound < pad.jsonl > pad.in
head -c 240 pad.in | cmp - short.raw && echo "inbound: its own bytes first"
tail -c +241 pad.in | od -An -tx1 -v | tr -s ' ' '\n' | grep . | sort | uniq -c | sed 's/^ *//'
"$FIX/track-bytes" outbound < pad.jsonl | cmp - in.raw && echo "outbound unchanged"
echo "-u: no padding:"
twilio-capture -r -u short.raw in.raw | summary | awk '$1 == "media" { print $3, $5, $6 }' | paste -sd' '

case_ "mixing your own capture: no 'track behind' warning (3 s inbound, 0.5 s outbound)"
sox -D -n -r 8000 -c 1 -e mu-law long.wav synth 3 sine 300
sox -D -n -r 8000 -c 1 -e mu-law half.wav synth 0.5 sine 500
twilio-capture long.wav half.wav | twilio-mix 2>mix.err > mix.wav; echo "? $?"
grep -c 'behind' mix.err
echo "with -u (a track ending early) the mixer warns:"
twilio-capture -u long.wav half.wav | twilio-mix 2>&1 >/dev/null | grep -c 'outbound track more than 1000 ms behind'

case_ "SIDs and custom parameters; start, media and stop agree"
twilio-capture -r -c CA0000000000000000000000000000abcd -m MZ0000000000000000000000000000abcd \
    -a AC0000000000000000000000000000abcd -p tenant=acme -p 'quote="x" y' -p tenant=later in.raw > sid.jsonl
echo "? $?"
sed -n 2p sid.jsonl
tail -n 1 sid.jsonl
jq -r 'select(.event == "media") | .streamSid' sid.jsonl | sort -u

case_ "a SID of the wrong shape is warned about, and written as given"
twilio-capture -r -c 'CA12"3' in.raw 2>&1 >bad.jsonl; echo "? $?"
jq -r '.start.callSid // empty' bad.jsonl

case_ "default SIDs are valid: AC, CA, MZ plus 32 hex digits"
jq -r '.start | select(.) | .accountSid, .callSid, .streamSid' two.jsonl | grep -cE '^(AC|CA|MZ)[0-9a-f]{32}$'

case_ "-n: no stop message"
twilio-capture -n -r in.raw | summary | tail -n 1

case_ "errors: missing file, not audio, directory, no sox, unreadable raw"
rc twilio-capture nosuch.wav 2>&1
rc twilio-capture in.wav nosuch.wav 2>&1
echo 'not a wav' > bad.wav
rc twilio-capture bad.wav 2>&1
mkdir dir
rc twilio-capture dir 2>&1
rc twilio-capture -r dir 2>&1
(PATH=/nonexistent; rc "$BIN/twilio-capture" in.wav 2>&1)
echo "bad files write nothing:"; twilio-capture in.wav bad.wav 2>/dev/null | wc -c | tr -d ' '
case_ "a file name is data, never a sox option or command"
cp in.wav ./-n; cp in.wav './|touch pwned'
twilio-capture -- -n '|touch pwned' | summary | tail -n 1
ls pwned 2>/dev/null || echo no pwned

case_ "usage errors"
rc twilio-capture 2>&1
rc twilio-capture a b c 2>&1
rc twilio-capture -l 100 in.wav 2>&1
rc twilio-capture -z 0 in.wav 2>&1
rc twilio-capture -z 300-200 in.wav 2>&1
rc twilio-capture -z 8001 in.wav 2>&1
rc twilio-capture -d 101 in.wav 2>&1
rc twilio-capture -j -1 in.wav 2>&1
rc twilio-capture -p =x in.wav 2>&1
rc twilio-capture -p noequals in.wav 2>&1
rc twilio-capture -s x in.wav 2>&1
rc twilio-capture -q in.wav 2>&1
rc twilio-capture -s 2>&1
rc twilio-capture -D 1x in.wav 2>&1

case_ "--help: the usage of the man page's SYNOPSIS, on stdout, exit 0"
twilio-capture --help > help; echo "? $?"
syn=$(mandoc -T ascii "$TOP/man/twilio-capture.1" | col -b | sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' |
	sed '1d;$d' | tr -s ' \t\n' '   ' | sed 's/^ *//; s/ *$//')
[ "$(cat help)" = "usage: $syn" ] && echo "same as SYNOPSIS" || { cat help; echo "$syn"; }
