# standin: the local Deepgram stand-in (tests/bin/dg-standin), checked with ws-probe,
# an independent small WebSocket client. Result hashes are recomputed here from the
# audio that was sent.
. "$TOP/tests/lib.sh"

# start [OPTIONS]: run the stand-in on a port of its own choosing; sets SPID, URL
start() {
	rm -f port log
	dg-standin --port 0 --port-file port --log log --idle-timeout 1 "$@" 2>>standin.err &
	SPID=$!
	if ! waitfor 10 test -s port; then echo "stand-in did not start"; kill "$SPID"; exit 1; fi
	URL="ws://127.0.0.1:$(cat port)/v1/listen"
}
# stop [SIGNAL]: stop the stand-in and show its exit status
stop() {
	kill -"${1:-TERM}" "$SPID"; wait "$SPID"; echo "stand-in exit $?"
}
norm() {
	sed -E 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/UUID/g
		s/"created":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z"/"created":"TIME"/'
}
# summ: one short line per received message
summ() {
	jq -r 'def ch: map(tostring) | join("/");
	if .probe then "probe \(.probe) \(del(.probe) | tojson)"
	elif .type == "Results" then
		"\(if .is_final then "F" else "I" end) \(.channel_index | ch) \(.start) \(.duration) sf=\(.speech_final) ff=\(.from_finalize) \(.channel.alternatives[0].transcript)"
	elif .type == "Metadata" then "M channels=\(.channels) duration=\(.duration) sha256=\(.sha256[0:16])"
	elif .type == "SpeechStarted" then "SS \(.channel | ch) \(.timestamp)"
	elif .type == "UtteranceEnd" then "UE \(.channel | ch) \(.last_word_end)"
	else tojson end' | norm
}
# events: the stand-in's log without per-frame audio lines
events() { jq -c 'select(.ev != "audio")' log; }
# check AUDIO BYTES_PER_SAMPLE CHANNELS RATE < summary: recompute every result's hash
# from the audio file (the channel's own samples over [start, start+duration)), and
# check that the finals of each channel tile [0, end of audio] without gap or overlap.
check() { /usr/bin/python3 check.py "$@"; }
cat >check.py <<'EOF'
import hashlib, sys
path, bps, n, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
audio = open(path, "rb").read()
frame = bps * n
nsamp = len(audio) // frame
def chan(c, a, b):  # samples a..b-1 of channel c, picked frame by frame
    return b"".join(audio[i * frame + c * bps:i * frame + c * bps + bps] for i in range(a, b))
checked = bad = 0
finals = {}
for line in sys.stdin:
    w = line.split()
    if not w or w[0] not in ("F", "I"):
        continue
    c, tot = map(int, w[1].split("/"))
    a = round(float(w[2]) * rate); b = a + round(float(w[3]) * rate)
    checked += 1
    if tot != n or hashlib.sha256(chan(c, a, b)).hexdigest()[:12] != w[6]:
        bad += 1; print("MISMATCH", line.strip())
    if w[0] == "F":
        finals.setdefault(c, []).append((a, b))
print("results checked: %d, mismatches: %d" % (checked, bad))
for c in range(n):
    spans = finals.get(c, [])
    pos, ok = 0, True
    for a, b in spans:
        ok = ok and a == pos
        pos = b
    print("channel %d: %d finals, tiling 0..%g: %s" % (c, len(spans), nsamp / rate,
          "yes" if ok and pos == nsamp else "NO"))
EOF
# gen BYTES > file: deterministic pseudo-random bytes
gen() {
	/usr/bin/python3 -c 'import hashlib, sys
n = int(sys.argv[1]); out = bytearray(); i = 0
while len(out) < n:
    out += hashlib.sha256(b"%d" % i).digest(); i += 1
sys.stdout.buffer.write(out[:n])' "$1"
}
gen 40000 >st.raw      # 2.5 s of 8 kHz stereo mu-law
gen 240000 >l16.raw    # 2.5 s of 16 kHz 3-channel linear16
gen 12000 >mono.raw    # 1.5 s of 8 kHz mono mu-law
Q="encoding=mulaw&sample_rate=8000"

case_ "--help lists the options and the default key and token"
dg-standin --help | grep -E -c -- '--(port|port-file|key|token|log|idle-timeout|refuse|drop-after|stall-after|stall-for|ping-after|delay-ms|realtime) '
dg-standin --help | grep -o 'default testkey\|default testtoken'

case_ usage errors exit 100
rc dg-standin --bogus 2>/dev/null
rc dg-standin --refuse 2:abc 2>/dev/null
rc dg-standin --idle-timeout -1 2>/dev/null

start
case_ handshake: missing, bad and non-Token keys get 401 with dg-error
rc ws-probe "$URL?$Q" </dev/null | norm
rc ws-probe -k wrongkey "$URL?$Q" </dev/null | norm
rc ws-probe -H 'Authorization: Bearer testkey' "$URL?$Q" </dev/null | norm
rc ws-probe -H 'Authorization: token testkey' "$URL?$Q" </dev/null | norm

case_ handshake: invalid encoding, sample_rate, channels get 400
for q in "encoding=opus&sample_rate=8000" "encoding=mulaw" \
    "encoding=mulaw&sample_rate=abc" "encoding=mulaw&sample_rate=999" \
    "encoding=mulaw&sample_rate=192001" "$Q&channels=0" "$Q&channels=21" "$Q&channels=x" \
    "$Q&encoding=mulaw" "$Q&multichannel=yes"; do
	echo "query $q"
	ws-probe -k testkey "$URL?$q" </dev/null | jq -r '"\(.status) \(.["dg-error"])"'
done

case_ finals per channel, then CloseStream: remaining finals, Metadata, close 1000
ws-probe -k testkey "$URL?$Q&channels=2&multichannel=true&model=nova-3&foo=bar" >out <<'EOF'
audio st.raw 320
expect 4 5
text {"type":"CloseStream"}
wait-close 5
EOF
echo "? $?"
summ <out
summ <out | check st.raw 1 2 8000
echo "Metadata sha256 is that of all audio: $(jq -r 'select(.type == "Metadata") | .sha256' out | grep -cx "$(sha256sum st.raw | cut -d' ' -f1)")"
echo "request ids agree with dg-request-id: $(jq -r '.["dg-request-id"] // .metadata.request_id // .request_id // empty' out | sort -u | wc -l)"
echo "binary messages received (all must be text): $(grep -c '"probe":"binary"' out)"
echo "shape of a final and of Metadata:"
sed -n '2p;8p' out | norm
events | norm

case_ linear16, 3 channels, frames that end mid-sample
ws-probe -k testkey "$URL?encoding=linear16&sample_rate=16000&channels=3&multichannel=true" >out <<'EOF'
audio l16.raw 1001
text {"type":"CloseStream"}
wait-close 5
EOF
echo "? $?"
summ <out
summ <out | check l16.raw 2 3 16000

case_ interim_results, vad_events and utterance_end_ms
ws-probe -k testkey "$URL?$Q&interim_results=true&vad_events=true&utterance_end_ms=1000" >out <<'EOF'
audio mono.raw 160
expect 7 5
text {"type":"CloseStream"}
wait-close 5
EOF
echo "? $?"
summ <out
summ <out | check mono.raw 1 1 8000

case_ no interims, SpeechStarted or UtteranceEnd unless asked for
ws-probe -k testkey "$URL?$Q&utterance_end_ms=1000" >out <<'EOF'
audio mono.raw 160
text {"type":"CloseStream"}
wait-close 5
EOF
summ <out

case_ "no encoding: a WAV header gives the format; raw audio without one gets 1008 DATA-0000"
sox -t raw -e mu-law -b 8 -r 8000 -c 1 mono.raw mono.wav
ws-probe -k testkey "$URL" >out <<'EOF'
audio mono.wav 160
text {"type":"CloseStream"}
wait-close 5
EOF
summ <out
tail -c +59 mono.wav >monow.raw  # the data chunk (sox's 58-byte header)
summ <out | check monow.raw 1 1 8000
ws-probe -k testkey "$URL" >out <<'EOF'
audio mono.raw 160
wait-close 5
EOF
summ <out

case_ "silence and speech: empty finals for silence, SpeechStarted at the onset, speech_final at the endpoint, one UtteranceEnd"
# 1 s of silence (0xFF), 1.5 s of "speech" (noise), 2 s of silence; 8 kHz mono mu-law
{ head -c 8000 /dev/zero | tr '\0' '\377'; cat mono.raw; head -c 16000 /dev/zero | tr '\0' '\377'; } >sp.raw
ws-probe -k testkey "$URL?$Q&interim_results=true&vad_events=true&utterance_end_ms=1000&punctuate=true" >out <<'EOF'
audio sp.raw 160
text {"type":"CloseStream"}
wait-close 5
EOF
summ <out | grep -v '^I'
echo "interims: $(summ <out | grep -c '^I')"
jq -c 'select(.type == "Results" and .is_final) | .channel.alternatives[0] | [.transcript, (.words | map([.start, .end, has("punctuated_word")]))]' out
echo "without punctuate or smart_format, no punctuated_word:"
ws-probe -k testkey "$URL?$Q" >out <<'EOF'
audio mono.raw 160
text {"type":"CloseStream"}
wait-close 5
EOF
jq -c 'select(.type == "Results") | .channel.alternatives[0].words[0] | keys' out | sort -u
echo "endpointing=false: never speech_final"
ws-probe -k testkey "$URL?$Q&endpointing=false" >out <<'EOF'
audio sp.raw 160
text {"type":"CloseStream"}
wait-close 5
EOF
jq -r 'select(.type == "Results") | .speech_final' out | sort | uniq -c | sed 's/^ *//'

case_ "Bearer: the access token (--token, default testtoken) is accepted, a wrong one is not"
ws-probe -H 'Authorization: Bearer testtoken' "$URL?$Q" </dev/null | norm
ws-probe -H 'Authorization: Bearer expired' "$URL?$Q" </dev/null | norm

case_ Finalize: the open window becomes a final with from_finalize, the next starts after it
head -c 24000 st.raw >a.raw; tail -c +24001 st.raw >b.raw
ws-probe -k testkey "$URL?$Q&channels=2&multichannel=true" >out <<'EOF'
audio a.raw 320
text {"type":"Finalize"}
expect 4 5
audio b.raw 320
text {"type":"CloseStream"}
wait-close 5
EOF
summ <out
summ <out | check st.raw 1 2 8000

case_ client close frame is answered
ws-probe -k testkey "$URL?$Q" >out <<'EOF'
audio mono.raw 160
expect 1 5
close 1000
EOF
summ <out
events | tail -n 1
stop

case_ idle: silence gets 1011 NET-0001, KeepAlive keeps the connection open
start --idle-timeout 1
ws-probe -k testkey "$URL?$Q" >out <<'EOF'
wait-close 5
EOF
summ <out
ws-probe -k testkey "$URL?$Q" >out <<'EOF'
audio mono.raw 160
wait-close 5
EOF
summ <out
ws-probe -k testkey "$URL?$Q" >out <<'EOF'
text {"type":"KeepAlive"}
sleep 0.5
text {"type":"KeepAlive"}
sleep 0.5
text {"type":"KeepAlive"}
sleep 0.5
text {"type":"KeepAlive"}
sleep 0.5
text {"type":"KeepAlive"}
sleep 0.5
text {"type":"CloseStream"}
wait-close 5
EOF
summ <out
echo "client pings are answered but do not count as data:"
ws-probe -k testkey "$URL?$Q" >out <<'EOF'
sleep 0.3
ping
sleep 0.3
ping
sleep 1
ping
text {"type":"CloseStream"}
wait-close 5
EOF
summ <out
events | norm
stop

case_ bad frames: zero-length binary closes 1008, others are logged and skipped
start
ws-probe -k testkey "$URL?$Q" >out <<'EOF'
binary-text {"type":"KeepAlive"}
text not json
text {"type":"Hello"}
binary 0102
text {"type":"CloseStream"}
wait-close 5
EOF
summ <out
ws-probe -k testkey "$URL?$Q" >out <<'EOF'
binary
wait-close 5
EOF
summ <out
events | norm

case_ SIGINT ends it cleanly too
stop INT

case_ refuse 2:429, then accept
start --refuse 2:429
for i in 1 2 3; do ws-probe -k testkey "$URL?$Q" </dev/null | norm; done
events | norm
stop
start --refuse 1:503
ws-probe -k testkey "$URL?$Q" </dev/null | norm
stop

case_ drop-after 0.5,1: abrupt drops without a close frame, later connections stay
start --drop-after 0.5,1
for i in 1 2 3; do
	ws-probe -k testkey "$URL?$Q&channels=2" >out <<'EOF'
audio st.raw 320
text {"type":"CloseStream"}
wait-close 5
EOF
	summ <out
done
events | norm
for c in 1 2; do
	echo "conn $c last audio total $(jq "select(.ev == \"audio\" and .conn == $c) | .total" log | tail -n 1)"
done
stop

case_ ping-after 0.5: one ping mid-stream, answered with a pong
start --ping-after 0.5
ws-probe -k testkey "$URL?$Q&channels=2" >out <<'EOF'
audio st.raw 320
sleep 0.5
text {"type":"CloseStream"}
wait-close 5
EOF
summ <out | grep -v '^F'
events | norm | grep -E '"ev":"(ping|pong)"'
stop

case_ delay-ms: Results arrive late, still before Metadata
start --delay-ms 1000
ws-probe -k testkey "$URL?$Q" >out <<'EOF'
audio mono.raw 160
drain 0.3
text {"type":"CloseStream"}
wait-close 5
EOF
summ <out
stop

case_ realtime: a 2.5 s backlog is read no faster than 1.25x real time, nothing lost
start --realtime --idle-timeout 1
t0=$(date +%s%N)
ws-probe -k testkey "$URL?$Q&channels=2" >out <<'EOF'
audio st.raw 320
text {"type":"CloseStream"}
wait-close 10
EOF
echo "took at least 1.9 s: $([ $(( $(date +%s%N) - t0 )) -ge 1900000000 ] && echo yes)"
summ <out
stop

case_ stall-after 1: the stand-in stops reading, the sender is held back, nothing is lost
gen 24000000 >big.raw  # 62.5 s of 192 kHz mono linear16
start --stall-after 1 --stall-for 2.5 --idle-timeout 5
ws-probe -k testkey "$URL?encoding=linear16&sample_rate=192000" >out <<'EOF'
flood big.raw 16000
text {"type":"CloseStream"}
wait-close 20
EOF
summ <out | grep -v '^F'
echo "finals: $(grep -c '"is_final":true' out)"
echo "Metadata sha256 is that of all audio: $(jq -r 'select(.type == "Metadata") | .sha256' out | grep -cx "$(sha256sum big.raw | cut -d' ' -f1)")"
events | norm
stalled=$(jq -c 'if .ev == "stall" then "S" elif .ev == "audio" then .total else empty end' log | grep -B1 -x '"S"' | head -n 1)
echo "bytes read before the stall: less than the file: $([ "$stalled" -lt 24000000 ] && echo yes)"

case_ SIGTERM with a connection open: it is closed with 1001, exit 0
ws-probe -k testkey "$URL?$Q" >out <<'EOF' &
text {"type":"KeepAlive"}
wait-close 5
EOF
PPID2=$!
waitfor 5 grep -q '"conn":2,"type":"KeepAlive"' log
stop
wait "$PPID2"
summ <out
