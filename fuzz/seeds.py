#!/usr/bin/python3
# fuzz/seeds.py: writes the seed corpora for the harnesses whose inputs are lines
# (fuzz/corpus/{twilio_mix,dgmsg,fanout}/). Deterministic; run from the repo root.
# The WAV and base64 seeds are small hand-made files committed as they are.
import base64, json, os

def put(h, name, opt, lines, nl_end=True):
    d = 'fuzz/corpus/' + h
    os.makedirs(d, exist_ok=True)
    body = '\n'.join(lines).encode() if isinstance(lines[0], str) else b'\n'.join(lines)
    if nl_end:
        body += b'\n'
    open(os.path.join(d, name), 'wb').write(bytes([opt]) + body)

SID = 'CA0123456789abcdef0123456789abcdef'
def start(tracks, params=None, **kw):
    s = {"accountSid": "AC0123456789abcdef0123456789abcdef", "streamSid": "MZ0123456789abcdef0123456789abcdef",
         "callSid": SID, "tracks": tracks,
         "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
         "customParameters": params if params is not None else {"caller": "sam"}}
    s.update(kw)
    return json.dumps({"event": "start", "sequenceNumber": "1", "start": s, "streamSid": s["streamSid"]}, separators=(',', ':'))
def media(track, ts, payload=None, n=160, seq=2):
    if payload is None:
        payload = base64.b64encode(bytes((i * 7) & 0xff for i in range(n))).decode()
    return json.dumps({"event": "media", "sequenceNumber": str(seq), "media": {"track": track, "chunk": "1",
        "timestamp": ts if isinstance(ts, str) else str(ts), "payload": payload}, "streamSid": "MZ0"}, separators=(',', ':'))
STOP = '{"event":"stop","sequenceNumber":"9","stop":{"callSid":"%s"},"streamSid":"MZ0"}' % SID
CONN = '{"event":"connected","protocol":"Call","version":"1.0.0"}'
DEFAULTS = 1 + 3 * 2 + 12 * 2 + 48 * 2   # frame 20 ms, gap 60 s, lag 1 s, hold 30 s

# ---- twilio_mix ----
call = [l.rstrip('\n') for l in open('examples/call.jsonl')][:14] + [STOP]
put('twilio_mix', 'capture-head-defaults', DEFAULTS, call)
put('twilio_mix', 'capture-head-tight', 0, call)
put('twilio_mix', 'both-jitter-late', DEFAULTS, [CONN, start(["inbound", "outbound"]),
    media("inbound", 0), media("outbound", 0), media("inbound", 20), media("inbound", 40),
    media("outbound", 60), media("outbound", 20), media("inbound", 41, n=80), media("outbound", 3000),
    media("inbound", 100000), '{"event":"mark","mark":{"name":"m"}}', STOP, media("inbound", 200)])
put('twilio_mix', 'inbound-only-gaps', 1 + 3 * 1 + 12 * 1 + 48 * 1, [start(["inbound"]),
    media("inbound", 0), media("inbound", 4294967296), media("inbound", 4294967296 + 20, n=1),
    media("outbound", 20), media("inbound", 1000000000000000), STOP])
put('twilio_mix', 'outbound-only-odd-chunks', 2, [start(["outbound"]),
    media("outbound", 0, n=1), media("outbound", 0, n=3), media("outbound", 7, n=320), media("outbound", 5, n=0)])
put('twilio_mix', 'hostile-lines', DEFAULTS, [
    media("inbound", 0), '{"event":"start"', start([]), start("inbound"), start([1, 2]),
    start(["inbound", "inbound"]), start(["sideways"]), start(["inbound"], params={"a": 1, "b": None, "c": "x"}),
    start(["inbound", "outbound"]),
    media("inbound", -1), media("inbound", "18446744073709551616"), media("inbound", "4294967296"),
    media("inbound", "1e3"), media("inbound", " 20"), media("inbound", 20, payload="Zg="),
    media("inbound", 20, payload="Zm9v\\nYmFy"), media("inbound", 20, payload="Zm9 v"),
    media("inbound", 20, payload="////"), '{"event":"media","media":{"track":"inbound","timestamp":"20","payload":"//8=","track":"outbound"}}',
    '{"event":"media","media":{"track":"inbound","timestamp":20,"payload":"//8="}}',
    '{"event":"media","media":{"track":"inbound","timestamp":"20","payload":null}}',
    '{"event":"media","media":[]}', '{"event":"media"}', '[]', '"media"', '1e999', 'null', '',
    '   ', '{"event":"dtmf","dtmf":{"track":"inbound_track","digit":"1"}}',
    '{"event":"media","media":{"track":"inbound","timestamp":"20","payload":"//8="}}  trailing',
    '\xff\xfe{"event":"stop"}', '{"event":"st\xc3\x28op"}', '[' * 200 + ']' * 200, '{"a":' * 50 + '1' + '}' * 50,
    start(["inbound"]), STOP, STOP])
# ---- dgmsg ----
def results(ch, tot, start, dur, final, words, speech_final=False):
    ws = [{"word": w, "start": s, "end": e, "confidence": 0.9, "punctuated_word": w.capitalize()} for (w, s, e) in words]
    return json.dumps({"type": "Results", "channel_index": [ch, tot], "start": start, "duration": dur,
        "is_final": final, "speech_final": speech_final, "channel": {"alternatives": [{"transcript":
        " ".join(w for (w, _, _) in words), "confidence": 0.9, "words": ws}]}, "metadata": {"request_id": "r"}},
        separators=(',', ':'))
dg = [results(0, 2, 0.0, 1.5, False, [("hello", 0.1, 0.5)]),
      results(0, 2, 0.0, 1.5, True, [("hello", 0.1, 0.5), ("there", 0.6, 1.2)]),
      results(1, 2, 0.5, 1.0, True, [("hi", 0.6, 0.9)], True),
      results(0, 2, 1.0, 1.5, True, [("there", 0.6, 1.2), ("friend", 1.3, 2.4)]),
      results(0, 2, 0.0, 1.5, True, [("hello", 0.1, 0.5), ("there", 0.6, 1.2)]),
      results(0, 2, 0.2, 0.5, False, [("he", 0.2, 0.4)]),
      '{"type":"UtteranceEnd","channel":[0,2],"last_word_end":2.4}',
      '{"type":"SpeechStarted","channel":[1,2],"timestamp":3.25}',
      '{"type":"Metadata","transaction_key":"deprecated","request_id":"r","sha256":"x","created":"2025-01-01T00:00:00.000Z","duration":63.2,"channels":2}']
put('dgmsg', 'session-stereo', 1 + (2 << 2), dg)
put('dgmsg', 'session-noshift', 0, dg)
put('dgmsg', 'hostile', 3 + (7 << 2), [
    '{"type":"Error","err_code":"X","err_msg":"bad"}', '{"type":"Results"}', '{"type":"Results","channel_index":"x"}',
    '{"type":"Results","channel_index":[99,100],"start":1,"duration":1,"is_final":true,"channel":{"alternatives":[]}}',
    '{"type":"Results","channel_index":[-1,2],"start":-5,"duration":1e9,"is_final":true}',
    '{"type":"Results","channel_index":[1e30,2],"start":1e12,"duration":1e11,"is_final":true}',
    '{"type":"Results","channel_index":[0,4294967296],"start":"1","duration":null,"is_final":"yes"}',
    '{"type":"Results","channel_index":[0],"start":0,"duration":0,"is_final":true,"channel":{"alternatives":[{"transcript":"a","words":[{"word":1,"start":"x"},{},[],{"word":"b","start":0,"end":1e400}]}]}}',
    '{"type":"UtteranceEnd","channel":[0,2],"last_word_end":"x"}', '{"type":"SpeechStarted","channel":5,"timestamp":-1}',
    '{"type":"Results","type":"Metadata"}', '{"type":1}', '[]', 'null', '', '{"type":"Results"', '\x00', '\xff\xfe',
    '{"a":' * 100 + '1' + '}' * 100, '[' * 2000 + ']' * 2000,
    '{"type":"Results","channel_index":[0,1],"start":0,"duration":1,"is_final":true,"channel":{"alternatives":[{"transcript":"a\\nb","words":[]}]}}'])
# ---- fanout ----
put('fanout', 'json-lines', 4, [l for l in dg] + ['', '{"x":1}\r', 'no newline at end'], nl_end=False)
put('fanout', 'tiny-max', 1, ['a', '', 'bb', 'ccccccccccc', 'd', '\x00\x00', 'e' * 300])
put('fanout', 'long-line', 3, ['short', 'x' * 5000, 'after', 'y' * 64, 'z' * 65])
