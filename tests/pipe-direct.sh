# pipe-direct: the audio does not pass through transcribe (issue 14: a pipe hop and a
# wake-up per frame less). deepgram-stream -a keeps the count of audio bytes it has read
# in a shared page, exactly (WAV header excluded, raw and WAV); under transcribe,
# deepgram-stream's stdin is the stream's own pipe, before and after a restart, and the
# transcript is the same as deepgram-stream's alone.
. "$TOP/tests/lib.sh"
. "$TOP/tests/fixtures/dg-lib.sh"

mkraw 10 st.raw # 2.5 s of stereo 8 kHz mu-law
/usr/bin/python3 -c '
import struct, sys
m = 0xFFFFFFFF
sys.stdout.buffer.write(b"RIFF" + struct.pack("<I", m) + b"WAVEfmt " + struct.pack("<IHHIIHHH", 18, 7, 2, 8000, 16000, 2, 8, 0)
    + b"fact" + struct.pack("<II", 4, m) + b"data" + struct.pack("<I", m))' >st.wav
cat st.raw >>st.wav
echo "audio bytes: $(wc -c <st.raw)"

# counted FILE ARGS...: run deepgram-stream -a on FILE (through a pipe), print the count
counted() {
	/usr/bin/python3 - "$@" <<'PY'
import os, struct, subprocess, sys
fd = os.memfd_create("count")
os.ftruncate(fd, 8)
src = open(sys.argv[1], "rb").read()
p = subprocess.Popen(["deepgram-stream", "-a", str(fd)] + sys.argv[2:], stdin=subprocess.PIPE,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(fd,))
p.communicate(src, timeout=60)
print("exit %d, counted %d" % (p.returncode, struct.unpack("=Q", os.pread(fd, 8, 0))[0]))
PY
}

case_ "deepgram-stream -a: every audio byte counted, the header not"
standin
counted st.wav
counted st.raw -e mulaw -r 8000 -c 2
rc deepgram-stream -a 2 <st.wav 2>&1
rc deepgram-stream -a 9 <st.wav 2>&1 | sed 's/: Bad file descriptor/: EBADF/'

case_ "under transcribe, deepgram-stream reads the stream's pipe itself"
standin
# a slow writer, so that the stage is looked at while the call runs
export TWILIO_CALL_SID=CA0123456789abcdef0123456789abcdef TWILIO_STREAM_SID=MZ0123456789abcdef0123456789abcdef
export CALLPIPE_DIR=$WORK/state
mkdir -p state
mkfifo audio
transcribe <audio 2>tr.err &
TP=$!
exec 7>audio
head -c 58 st.wav >&7
# fdpipe PID: what its stdin is
fdpipe() { readlink "/proc/$1/fd/0"; }
dgof() { pgrep -P "$1" -x deepgram-stream; }
waitfor 10 dgof "$TP" >/dev/null || echo "no deepgram-stream"
D=$(dgof "$TP")
[ "$(fdpipe "$D")" = "$(fdpipe "$TP")" ] && echo "same pipe as transcribe's stdin" || echo "deepgram-stream reads $(fdpipe "$D"), transcribe $(fdpipe "$TP")"
tail -c +59 st.wav | head -c 16000 >&7
# both channels' finals of the first second: all of it was read and sent
nfinals() { [ "$(jq -r 'select(.type == "Results" and .is_final) | .start' state/calls/*/streams/*/log.jsonl | wc -l)" -ge 2 ]; }
waitfor 20 nfinals || echo "no finals before the kill"
kill -KILL "$D"
waitfor 10 sh -c "pgrep -P $TP -x deepgram-stream | grep -vx $D" >/dev/null || echo "not restarted"
D2=$(dgof "$TP")
[ "$(fdpipe "$D2")" = "$(fdpipe "$TP")" ] && echo "after the restart too" || echo "after the restart: $(fdpipe "$D2")"
tail -c +16059 st.wav >&7
exec 7>&-
waitfor 30 sh -c "! kill -0 $TP" || echo "transcribe did not end"
wait "$TP"
echo "transcribe exit $?"
grep -c 'restarting it' tr.err
log=$(ls state/calls/*/streams/*/log.jsonl)
# the second session's finals are on the stream's timeline: at or after 1 s (16000 bytes)
jq -r 'select(.type == "Results" and .is_final) | .start' "$log" | awk '$1 >= 1 { n++ } END { print (n >= 2 ? "finals after the restart: yes" : "finals after the restart: " n+0) }'
jq -r 'select(.type == "callpipe.gap") | "gap \(.start) to \(.end)"' "$log"
