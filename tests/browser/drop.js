// tests/browser/drop.js: a link to a live call opens it; when the connection drops
// (the server's subscribe killed mid-call) the page says so, reconnects with backoff and
// resumes without repeating a line.
// env: BASE, SID, CAP, STATE (the server's CALLPIPE_DIR), SHOTS, DL
"use strict";
const fs = require("fs");
const path = require("path");
const { say, statePage, waitUntil, replay, shot, saveShown, run } = require("./lib.js");

const E = process.env;

// the subscribe processes of this test's server that follow the call (by /proc)
function followers() {
	const pids = [];
	for (const d of fs.readdirSync("/proc")) {
		if (!/^\d+$/.test(d)) continue;
		try {
			if (fs.readFileSync("/proc/" + d + "/comm", "utf8").trim() !== "subscribe") continue;
			const env = fs.readFileSync("/proc/" + d + "/environ", "utf8").split("\0");
			const args = fs.readFileSync("/proc/" + d + "/cmdline", "utf8").split("\0");
			if (env.includes("CALLPIPE_DIR=" + E.STATE) && args.includes(E.SID)) pids.push(Number(d));
		} catch (e) { /* gone meanwhile */ }
	}
	return pids;
}

run(async (browser) => {
	const problems = [];
	const page = await statePage(browser, 1440, 900, problems);
	const call = replay(E.BASE.replace(/^http/, "ws") + "/twilio", E.CAP, []);
	const end = Date.now() + 20000;
	while (Date.now() < end && !fs.existsSync(path.join(E.STATE, "calls", E.SID)))
		await new Promise((r) => setTimeout(r, 50));

	say("--- a link to the live call opens it");
	await page.goto(E.BASE + "/?callsid=" + E.SID, { waitUntil: "load" });
	say("heading: " + (await page.$eval("#call-h", (h) => h.textContent)).replace(/CA[0-9a-f]{32}/, "CA…"));
	say("lines: " + (await waitUntil(page, () => document.querySelectorAll("#log .final").length >= 4, null, 30)));

	say("--- the connection drops mid-call");
	const pids = followers();
	say("server-side subscribers of the page: " + pids.length);
	for (const p of pids) process.kill(p, "SIGKILL");
	say("said so: " + (await waitUntil(page, () => window.__states.some((s) => /^Connection lost; reconnecting in 1 s/.test(s)), null, 10)));
	await shot(page, E.SHOTS, "drop-1-lost");
	say("reconnected: " + (await waitUntil(page, () => document.querySelector("#callstate").textContent === "Live." &&
		window.__states.filter((s) => s === "Live.").length >= 2, null, 20)));

	say("--- the end");
	say("twilio-replay exit " + await call.done);
	say("end: " + (await waitUntil(page, () => document.querySelector("#log").dataset.end, null, 40) &&
		await page.$eval("#log", (l) => l.dataset.end)));
	say("in words: " + await page.$eval("#callstate", (p) => p.textContent));
	await shot(page, E.SHOTS, "drop-2-ended");
	await saveShown(page, E.DL);
	say("problems: " + (problems.length ? problems.join("; ") : "none"));
});
