# deepgram-stream: dropped connections lose nothing. Real speech (espeak-ng, a different
# text per channel, 8 kHz mu-law stereo WAV made with sox) is streamed twice to
# dg-standin: once without failures, once with the connection dropped abruptly twice in
# mid-stream (--drop-after 3,4). The finals must cover every second of every channel
# exactly once, with the same hashes and timestamps as the run without drops, and match
# hashes computed here from the WAV's own bytes. Interim results, SpeechStarted and
# UtteranceEnd are on too: events are shifted to input time and never doubled.
. "$TOP/tests/lib.sh"
DG_QUERY="interim_results=true&vad_events=true&utterance_end_ms=1000"
. "$TOP/tests/fixtures/dg-lib.sh"

espeak-ng -w a.wav "Thank you for calling the northern regional office. My name is Alex and I will be helping you today. Could you please tell me your account number, and the reason for your call, so that I can find the right person for you? While I look that up, you may hear a short pause on the line."
espeak-ng -v en-us -w b.wav "Hi, yes, I am calling about a delivery that was supposed to arrive last Tuesday. The tracking page says it left the warehouse, but nothing has shown up at my door, and nobody answers at the depot. I have called three times already and I would really like to know where my parcel is."
# stereo: channel 0 = a, channel 1 = b; 8 kHz mu-law; exactly 13.5 s
sox -M a.wav b.wav -r 8000 -e mu-law -b 8 speech.wav trim 0 13.5 2>/dev/null
soxi -c speech.wav
soxi -D speech.wav

case_ "without drops"
standin
deepgram-stream < speech.wav > clean.jsonl 2> clean.err; echo "? $?"
sed -n 's/.*summary: //p' clean.err
cleanup

case_ "dropped twice (after 3 s and after 4 s of audio on a connection)"
standin --drop-after 3,4
# -p 1000: catch up at 10x real time instead of 1.25x, to keep the test short
deepgram-stream -p 1000 < speech.wav > drops.jsonl 2> drops.err; echo "? $?"
jq -r 'select(.ev=="connect" or .ev=="drop" or .ev=="control" or .ev=="close") | "\(.ev) \(.conn) \(.type // "")"' log
sed -n 's/.*summary: //p' drops.err | sed -e 's/replayed [0-9]* ms/replayed N ms/' -e 's/messages [0-9]*/messages N/'
grep -c 'warning: connection [12] lost after .*reconnecting in .*replaying from' drops.err
cleanup

case_ "what the two runs delivered"
/usr/bin/python3 - clean.jsonl drops.jsonl speech.wav <<'EOF'
import hashlib, json, sys

def load(p):
    return [json.loads(l) for l in open(p)]

def finals(msgs):
    return [(m["channel_index"][0], round(m["start"] * 1000), round(m["duration"] * 1000),
             m["channel"]["alternatives"][0]["transcript"])
            for m in msgs if m["type"] == "Results" and m.get("is_final")]

def events(msgs, typ, key):
    return sorted((m["channel"][0], round(m[key] * 1000)) for m in msgs if m["type"] == typ)

clean, drops = load(sys.argv[1]), load(sys.argv[2])
w = open(sys.argv[3], "rb").read()
i = w.index(b"data") + 8
audio = w[i:]
n = 2
expect = []
for c in range(n):
    ch = audio[c::n]
    for s in range(0, len(ch), 8000):
        win = ch[s:s + 8000]
        expect.append((c, s // 8, round(len(win) / 8), hashlib.sha256(win).hexdigest()[:12]))
for name, msgs in (("clean", clean), ("drops", drops)):
    f = finals(msgs)
    for c in range(n):
        fc = [x for x in f if x[0] == c]
        starts = [x[1] for x in fc]
        cover = all(fc[k][1] + fc[k][2] == fc[k + 1][1] for k in range(len(fc) - 1))
        print("%s channel %d: %d finals, starts %d..%d ms, contiguous %s, each once %s" % (
            name, c, len(fc), min(starts), max(starts), cover, len(set(starts)) == len(starts)))
    print("%s finals match the audio's hashes: %s" % (name, sorted(f) == sorted(expect)))
    print("%s last message: %s" % (name, msgs[-1]["type"]))
    # no interim for audio whose final was already delivered
    last = {}
    bad = 0
    for m in msgs:
        if m["type"] != "Results":
            continue
        c = m["channel_index"][0]
        end = m["start"] + m["duration"]
        if m.get("is_final"):
            last[c] = end
        elif end <= last.get(c, 0) + 1e-6:
            bad += 1
    print("%s interims for finished audio: %d" % (name, bad))
print("finals identical (channel, start, duration, hash):", sorted(finals(clean)) == sorted(finals(drops)))
print("finals in the same order:", finals(clean) == finals(drops))
for typ, key in (("UtteranceEnd", "last_word_end"), ("SpeechStarted", "timestamp")):
    a, b = events(clean, typ, key), events(drops, typ, key)
    # (an event the dropped connection may or may not have sent before dying is not sent
    # again: events are never doubled, but one at a replay point may be missing)
    print("%s: no duplicates %s, all at the same times as without drops %s" % (
        typ, len(set(b)) == len(b), set(b) <= set(a)))
EOF

case_ "three drops (after 2, 3 and 4 s of audio on a connection), interim results on: every channel-second finalized exactly once"
standin --drop-after 2,3,4
deepgram-stream -p 1000 < speech.wav > drops3.jsonl 2> drops3.err; echo "? $?"
jq -r 'select(.ev=="connect" or .ev=="drop") | "\(.ev) \(.conn)"' log
jq -c 'select(.ev=="connect") | .query | {interim_results, utterance_end_ms, vad_events}' log | sort -u
grep -c 'warning: connection [123] lost after .*reconnecting in .*replaying from' drops3.err
/usr/bin/python3 - clean.jsonl drops3.jsonl <<'EOF'
import json, sys
def finals(p):
    return [(m["channel_index"][0], round(m["start"] * 1000), round(m["duration"] * 1000),
             m["channel"]["alternatives"][0]["transcript"])
            for m in map(json.loads, open(p)) if m["type"] == "Results" and m.get("is_final")]
clean, drops = finals(sys.argv[1]), finals(sys.argv[2])
for c in range(2):
    sec = [0] * 14
    for ch, s, d, t in drops:
        if ch == c:
            for k in range(s // 1000, (s + d + 999) // 1000):
                sec[k] += 1
    print("channel %d: seconds finalized once %d of 14, twice or more %d, never %d" % (
        c, sum(x == 1 for x in sec), sum(x > 1 for x in sec), sum(x == 0 for x in sec)))
print("finals identical to the run without drops:", sorted(clean) == sorted(drops))
print("interim results received:", sum(1 for m in map(json.loads, open(sys.argv[2]))
      if m["type"] == "Results" and not m.get("is_final")) > 0)
EOF
cleanup
