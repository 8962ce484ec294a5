# deepgram-stream basics against dg-standin: key checks, usage, bad input, a refused key
# (exit 100 at once, status and dg-error shown, key never logged), WAV versus raw input,
# linear16 mono, the URL's own query parameters kept, one compact JSON line per message.
. "$TOP/tests/lib.sh"
. "$TOP/tests/fixtures/dg-lib.sh"

# deterministic audio: 3.5 s of stereo 8 kHz mu-law, and 2.25 s of mono 16 kHz linear16
# (the mu-law WAV is written as twilio-mix streams it: 58-byte header, lengths 0xFFFFFFFF)
/usr/bin/python3 -c '
import sys
sys.stdout.buffer.write(bytes(((i * 7) ^ (i >> 9)) & 255 for i in range(8000 * 2 * 7 // 2)))' > st.raw
/usr/bin/python3 -c '
import struct, sys
m = 0xFFFFFFFF
sys.stdout.buffer.write(b"RIFF" + struct.pack("<I", m) + b"WAVEfmt " + struct.pack("<IHHIIHHH", 18, 7, 2, 8000, 16000, 2, 8, 0)
    + b"fact" + struct.pack("<II", 4, m) + b"data" + struct.pack("<I", m))' > st.wav
cat st.raw >> st.wav
/usr/bin/python3 -c '
import sys
sys.stdout.buffer.write(bytes(((i * 13) ^ (i >> 7)) & 255 for i in range(16000 * 2 * 9 // 4)))' > mono.raw
sox -t raw -e signed -b 16 -r 16000 -c 1 mono.raw mono.wav

case_ "no key: exit 100, says how to set it"
DEEPGRAM_API_KEY= rc deepgram-stream < st.wav 2>&1
(unset DEEPGRAM_API_KEY; rc deepgram-stream < st.wav 2>&1) | grep -c 'set DEEPGRAM_API_KEY'

case_ "usage and bad options: exit 100"
rc deepgram-stream -e mulaw -r 8000 < st.wav 2>&1
rc deepgram-stream -e flac -r 8000 -c 1 < st.wav 2>&1
rc deepgram-stream -e mulaw -r 8000 -c 0 < st.wav 2>&1
rc deepgram-stream --frame-ms 0 < st.wav 2>&1
rc deepgram-stream -u http://example.com/ < st.wav 2>&1
rc deepgram-stream extra < st.wav 2>&1 | sed 's/ \[.*//'

case_ "input that is not a WAV, or empty: exit 100"
echo 'hello, this is not audio at all...........................' | rc deepgram-stream 2>&1
rc deepgram-stream < /dev/null 2>&1

case_ "a bad key: exit 100 at once with HTTP status, dg-error, dg-request-id; key not logged"
standin --key testkey
DEEPGRAM_API_KEY=wrong-key-1234 deepgram-stream < st.wav > out 2> err; echo "? $?"
norm < err
wc -c < out
grep -c wrong-key-1234 err
jq -r 'select(.ev=="refuse") | "refused \(.status)"' log
cleanup

case_ "a key with a newline is refused before any request"
DEEPGRAM_API_KEY='a
b' rc deepgram-stream < st.wav 2>&1

case_ "WAV and raw input give the same finals"
standin
deepgram-stream < st.wav > wav.jsonl 2> wav.err; echo "? $?"
deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > raw.jsonl 2> raw.err; echo "? $?"
grep -v summary wav.err
finals wav.jsonl > wav.finals
finals raw.jsonl > raw.finals
cat wav.finals
cmp wav.finals raw.finals && echo same finals
expect_finals st.raw 2 1 8000 | cmp - wav.finals && echo finals match the input audio
jq -c 'select(.ev=="connect") | .query' log
tail -n 1 wav.jsonl | jq -r '"last: \(.type) duration \(.duration) channels \(.channels)"'
# the summary line
sed -n 's/.*summary: //p' wav.err
# every line is one JSON object (compact: no line starts with a space)
jq -e -c 'type == "object"' wav.jsonl > /dev/null && echo all lines JSON objects
grep -c '^ ' wav.jsonl
cleanup

case_ "linear16 mono; the URL's own parameters are kept, missing ones added"
standin
deepgram-stream -u "$DEEPGRAM_URL?model=nova-3&language=en&interim_results=true&sample_rate=16000" < mono.wav > mono.jsonl 2>/dev/null; echo "? $?"
jq -c 'select(.ev=="connect") | .query' log
finals mono.jsonl > mono.finals
cat mono.finals
expect_finals mono.raw 1 2 16000 | cmp - mono.finals && echo finals match the input audio
jq -r 'select(.type=="Results" and (.is_final|not)) | "interim \(.start) \(.duration)"' mono.jsonl | head -n 3
cleanup

case_ "DEEPGRAM_URL with an explicit encoding wins over the audio's"
standin
DEEPGRAM_URL="$DEEPGRAM_URL?encoding=alaw" deepgram-stream < st.wav > /dev/null 2>&1; echo "? $?"
jq -c 'select(.ev=="connect") | .query' log
cleanup
