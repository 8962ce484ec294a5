#!/usr/bin/python3
"""gen-capture.py: write a synthetic Twilio Media Streams capture (JSON Lines) to stdout.

usage: gen-capture.py [-s seconds] [-t both|inbound|outbound] [-c chunk-ms] [--no-stop]

connected, start (CallSid CA + 32 hex), then one media message per track every
chunk-ms (inbound first), with string timestamp/chunk/sequenceNumber, then stop.
The audio is a deterministic pattern (every byte value appears), so outputs can be
compared by checksum. Used by the benchmark and the tests; fast enough for hours."""
import argparse
import base64
import json
import sys

p = argparse.ArgumentParser()
p.add_argument("-s", "--seconds", type=float, default=600)
p.add_argument("-t", "--tracks", default="both", choices=["both", "inbound", "outbound"])
p.add_argument("-c", "--chunk-ms", type=int, default=20)
p.add_argument("--no-stop", action="store_true")
a = p.parse_args()

tracks = ["inbound", "outbound"] if a.tracks == "both" else [a.tracks]
sid = "CA" + "0123456789abcdef" * 2
stream = "MZ" + "fedcba9876543210" * 2
acct = "AC" + "00112233445566778899aabbccddeeff"
out = sys.stdout
w = out.write
w(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}, separators=(",", ":")) + "\n")
w(json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": stream,
              "start": {"streamSid": stream, "accountSid": acct, "callSid": sid, "tracks": tracks,
                        "customParameters": {"bench": "1"},
                        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}},
             separators=(",", ":")) + "\n")
n = a.chunk_ms * 8
# a few distinct payloads per track, precomputed (speed); content depends on track and index
pay = {}
for ti, t in enumerate(tracks):
    pay[t] = [base64.b64encode(bytes(((i * 7 + k * 13 + ti * 101) & 0xFF) for i in range(n))).decode()
              for k in range(16)]
head = '{"event":"media","sequenceNumber":"%d","streamSid":"' + stream + '","media":{"track":"%s","chunk":"%d","timestamp":"%d","payload":"%s"}}\n'
seq = 2
chunks = int(a.seconds * 1000 / a.chunk_ms)
buf = []
for c in range(chunks):
    ts = c * a.chunk_ms
    for t in tracks:
        buf.append(head % (seq, t, c + 1, ts, pay[t][c & 15]))
        seq += 1
    if len(buf) >= 4096:
        w("".join(buf))
        buf = []
w("".join(buf))
if not a.no_stop:
    w(json.dumps({"event": "stop", "sequenceNumber": str(seq), "streamSid": stream,
                  "stop": {"accountSid": acct, "callSid": sid}}, separators=(",", ":")) + "\n")
