# deepgram-stream: refused handshakes. 429 three times then success; 503 retried; 400 (bad
# parameter) exits 100 at once; nothing listening or endless 503 gives up after
# --retry-for with exit 111.
. "$TOP/tests/lib.sh"
export DEEPGRAM_API_KEY=testkey
SPID=

cleanup() { [ -n "$SPID" ] && killpids $SPID; SPID=; }
trap cleanup EXIT
standin() { # options...: start a stand-in, set DEEPGRAM_URL
	rm -f port log
	dg-standin --port-file port --log log "$@" 2>>standin.err &
	SPID=$!
	waitfor 10 test -s port || { echo "stand-in did not start"; exit 1; }
	DEEPGRAM_URL="ws://127.0.0.1:$(cat port)/v1/listen"
	export DEEPGRAM_URL
}
finals() { # file: channel, start ms, duration ms, transcript of every final, sorted
	jq -r 'select(.type=="Results" and .is_final) | [.channel_index[0], (.start*1000|round), (.duration*1000|round), .channel.alternatives[0].transcript] | @tsv' "$1" | sort -n -k1,1 -k2,2
}
expect_finals() { # raw-file channels bytes-per-sample rate: the finals the stand-in must send
	/usr/bin/python3 -c '
import hashlib, sys
d = open(sys.argv[1], "rb").read(); n, b, r = (int(x) for x in sys.argv[2:5])
fb = n * b; d = d[:len(d) - len(d) % fb]
for c in range(n):
    ch = b"".join(d[i + c * b:i + c * b + b] for i in range(0, len(d), fb))
    for s in range(0, len(ch), r * b):
        w = ch[s:s + r * b]
        print("%d\t%d\t%d\t%s" % (c, s // b * 1000 // r, round(len(w) / b * 1000 / r), hashlib.sha256(w).hexdigest()[:12]))
' "$@"
}
mkraw() { # seconds*4 file: deterministic stereo 8 kHz mu-law bytes
	/usr/bin/python3 -c '
import sys
sys.stdout.buffer.write(bytes(((i * 7) ^ (i >> 9)) & 255 for i in range(4000 * int(sys.argv[1]))))' "$1" > "$2"
}
norm() { sed -e 's/127\.0\.0\.1:[0-9]*/HOST/g' -e 's/dg-request-id: [0-9a-f-]*/dg-request-id: ID/g' -e 's/in [0-9.]* s/in T s/g'; }
mkraw 10 st.raw   # 2.5 s (16000 bytes a second)

case_ "429 three times, then success"
standin --refuse 3:429
deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > out.jsonl 2> err; echo "? $?"
grep -v summary err | norm
jq -r 'select(.ev=="refuse" or .ev=="connect") | "\(.ev) \(.status // "")"' log
finals out.jsonl > got
expect_finals st.raw 2 1 8000 | cmp - got && echo finals match the input audio
cleanup

case_ "503 once, then success"
standin --refuse 1:503
deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > out.jsonl 2> err; echo "? $?"
grep -c 'HTTP 503' err
finals out.jsonl | wc -l
cleanup

case_ "400 (bad parameter): exit 100 at once"
standin
deepgram-stream -e mulaw -r 8000 -c 2 -u "$DEEPGRAM_URL?channels=two" < st.raw > out.jsonl 2> err; echo "? $?"
norm < err
jq -r 'select(.ev=="refuse") | "refused \(.status)"' log
cleanup

case_ "503 for ever: give up after --retry-for, exit 111"
standin --refuse 1000:503
deepgram-stream -e mulaw -r 8000 -c 2 -T 2 < st.raw > out.jsonl 2> err; echo "? $?"
grep -c 'retrying in' err | sed 's/^[1-9][0-9]*$/some retries/'
tail -n 2 err | norm
cleanup

case_ "nothing listening: give up after --retry-for, exit 111"
port=$(freeport)
deepgram-stream -e mulaw -r 8000 -c 2 -T 1 -u "ws://127.0.0.1:$port/v1/listen" < st.raw > out.jsonl 2> err; echo "? $?"
grep 'giving up' err | norm | sed -e 's/after [0-9]* ms/after N ms/' -e 's/port [0-9]*/port N/'
wc -c < out.jsonl
