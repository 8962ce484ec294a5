# deepgram-stream: end of input. CloseStream, then finals that arrive late (the stand-in
# delays every Results by 1.5 s) are still printed, then Metadata, then the close frame is
# answered and the exit is 0. A server that never finishes: --close-timeout, exit 1.
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
mkraw 14 st.raw   # 3.5 s (16000 bytes a second)

case_ "late finals after CloseStream are printed, then Metadata, exit 0"
standin --delay-ms 1500
deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > out.jsonl 2> err; echo "? $?"
jq -r 'select(.ev != "audio") | "\(.ev) \(.type // "") \(.code // "") \(.by // "")"' log
jq -r '.type' out.jsonl | uniq -c
finals out.jsonl > got
expect_finals st.raw 2 1 8000 | cmp - got && echo finals match the input audio
cleanup

case_ "a server that never finishes: give up after --close-timeout, exit 1"
standin --stall-after 1 --stall-for 30
deepgram-stream -e mulaw -r 8000 -c 2 -t 2 < st.raw > out.jsonl 2> err; echo "? $?"
grep -v 'info: summary' err
cleanup
