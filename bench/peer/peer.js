'use strict';
// bench/peer/peer.js: the benchmark's peer. The same job as callpipe, written
// the way a Node developer would write it: one process, the `ws` package. Not
// part of the product.
//
// usage: node peer.js -f port-file -u deepgram-url [-m frame-ms]
//   /twilio  Twilio Media Streams: parse the JSON, mix both tracks by
//            timestamp into frame-ms stereo mu-law frames (inbound = channel
//            0), stream them to Deepgram over WebSocket. A frame is sent as
//            soon as both tracks have it; a track more than 1 s behind the
//            other is filled with silence, as twilio-mix does.
//   /client  ?callsid=CA...: a first "calls" message, then every Deepgram
//            message of the call with a "callpipe" member added, then
//            {"type":"callpipe.end"}
//   /health  200 ok
// Listens on 127.0.0.1, port chosen by the system, written to port-file (temp
// + rename). DEEPGRAM_API_KEY goes in the Authorization header. Exits 0 on
// SIGTERM.
const fs = require('fs');
const http = require('http');
const { WebSocket, WebSocketServer } = require('ws');

const SILENCE = 0xff;
const LAG = 8000; // samples: one second
const WAIT_MS = 30000; // how long a subscriber waits for a call to start
const SLOW = 1 << 20; // a subscriber with this much unsent is dropped

function usage(msg) {
  process.stderr.write(`peer: ${msg}\nusage: node peer.js -f port-file ` +
      '-u deepgram-url [-m frame-ms]\n');
  process.exit(100);
}

function options(argv) {
  const o = { frameMs: 20 };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1];
    if (v === undefined)
      usage(`option ${argv[i]} needs a value`);
    if (argv[i] === '-f') o.portFile = v;
    else if (argv[i] === '-u') o.url = v;
    else if (argv[i] === '-m') o.frameMs = Number(v);
    else usage(`unknown option ${argv[i]}`);
  }
  if (!o.portFile || !o.url)
    usage('-f and -u are required');
  if (!Number.isInteger(o.frameMs) || o.frameMs < 1 || o.frameMs > 1000)
    usage('-m: frame-ms must be 1..1000');
  return o;
}

// Mixer: chunks placed by timestamp, a frame out once every track has it.
class Mixer {
  constructor(ntracks, frame, out) {
    this.frame = frame; // samples per channel
    this.out = out;
    this.done = 0; // samples per channel already sent
    this.pend = []; // per track: Buffer of samples from `done` on
    for (let t = 0; t < ntracks; t++)
      this.pend.push(Buffer.alloc(0));
  }

  add(t, ts, audio) {
    let p = this.pend[t];
    const at = ts * 8 - this.done; // where this chunk goes in p
    if (at + audio.length <= 0 || at - p.length > 60 * 8000)
      return; // late (that time was sent already), or a jump of over a minute
    if (at > p.length)
      p = Buffer.concat([p, Buffer.alloc(at - p.length, SILENCE)]);
    if (at < p.length) // overlap or late start: keep what is new
      audio = audio.subarray(Math.min(audio.length, p.length - at));
    this.pend[t] = Buffer.concat([p, audio]);
    this.flush(false);
  }

  flush(end) {
    const n = this.pend.length;
    let have = Math.min(...this.pend.map((b) => b.length));
    const most = Math.max(...this.pend.map((b) => b.length));
    if (end)
      have = most;
    else if (most - have > LAG)
      have = most - LAG;
    const frames = Math[end ? 'ceil' : 'floor'](have / this.frame);
    for (let f = 0; f < frames; f++) {
      const len = Math.min(this.frame, have - f * this.frame);
      const buf = Buffer.allocUnsafe(len * n);
      for (let t = 0; t < n; t++) {
        const src = this.pend[t];
        for (let i = 0, j = f * this.frame; i < len; i++, j++)
          buf[i * n + t] = j < src.length ? src[j] : SILENCE;
      }
      this.out(buf);
    }
    const used = end ? have : frames * this.frame;
    for (let t = 0; t < n; t++) {
      const b = this.pend[t];
      this.pend[t] = used >= b.length ? Buffer.alloc(0) : b.subarray(used);
    }
    this.done += used;
  }
}

class Peer {
  constructor(o) {
    this.o = o;
    this.calls = new Map(); // callSid -> call
    this.waiting = new Map(); // callSid -> Set of subscribers waiting for it
    this.ended = [];
  }

  start() {
    const wss = new WebSocketServer({ noServer: true });
    this.http = http.createServer((req, res) => {
      res.writeHead(req.url === '/health' ? 200 : 404);
      res.end(req.url === '/health' ? 'ok\n' : '');
    });
    this.http.on('upgrade', (req, sock, head) => {
      const u = new URL(req.url, 'http://peer');
      if (u.pathname !== '/twilio' && u.pathname !== '/client')
        return sock.destroy();
      wss.handleUpgrade(req, sock, head, (ws) => u.pathname === '/twilio' ?
          this.twilio(ws) : this.client(ws, u.searchParams.get('callsid')));
    });
    this.http.listen(0, '127.0.0.1', () => {
      const tmp = `${this.o.portFile}.tmp`;
      fs.writeFileSync(tmp, `${this.http.address().port}\n`);
      fs.renameSync(tmp, this.o.portFile);
    });
  }

  twilio(ws) {
    let call = null;
    ws.on('message', (data) => {
      let m;
      try {
        m = JSON.parse(data);
      } catch (e) {
        return; // a bad message is skipped
      }
      if (!m || typeof m !== 'object')
        return;
      if (m.event === 'media' && call)
        this.media(call, m.media);
      else if (m.event === 'start' && !call && m.start && m.start.callSid)
        call = this.callStart(m.start);
      else if (m.event === 'stop' && call)
        this.callStop(call);
    });
    ws.on('close', () => call && this.callStop(call));
    ws.on('error', () => {});
  }

  media(call, md) {
    const t = md ? call.tracks.indexOf(md.track) : -1;
    const ts = md ? Number(md.timestamp) : NaN;
    if (t < 0 || !Number.isInteger(ts) || ts < 0 ||
        typeof md.payload !== 'string')
      return; // a bad message is skipped
    call.mixer.add(t, ts, Buffer.from(md.payload, 'base64'));
  }

  callStart(st) {
    const ok = Array.isArray(st.tracks) && st.tracks.length >= 1 &&
        st.tracks.length <= 2;
    const tracks = ok ? st.tracks : ['inbound'];
    const call = {
      sid: st.callSid, tracks, subs: new Set(), queue: [], stopped: false,
      started: new Date().toISOString(), params: st.customParameters || {},
      note: JSON.stringify({ call_sid: st.callSid,
          stream_sid: st.streamSid, stream: 1, tracks, offset: 0 }),
    };
    const url = `${this.o.url}?encoding=mulaw&sample_rate=8000` +
        `&channels=${tracks.length}`;
    const auth = `Token ${process.env.DEEPGRAM_API_KEY}`;
    call.dg = new WebSocket(url, { headers: { Authorization: auth } });
    call.dg.on('open', () => {
      for (const f of call.queue)
        call.dg.send(f);
      call.queue = null;
      if (call.stopped)
        call.dg.send('{"type":"CloseStream"}');
    });
    call.dg.on('message', (data, binary) =>
        binary || this.fanout(call, data.toString()));
    call.dg.on('close', () => {
      call.queue = null; // frames after this are dropped, not kept
      this.callEnd(call);
    });
    call.dg.on('error', (e) =>
        process.stderr.write(`peer: warning: ${call.sid}: ${e.message}\n`));
    call.mixer = new Mixer(tracks.length, 8 * this.o.frameMs, (f) => {
      if (call.queue)
        call.queue.push(f);
      else if (call.dg.readyState === WebSocket.OPEN)
        call.dg.send(f);
    });
    this.calls.set(call.sid, call);
    const w = this.waiting.get(call.sid);
    if (w) {
      for (const s of w)
        this.attach(call, s);
      this.waiting.delete(call.sid);
    }
    return call;
  }

  callStop(call) {
    if (call.stopped)
      return;
    call.stopped = true;
    call.mixer.flush(true);
    if (call.dg.readyState === WebSocket.OPEN)
      call.dg.send('{"type":"CloseStream"}');
  }

  callEnd(call) {
    if (this.calls.get(call.sid) !== call)
      return;
    this.calls.delete(call.sid);
    this.ended.unshift({ callSid: call.sid, started: call.started, streams: 1,
        params: call.params, ended: new Date().toISOString() });
    this.ended.length = Math.min(this.ended.length, 50);
    for (const s of call.subs)
      this.end(s, 'call-ended');
  }

  fanout(call, text) {
    const i = text.lastIndexOf('}');
    if (i < 0)
      return;
    const msg = `${text.slice(0, i)},"callpipe":${call.note}}`;
    for (const s of call.subs) {
      if (s.bufferedAmount > SLOW) {
        call.subs.delete(s);
        this.end(s, 'too-slow');
      } else {
        s.send(msg);
      }
    }
  }

  client(ws, sid) {
    const live = [...this.calls.values()].map((c) => ({ callSid: c.sid,
        started: c.started, streams: 1, params: c.params }));
    ws.send(JSON.stringify({ type: 'calls', calls: live, ended: this.ended }));
    ws.on('error', () => {});
    if (!sid)
      return this.end(ws, 'bad-request');
    const call = this.calls.get(sid);
    if (call)
      return this.attach(call, ws);
    if (!this.waiting.has(sid))
      this.waiting.set(sid, new Set());
    this.waiting.get(sid).add(ws);
    const timer = setTimeout(() => {
      const w = this.waiting.get(sid);
      if (w && w.delete(ws)) {
        if (w.size === 0)
          this.waiting.delete(sid);
        this.end(ws, 'timeout');
      }
    }, WAIT_MS);
    ws.on('close', () => {
      clearTimeout(timer);
      const w = this.waiting.get(sid);
      if (w && w.delete(ws) && w.size === 0)
        this.waiting.delete(sid);
    });
  }

  attach(call, ws) {
    call.subs.add(ws);
    ws.on('close', () => call.subs.delete(ws));
  }

  end(ws, reason) {
    if (ws.readyState !== WebSocket.OPEN)
      return;
    ws.send(JSON.stringify({ type: 'callpipe.end', reason }));
    ws.close(1000);
  }
}

const peer = new Peer(options(process.argv.slice(2)));
process.on('SIGTERM', () => process.exit(0));
peer.start();
