# twilio-say offline: audio (a WAV, raw mu-law, or text through espeak-ng) in, Twilio
# media/mark/clear JSON lines out; the payloads decode to exactly the expected 8 kHz
# mu-law bytes, in 160-byte chunks; the mark comes last, after all the audio; -c clears.
. "$TOP/tests/lib.sh"
export TWILIO_STREAM_SID=MZ0123456789abcdef0123456789abcdef
# payloads FILE: the decoded payloads of FILE's media lines, concatenated
payloads() { jq -r 'select(.event == "media") | .media.payload' "$1" | /usr/bin/python3 -c '
import base64, sys
sys.stdout.buffer.write(b"".join(base64.b64decode(l.strip(), validate=True) for l in sys.stdin))'; }
# shape FILE: each line reduced to its event and keys, runs counted
shape() { jq -c '[.event, .streamSid == env.TWILIO_STREAM_SID, (keys | join(",")),
	(.media // .mark // {} | keys | join(","))]' "$1" | uniq -c | sed 's/^ *//'; }
# chunks FILE: the sizes of the media payloads, runs counted
chunks() { jq -r 'select(.event == "media") | .media.payload | length' "$1" | uniq -c | sed 's/^ *//'; }
# every byte value twice (0x7F, mu-law's negative zero, is written as 0xFF, silence)
/usr/bin/python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 2 + b"\x01\x02\x03")' > all.raw
tr '\177' '\377' < all.raw > want.raw
sox -t raw -e mu-law -b 8 -r 8000 -c 1 all.raw mu.wav

case_ "an 8 kHz mu-law WAV: every byte through, 160 a message, then the mark"
twilio-say -l 0 -m greeting < mu.wav > out.jsonl 2> err; echo "? $?"
shape out.jsonl
chunks out.jsonl
payloads out.jsonl > got.raw
cmp got.raw want.raw && echo "payloads: exactly the input's mu-law bytes"
tail -n 1 out.jsonl
cat err

case_ "raw mu-law (-r): the bytes as they are, 0x7F included"
twilio-say -r -s MZ1 -m raw < all.raw > raw.jsonl 2> /dev/null; echo "? $?"
payloads raw.jsonl | cmp - all.raw && echo "payloads: exactly stdin"
jq -r .streamSid raw.jsonl | sort -u

case_ "16-bit PCM at 8 kHz: G.711 mu-law of every sample"
/usr/bin/python3 -c '
import math, struct, sys
sys.stdout.buffer.write(b"".join(struct.pack("<h", int(12000 * math.sin(i * 0.07))) for i in range(4000)))' > pcm.raw
sox -t raw -e signed -b 16 -r 8000 -c 1 pcm.raw pcm.wav
twilio-say < pcm.wav > pcm.jsonl 2> /dev/null
payloads pcm.jsonl > pcm.ulaw
# decoded back, each sample within one mu-law step of the original (an independent decoder)
/usr/bin/python3 -c '
import struct, sys
def dec(u):
    u = ~u & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return (0x84 - t) if u & 0x80 else (t - 0x84)
pcm = struct.unpack("<4000h", open("pcm.raw", "rb").read())
ul = open("pcm.ulaw", "rb").read()
bad = [i for i in range(len(pcm)) if abs(dec(ul[i]) - pcm[i]) > max(8, abs(pcm[i]) // 16)]
print("samples %d, off by more than one step: %d" % (len(ul), len(bad)))'

case_ "16 kHz stereo: resampled to 8 kHz mono, 0.5 s = 4000 bytes"
sox -n -r 16000 -c 2 -b 16 st.wav synth 0.5 sine 440
twilio-say -m st < st.wav > st.jsonl 2> /dev/null
echo "bytes: $(payloads st.jsonl | wc -c)"
shape st.jsonl

case_ "text through espeak-ng: media, then the mark"
twilio-say -t "Hello, thanks for calling." -m hi > tts.jsonl 2> /dev/null; echo "? $?"
shape tts.jsonl | sed -E 's/^[0-9]+ (\["media")/N \1/'
n=$(payloads tts.jsonl | wc -c); [ "$n" -gt 4000 ] && echo "more than half a second of speech"
echo "default mark name: $(twilio-say -r < all.raw 2> /dev/null | tail -n 1 | jq -r .mark.name | sed -E 's/^say-[0-9]+$/say-PID/')"

case_ "-c: a clear alone (stdin not read), or before new speech"
echo "not read" | twilio-say -c; echo "? $?"
twilio-say -c -m next -t "Sorry." 2> /dev/null | shape /dev/stdin | sed -E 's/^[0-9]+ (\["media")/N \1/'

case_ "a TTS command of your own (-T, TWILIO_SAY_TTS): its WAV on stdout"
TWILIO_SAY_TTS='cat > /dev/null; sox -n -t wav -r 8000 -c 1 - synth 0.25 sine 300' twilio-say -t x 2> /dev/null |
	shape /dev/stdin
twilio-say -T 'cat > /dev/null; cat mu.wav' -t x 2> /dev/null > own.jsonl
payloads own.jsonl | cmp - want.raw && echo "payloads: exactly the command's audio"
