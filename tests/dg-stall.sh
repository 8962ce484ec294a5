# deepgram-stream never stops reading stdin while the network is stuck: the stand-in
# stops reading its socket for 6 s after 1 s of audio, while 60 s of audio arrive at
# 20x real time. The writer must finish (all input read) before the stand-in reads
# again; then all the audio still reaches Deepgram, in order.
# A full replay buffer: input that has run 10 s ahead of real time (an offline replay,
# e.g. a capture piped through twilio-mix) or -O waits for Deepgram and loses nothing;
# input at real time (a live call) or -L keeps being read and the oldest audio is dropped,
# counted; a regular file always waits.
. "$TOP/tests/lib.sh"
. "$TOP/tests/fixtures/dg-lib.sh"
mkraw 240 st.raw   # 60 s (16000 bytes a second)
cat > pacer <<'PY'
#!/usr/bin/python3
import sys, time
d = open(sys.argv[1], "rb").read()
for i in range(0, len(d), 16000):
    sys.stdout.buffer.write(d[i:i + 16000]); sys.stdout.buffer.flush(); time.sleep(0.05)
PY
chmod +x pacer

case_ "stalled server: input keeps being read"
standin --stall-after 1 --stall-for 6
{ ./pacer st.raw; echo '{"ev":"writer-done"}' >> log; } | deepgram-stream -e mulaw -r 8000 -c 2 > out.jsonl 2> err; echo "? $?"
jq -r 'select(.ev != "audio") | "\(.ev) \(.type // "")"' log
finals out.jsonl > got
expect_finals st.raw 2 1 8000 | cmp - got && echo finals match the input audio
sed -n 's/.*summary: //p' err

mkraw 160 st40.raw   # 40 s

case_ "a fast pipe, a 12 s replay buffer, the stand-in stalls 3 s: taken for offline, reading waits, nothing dropped"
standin --stall-after 1 --stall-for 3
cat st40.raw | deepgram-stream -e mulaw -r 8000 -c 2 -m 12000 > out.jsonl 2> err; echo "? $?"
grep -c 'info: input arrives faster than real time' err
grep -c 'replay buffer full' err
finals out.jsonl > got
expect_finals st40.raw 2 1 8000 | cmp - got && echo finals match the input audio
sed -n 's/.*summary: //p' err
cleanup

case_ "-O with a 1 s replay buffer (below the 10 s the guess needs): nothing dropped"
standin --stall-after 1 --stall-for 2
cat st40.raw | deepgram-stream -O -e mulaw -r 8000 -c 2 -m 1000 > out.jsonl 2> err; echo "? $?"
grep -c 'replay buffer full\|faster than real time' err
finals out.jsonl > got
expect_finals st40.raw 2 1 8000 | cmp - got && echo finals match the input audio
cleanup

case_ "-L on the same fast pipe: the oldest audio is dropped, counted"
standin --stall-after 1 --stall-for 3
cat st40.raw | deepgram-stream -L -e mulaw -r 8000 -c 2 -m 1000 > out.jsonl 2> err; echo "? $?"
grep -c 'warning: replay buffer full (1000 ms): dropping the oldest audio' err | sed 's/^[1-9][0-9]*$/warned/'
sed -n 's/.*summary: .*dropped audio \([0-9]*\) ms.*/\1/p' err | awk '{ print ($1 > 0) ? "dropped some audio" : "dropped nothing" }'
grep -c 'faster than real time' err
cleanup

case_ "a live-rate pipe (real time) with a 1 s buffer while the stand-in stalls 4 s: read on, oldest dropped, counted"
# 48 kHz stereo linear16 (192000 bytes a second), so that the 4 s stall outgrows the
# socket buffers; written at real time in 100 ms blocks on a fixed schedule
/usr/bin/python3 -c '
import sys
sys.stdout.buffer.write(bytes(((i * 7) ^ (i >> 9)) & 255 for i in range(192000 * 7)))' > live.raw
cat > live <<'PY'
#!/usr/bin/python3
import sys, time
d = open(sys.argv[1], "rb").read(); n = 19200; t0 = time.monotonic()
for k, i in enumerate(range(0, len(d), n)):
    w = t0 + k * 0.1 - time.monotonic()
    if w > 0:
        time.sleep(w)
    sys.stdout.buffer.write(d[i:i + n]); sys.stdout.buffer.flush()
PY
chmod +x live
standin --stall-after 1 --stall-for 4
./live live.raw | deepgram-stream -e linear16 -r 48000 -c 2 -m 1000 > out.jsonl 2> err; echo "? $?"
grep -c 'warning: replay buffer full (1000 ms): dropping the oldest audio' err | sed 's/^[1-9][0-9]*$/warned/'
sed -n 's/.*summary: .*dropped audio \([0-9]*\) ms.*/\1/p' err | awk '{ print ($1 > 0) ? "dropped some audio" : "dropped nothing" }'
grep -c 'faster than real time' err
cleanup

case_ "-L and -O together: usage error"
rc deepgram-stream -L -O < /dev/null 2>&1

case_ "a regular file with a 1 s buffer while the stand-in stalls 3 s: reading waits, nothing dropped"
standin --stall-after 1 --stall-for 3
deepgram-stream -e mulaw -r 8000 -c 2 -m 1000 < st40.raw > out.jsonl 2> err; echo "? $?"
grep -c 'replay buffer full' err
finals out.jsonl > got
expect_finals st40.raw 2 1 8000 | cmp - got && echo finals match the input audio
sed -n 's/.*summary: //p' err
cleanup
