# deepgram-stream: KeepAlive while the input pauses for 15 s (the stand-in closes with
# 1011 NET-0001 after 10 s without a frame): the connection survives, the stand-in logs
# KeepAlive text frames, and the audio after the pause still gets its finals.
# Also: a ping from the server in mid-stream is answered and the stream goes on; without
# KeepAlive the 1011 close makes it reconnect and nothing is lost.
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
mkraw 8 a.raw   # 2 s
mkraw 12 all.raw
tail -c +32001 all.raw > b.raw  # the 3rd second: all.raw = a.raw + b.raw

case_ "15 s input stall: KeepAlive keeps the connection"
standin --idle-timeout 10
{ cat a.raw; sleep 15; cat b.raw; } | deepgram-stream -e mulaw -r 8000 -c 2 > out.jsonl 2> err; echo "? $?"
jq -r 'select(.ev != "audio") | "\(.ev) \(.type // "") \(.code // "")"' log | uniq -c | sed 's/^ *[0-9]* \(control KeepAlive\)/N \1/'
n=$(jq -r 'select(.type=="KeepAlive")' log | grep -c KeepAlive)
[ "$n" -ge 3 ] && echo "at least 3 KeepAlives"
jq -r 'select(.ev=="bad")' log
finals out.jsonl > got
expect_finals all.raw 2 1 8000 | cmp - got && echo finals match the input audio
sed -n 's/.*summary: //p' err | sed 's/keepalives [0-9]*/keepalives N/'
cleanup

case_ "a ping in mid-stream is answered, the stream goes on"
standin --ping-after 1
deepgram-stream -e mulaw -r 8000 -c 2 < all.raw > out.jsonl 2> err; echo "? $?"
jq -r 'select(.ev=="ping" or .ev=="pong" or .ev=="bad" or .ev=="close") | "\(.ev) \(.code // "")"' log | sort
finals out.jsonl > got
expect_finals all.raw 2 1 8000 | cmp - got && echo finals match the input audio
cleanup

case_ "no KeepAlive (-k 60000): the stand-in closes 1011 NET-0001, deepgram-stream reconnects, nothing lost"
standin --idle-timeout 1
{ cat a.raw; sleep 2.5; cat b.raw; } | deepgram-stream -e mulaw -r 8000 -c 2 -k 60000 > out.jsonl 2> err; echo "? $?"
jq -r 'select(.ev == "close") | "\(.ev) \(.code) \(.by)"' log | sort -u
[ "$(grep -c '"ev":"connect"' log)" -ge 2 ] && echo reconnected
grep -c 'connection 1 lost after .*closed by Deepgram: 1011 .*net0001.*reconnecting in' err
finals out.jsonl > got
expect_finals all.raw 2 1 8000 | cmp - got && echo finals match the input audio
cleanup
