// tests/browser/busy.js: the server's subscriber limit is taken: the page says so in
// words for the list and for the followed call, retries with backoff, and follows the
// call once a slot is free. env: BASE, SID, CAP, HOLDER (pid of the slot's holder), SHOTS, DL
"use strict";
const { say, statePage, waitUntil, replay, shot, saveShown, run } = require("./lib.js");

const E = process.env;

run(async (browser) => {
	const problems = [];
	const page = await statePage(browser, 1440, 900, problems);
	const call = replay(E.BASE.replace(/^http/, "ws") + "/twilio", E.CAP, []);
	await page.goto(E.BASE + "/?callsid=" + E.SID, { waitUntil: "load" });

	say("--- every subscriber slot taken");
	say("list: " + (await waitUntil(page, () => /too many/.test(document.querySelector("#status").textContent), null, 20) &&
		await page.$eval("#status", (p) => p.textContent)));
	say("call: " + (await waitUntil(page, () => window.__states.some((s) => /too many/.test(s)), null, 20) &&
		(await page.evaluate(() => window.__states.find((s) => /too many/.test(s)))).replace(/\d+ s\./, "N s.")));
	await shot(page, E.SHOTS, "busy-1");

	say("--- a slot frees: the page follows the call");
	process.kill(Number(E.HOLDER), "SIGTERM");
	say("lines: " + (await waitUntil(page, () => document.querySelectorAll("#log .final").length > 0, null, 40)));
	say("twilio-replay exit " + await call.done);
	say("end: " + (await waitUntil(page, () => document.querySelector("#log").dataset.end, null, 60) &&
		await page.$eval("#log", (l) => l.dataset.end)));
	await saveShown(page, E.DL);
	await shot(page, E.SHOTS, "busy-2");
	say("problems: " + (problems.length ? problems.join("; ") : "none"));
});
