// callpipe viewer: the calls list and one call's transcript, from /client.
// Protocol (man subscribe, "THE /client PROTOCOL"): the first message lists the calls
// ({"type":"calls","calls":[…],"ended":[…]}); with ?callsid=CA…&history=1 the call so far
// follows, then every live message, each Deepgram's own object plus a "callpipe" member
// (stream_sid, stream, tracks, offset), and last {"type":"callpipe.end","reason":R}.
// A close without that end message is a drop: reconnect with backoff, replay the
// history and skip what is already shown.
"use strict";

const POLL_MS = 1500;          // the calls list is fetched again this often
const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];
const KEEP_ENDED = 50;
const SID_RE = /^CA[0-9a-fA-F]{32}$/;

const $ = (id) => document.getElementById(id);
// the token: ?token= in the page's address, or #token= (a fragment never leaves the
// browser, so it stays out of the page's own request; /client still gets ?token=)
const QTOKEN = new URLSearchParams(location.search).get("token") || "";
const HTOKEN = new URLSearchParams(location.hash.slice(1)).get("token") || "";
const S = {
	token: QTOKEN || HTOKEN,
	calls: new Map(),    // CallSid -> {callSid, started, ended, streams, params, guessed}
	items: new Map(),    // CallSid -> <li>
	stopPolling: false,
	listed: false,       // a calls list has come: "No live calls." means something
	f: null,             // the followed call (see follow())
	stick: true,         // the transcript follows the bottom
	autoTop: 0,
};

// words for every callpipe.end reason; "again" = reconnect with backoff
const REASONS = {
	"call-ended": { text: "The call has ended." },
	"too-slow": { text: "The server dropped this page for falling behind.", again: true },
	"server-stopping": { text: "The server is restarting.", again: true },
	"busy": { text: "The server has too many subscribers right now.", again: true },
	"unknown-call": { text: "No such call: the CallSid is unknown, or the call is too old to be kept." },
	"unauthorized": { text: "Access refused: the token is missing or wrong. Open this page with ?token=… or #token=… at the end of its address." },
	"bad-request": { text: "The server refused the request as malformed." },
	"timeout": { text: "The server stopped waiting for this page (timeout)." },
	"transcription-failed": { text: "Transcription failed for this call; the transcript stops here." },
};

// today's /client sends {"type":"error"} instead of callpipe.end: map its texts
function errorReason(text) {
	if (/^call has ended/.test(text)) return "call-ended";
	if (/^unauthorized/.test(text)) return "unauthorized";
	if (/^unknown CallSid/.test(text)) return "unknown-call";
	if (/^malformed|^query string/.test(text)) return "bad-request";
	return "";
}

function clientURL(sid) {
	const u = new URL("/client", location.href);
	u.protocol = location.protocol === "https:" ? "wss:" : "ws:";
	if (sid) {
		u.searchParams.set("callsid", sid);
		u.searchParams.set("history", "1");
	}
	if (S.token) u.searchParams.set("token", S.token);
	return u.href;
}

function pageURL(sid) {
	const p = new URLSearchParams();
	if (sid) p.set("callsid", sid);
	if (QTOKEN) p.set("token", QTOKEN);
	const q = p.toString();
	return location.pathname + (q ? "?" + q : "") +
		(HTOKEN && !QTOKEN ? "#token=" + encodeURIComponent(HTOKEN) : "");
}

function parse(text) {
	try { return JSON.parse(text); } catch (e) { return null; }
}

function el(tag, cls, text) {
	const e = document.createElement(tag);
	if (cls) e.className = cls;
	if (text !== undefined) e.textContent = text;
	return e;
}

function setStatus(text) { $("status").textContent = text; }

// --- times -----------------------------------------------------------------------

function clock(iso) {
	const d = new Date(iso);
	if (isNaN(d)) return "?";
	const two = (n) => String(n).padStart(2, "0");
	return two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
}

// seconds -> m:ss or h:mm:ss (mm:ss with a leading zero for transcript lines)
function span(s, pad) {
	s = Math.max(0, Math.floor(s));
	const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, x = s % 60;
	const two = (n) => String(n).padStart(2, "0");
	if (h) return h + ":" + two(m) + ":" + two(x);
	return (pad ? two(m) : String(m)) + ":" + two(x);
}

function duration(c) {
	const a = Date.parse(c.started), b = c.ended ? Date.parse(c.ended) : Date.now();
	if (isNaN(a) || isNaN(b)) return "?";
	return span((b - a) / 1000, false);
}

// --- the calls list ------------------------------------------------------------------

function paramText(params) {
	return Object.keys(params || {}).map((k) => k + "=" + params[k]).join(" · ");
}

// a calls message: live and ended entries; a call that vanished from the live list of
// a server that sends no ended list is kept as ended here ("guessed")
function updateCalls(m) {
	const seen = new Set();
	S.listed = true;
	for (const c of m.calls || []) {
		if (!c || !SID_RE.test(c.callSid)) continue;
		seen.add(c.callSid);
		S.calls.set(c.callSid, { callSid: c.callSid, started: c.started, streams: c.streams,
			params: c.params || {}, ended: null });
	}
	for (const c of m.ended || []) {
		if (!c || !SID_RE.test(c.callSid) || seen.has(c.callSid)) continue;
		seen.add(c.callSid);
		S.calls.set(c.callSid, { callSid: c.callSid, started: c.started, streams: c.streams,
			params: c.params || {}, ended: c.ended || c.started });
	}
	for (const c of S.calls.values()) {
		if (seen.has(c.callSid)) continue;
		if (!c.ended) { c.ended = new Date().toISOString(); c.guessed = true; }
	}
	const ended = [...S.calls.values()].filter((c) => c.ended)
		.sort((a, b) => Date.parse(b.ended) - Date.parse(a.ended));
	for (const c of ended.slice(KEEP_ENDED)) S.calls.delete(c.callSid);
	renderCalls();
	if (S.f) callInfo(S.f);
	// a link opened before its call started, or a call that got a new stream after its
	// end (Twilio may start one): follow it again, skipping what is shown
	const f = S.f, c = f && S.calls.get(f.sid);
	if (!f || f.ws || !c || c.ended || !seen.has(f.sid)) return;
	if (f.endReason === "unknown-call" ||
	    (f.endReason === "call-ended" && (c.streams || 0) > (f.endStreams || 0)))
		connect(f);
}

function itemFor(c) {
	let li = S.items.get(c.callSid);
	if (!li) {
		li = el("li");
		const a = el("a", "call");
		a.href = pageURL(c.callSid);
		a.append(el("span", "sid"), el("span", "meta"), el("span", "params"));
		a.addEventListener("click", (ev) => {
			if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button) return;
			ev.preventDefault();
			if (S.f && S.f.sid === c.callSid && !S.f.endReason) return; // already live here
			follow(c.callSid, true);
		});
		li.append(a);
		S.items.set(c.callSid, li);
	}
	const a = li.firstChild;
	const streams = c.streams ? c.streams + (c.streams === 1 ? " stream" : " streams") : "";
	const meta = [ "started " + clock(c.started), (c.ended ? "lasted " : "for ") + duration(c) ];
	if (streams) meta.push(streams);
	set(a.children[0], c.callSid);
	set(a.children[1], meta.join(" · "));
	set(a.children[2], paramText(c.params));
	if (S.f && S.f.sid === c.callSid) a.setAttribute("aria-current", "true");
	else a.removeAttribute("aria-current");
	return li;
}

function set(e, text) { if (e.textContent !== text) e.textContent = text; }

function matches(c, q) {
	if (!q) return true;
	return (c.callSid + " " + paramText(c.params)).toLowerCase().includes(q);
}

// keyed update: entries are moved only when their place changes, and the focused one
// gets its focus back if a move took it
function renderCalls() {
	const q = $("filter").value.trim().toLowerCase();
	const focused = document.activeElement && document.activeElement.closest &&
		document.activeElement.closest(".calllist li");
	const all = [...S.calls.values()];
	const live = all.filter((c) => !c.ended).sort((a, b) => Date.parse(b.started) - Date.parse(a.started));
	const ended = all.filter((c) => c.ended).sort((a, b) => Date.parse(b.ended) - Date.parse(a.ended));
	place($("live"), live, q, $("live-none"), "No live calls");
	place($("ended"), ended, q, $("ended-none"), "No ended calls");
	for (const [sid, li] of S.items) {
		if (!S.calls.has(sid)) { li.remove(); S.items.delete(sid); }
	}
	if (focused && document.activeElement !== focused.firstChild && focused.isConnected)
		focused.firstChild.focus();
}

function place(ul, list, q, none, word) {
	let shown = 0;
	list.forEach((c, i) => {
		const li = itemFor(c);
		if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
		li.hidden = !matches(c, q);
		if (!li.hidden) shown++;
	});
	none.hidden = shown > 0;
	none.textContent = !S.listed ? "Not known yet." :
		word + (list.length && q ? " match the filter." : ".");
}

// The list comes from a short /client connection: its first message, then we close.
function poll() {
	if (S.stopPolling) return;
	const ws = new WebSocket(clientURL(""));
	let got = false;
	const limit = setTimeout(() => { if (ws.readyState === WebSocket.OPEN) ws.close(); }, 10000);
	ws.onmessage = (ev) => {
		if (got) return;
		got = true;
		clearTimeout(limit);
		ws.close();
		listMessage(parse(ev.data));
	};
	ws.onclose = () => {
		clearTimeout(limit);
		if (!got) setStatus("Cannot reach the server's /client endpoint; trying again.");
		if (!S.stopPolling) setTimeout(poll, got ? POLL_MS : 3 * POLL_MS);
	};
}

function listMessage(m) {
	if (!m) { setStatus("The server sent something that is not JSON."); return; }
	let reason = "";
	if (m.type === "calls") { setStatus(""); updateCalls(m); return; }
	if (m.type === "callpipe.end") reason = m.reason;
	else if (m.type === "error") reason = errorReason(m.error || "");
	const r = REASONS[reason];
	setStatus(r ? r.text : "The server refused the calls list: " + (m.error || m.reason || m.type));
	if (reason === "unauthorized") S.stopPolling = true; // the token will not change
}

// --- one call's transcript -------------------------------------------------------------

// follow(sid): a fresh transcript of the call; push: record it in the history
function follow(sid, push) {
	unfollow();
	if (push) history.pushState({ sid }, "", pageURL(sid));
	const f = {
		sid, ws: null, timer: 0, attempt: 0, done: false, endReason: "",
		lines: [],        // what is shown: {t, speaker, track, text, stream_sid, channel}
		keys: new Set(),  // finals and utterance ends already shown (resume without repeats)
		chanEnd: new Map(), interim: new Map(), last: new Map(),
	};
	S.f = f;
	$("log").textContent = "";
	delete $("log").dataset.end;
	$("call-h").textContent = "Transcript of ";
	$("call-h").append(el("span", "sid", sid));
	S.stick = true;
	S.autoTop = 0;
	$("jump").hidden = true;
	callInfo(f);
	renderCalls();
	buttons();
	connect(f);
	if (push && window.matchMedia("(max-width: 59.99em)").matches)
		$("call").scrollIntoView({ block: "start" });
}

function unfollow() {
	const f = S.f;
	if (!f) return;
	f.done = true;
	clearTimeout(f.timer);
	if (f.ws && f.ws.readyState <= WebSocket.OPEN) f.ws.close();
	S.f = null;
	$("call-h").textContent = "Transcript";
	$("callinfo").textContent = "";
	$("callstate").textContent = "";
	$("log").textContent = "";
	buttons();
}

function callInfo(f) {
	const c = S.calls.get(f.sid);
	if (!c) { set($("callinfo"), ""); return; }
	const bits = ["started " + clock(c.started), c.ended ? "lasted " + duration(c) : "live"];
	if (c.streams) bits.push(c.streams + (c.streams === 1 ? " stream" : " streams"));
	const p = paramText(c.params);
	if (p) bits.push(p);
	set($("callinfo"), bits.join(" · "));
}

function connect(f) {
	if (f.done) return;
	clearTimeout(f.timer);
	f.endReason = "";
	f.gotCall = false;
	delete $("log").dataset.end;
	state(f, f.attempt ? "Reconnecting…" : "Connecting…");
	const ws = new WebSocket(clientURL(f.sid));
	f.ws = ws;
	ws.onmessage = (ev) => { if (f.ws === ws) message(f, ev.data); };
	ws.onclose = () => {
		if (f.ws !== ws || f.done) return;
		f.ws = null;
		if (f.endReason) return; // an end message came: nothing to do
		dropped(f);
	};
}

function dropped(f) {
	const wait = BACKOFF_MS[Math.min(f.attempt, BACKOFF_MS.length - 1)];
	f.attempt++;
	clearInterim(f);
	state(f, "Connection lost; reconnecting in " + Math.round(wait / 1000) + " s.");
	f.timer = setTimeout(() => connect(f), wait);
}

function state(f, text) { if (S.f === f) $("callstate").textContent = text; }

// the end of this connection: in words, and reconnect for the passing reasons
function ended(f, reason, detail) {
	f.endReason = reason || "unknown";
	clearInterim(f);
	const r = REASONS[reason];
	let text = r ? r.text : "The connection ended: " + (reason || "no reason given") + ".";
	if (detail && reason !== "call-ended") text += " (" + detail + ")";
	if (f.ws) { const ws = f.ws; f.ws = null; ws.close(); }
	if (r && r.again) {
		const wait = BACKOFF_MS[Math.min(f.attempt, BACKOFF_MS.length - 1)];
		f.attempt++;
		state(f, text + " Reconnecting in " + Math.round(wait / 1000) + " s.");
		f.timer = setTimeout(() => connect(f), wait);
		return;
	}
	state(f, text);
	$("log").dataset.end = f.endReason;
	f.endStreams = (S.calls.get(f.sid) || {}).streams || 0;
	if (reason === "call-ended") {
		const c = S.calls.get(f.sid);
		if (c && !c.ended) { c.ended = new Date().toISOString(); c.guessed = true; renderCalls(); }
	}
}

function message(f, data) {
	const m = parse(data);
	if (!m || typeof m !== "object") return;
	switch (m.type) {
	case "calls":
		updateCalls(m);
		return;
	case "callpipe.end":
		ended(f, m.reason, m.error);
		return;
	case "error":
		ended(f, errorReason(m.error || ""), m.error);
		return;
	}
	if (!f.gotCall) {
		f.gotCall = true;
		f.attempt = 0;
		state(f, "Live.");
	}
	if (m.type === "Results") results(f, m);
	else if (m.type === "UtteranceEnd") utteranceEnd(f, m);
	else if (m.type === "callpipe.gap") gap(f, m);
	else if (m.type === "callpipe.error") note(f, "Transcription error: " + (m.error || "?") +
		(m.fatal ? " (transcription stopped)" : ""), "err:" + JSON.stringify(m));
}

// where a message belongs: its stream and channel, the track, the call's timeline
function place0(m, ch) {
	const cp = m.callpipe && typeof m.callpipe === "object" ? m.callpipe : {};
	const stream = String(cp.stream_sid || cp.stream || "1");
	const tracks = Array.isArray(cp.tracks) ? cp.tracks : ["inbound", "outbound"];
	const track = tracks[ch] || "channel " + ch;
	return { key: stream + "/" + ch, stream, track, offset: Number(cp.offset) || 0,
		n: Number(cp.stream) || 1 };
}

// a later stream of the call (Twilio's <Stop><Stream> then <Start><Stream>) gets a note
function streamNote(f, where) {
	if (where.n > 1)
		note(f, "Stream " + where.n + " from " + span(where.offset, true), "stream:" + where.stream);
}

function speaker(f, track) {
	const c = S.calls.get(f.sid), p = (c && c.params) || {};
	if (track === "inbound") return String(p.inboundTrackLabel || "caller");
	if (track === "outbound") return String(p.outboundTrackLabel || "callee");
	return track;
}

function lineEl(t, who, text, cls) {
	const d = el("div", cls);
	d.append(el("span", "time", "[" + span(t, true) + "]"), " ",
		el("span", "who", who + ":"), " ", el("span", "text", text));
	return d;
}

function results(f, m) {
	const ch = Array.isArray(m.channel_index) ? Number(m.channel_index[0]) || 0 : 0;
	const where = place0(m, ch);
	const alt = m.channel && m.channel.alternatives && m.channel.alternatives[0];
	const text = String((alt && alt.transcript) || "").trim();
	const start = Number(m.start) || 0, dur = Number(m.duration) || 0;
	const t = where.offset + start, who = speaker(f, where.track);
	streamNote(f, where);
	const old = f.interim.get(where.key);
	if (!m.is_final) {
		if (!text || start < (f.chanEnd.get(where.key) || 0) - 1e-6) return;
		const d = lineEl(t, who, text + " …", "line interim");
		d.setAttribute("aria-hidden", "true");
		if (old) old.replaceWith(d); else $("log").append(d);
		f.interim.set(where.key, d);
		grew();
		return;
	}
	const key = where.key + "/" + m.start + "/" + m.duration;
	if (f.keys.has(key)) return;
	f.keys.add(key);
	f.chanEnd.set(where.key, Math.max(f.chanEnd.get(where.key) || 0, start + dur));
	f.interim.delete(where.key);
	if (!text) { if (old) old.remove(); return; }
	const d = lineEl(t, who, text, "line final " + where.track);
	const rec = { t: Math.round(t * 1000) / 1000, speaker: who, track: where.track, text,
		stream_sid: where.stream, channel: ch };
	d.rec = rec;
	f.lines.push(rec);
	if (old) old.replaceWith(d); else $("log").append(d);
	f.last.set(where.key, d);
	buttons();
	grew();
}

function utteranceEnd(f, m) {
	const ch = Array.isArray(m.channel) ? Number(m.channel[0]) || 0 : 0;
	const where = place0(m, ch);
	const key = where.key + "/ue/" + m.last_word_end;
	if (f.keys.has(key)) return;
	f.keys.add(key);
	const d = f.last.get(where.key);
	if (d) { d.classList.add("uend"); d.rec.utterance_end = true; }
}

function gap(f, m) {
	const where = place0(m, 0);
	const a = where.offset + (Number(m.start) || 0), b = where.offset + (Number(m.end) || 0);
	note(f, "Lost " + span(a, true) + "–" + span(b, true) + (m.reason ? " (" + m.reason + ")" : ""),
		"gap:" + where.stream + "/" + m.start + "/" + m.end);
}

function note(f, text, key) {
	if (f.keys.has(key)) return;
	f.keys.add(key);
	$("log").append(el("div", "line note", text));
	grew();
}

function clearInterim(f) {
	for (const d of f.interim.values()) d.remove();
	f.interim.clear();
}

// --- following the bottom -------------------------------------------------------------

let scrollPending = false;
function grew() {
	if (!S.stick) { showJump(); return; }
	if (scrollPending) return;
	scrollPending = true;
	requestAnimationFrame(() => {
		scrollPending = false;
		if (S.stick) toBottom();
	});
}

// S.autoTop: where we last scrolled to; a scroll event above it is the reader's (a
// scroll event comes a frame late, when more lines may already have arrived)
function showJump() {
	set($("jump"), S.f && S.f.endReason ? "Jump to the end \u2193" : "Jump to live \u2193");
	$("jump").hidden = false;
}

function toBottom() {
	const log = $("log");
	log.scrollTop = log.scrollHeight;
	S.autoTop = log.scrollTop;
}

function atBottom() {
	const log = $("log");
	return log.scrollHeight - log.scrollTop - log.clientHeight < 24;
}

// --- downloads ------------------------------------------------------------------------

function buttons() {
	const none = !S.f || S.f.lines.length === 0;
	$("dl-text").disabled = none;
	$("dl-json").disabled = none;
}

function save(name, text, type) {
	const url = URL.createObjectURL(new Blob([text], { type }));
	const a = el("a");
	a.href = url;
	a.download = name;
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function asText(f) {
	return f.lines.map((r) => "[" + span(r.t, true) + "] " + r.speaker + ": " + r.text + "\n").join("");
}

function asJSONL(f) {
	return f.lines.map((r) => JSON.stringify({ call_sid: f.sid, time: r.t, speaker: r.speaker,
		track: r.track, text: r.text, stream_sid: r.stream_sid, channel: r.channel,
		utterance_end: !!r.utterance_end }) + "\n").join("");
}

// --- start ------------------------------------------------------------------------

function fromURL() {
	const sid = new URLSearchParams(location.search).get("callsid");
	if (!sid) { unfollow(); renderCalls(); return; }
	if (!SID_RE.test(sid)) {
		unfollow();
		$("callstate").textContent = "The address names a malformed CallSid: expected CA and 32 hex digits.";
		return;
	}
	if (!S.f || S.f.sid !== sid) follow(sid, false);
}

function start() {
	$("filter").addEventListener("input", renderCalls);
	$("log").addEventListener("scroll", () => {
		if (atBottom()) S.stick = true;
		else if ($("log").scrollTop < S.autoTop - 2) S.stick = false;
		if (S.stick) $("jump").hidden = true; else showJump();
	});
	$("jump").addEventListener("click", () => {
		S.stick = true;
		$("jump").hidden = true;
		toBottom();
		$("log").focus();
	});
	$("dl-text").addEventListener("click", () => {
		if (S.f) save(S.f.sid + ".txt", asText(S.f), "text/plain");
	});
	$("dl-json").addEventListener("click", () => {
		if (S.f) save(S.f.sid + ".jsonl", asJSONL(S.f), "application/jsonl");
	});
	window.addEventListener("popstate", fromURL);
	setInterval(() => { renderCalls(); if (S.f) callInfo(S.f); }, 1000);
	fromURL();
	poll();
}

start();
