// tests/browser/ended.js: at 1440 px, an ended call of two streams opened from the list
// (keyboard) shows its whole transcript with its custom speaker labels; the filter;
// a link to a call that has not started yet follows it once it starts, and again when
// a new stream comes after its end.
// env: BASE, SID (ended call), SID2 (a call started later), CAP2, CAP3 (its later
// stream), SHOTS, DL
"use strict";
const fs = require("fs");
const path = require("path");
const { say, newPage, waitUntil, replay, shot, shownLines, entries, lowestContrast, run } =
	require("./lib.js");

const E = process.env;

run(async (browser) => {
	const problems = [];
	const page = await newPage(browser, 1440, 900, problems);
	await page.goto(E.BASE + "/", { waitUntil: "load" });

	say("--- the ended call in the list");
	say("listed as ended: " + (await waitUntil(page, (sid) => [...document.querySelectorAll("#ended .sid")]
		.some((s) => s.textContent === sid), E.SID, 20)));
	const en = (await entries(page)).filter((x) => x.sid === E.SID)[0];
	say("entry: " + en.list + " | " + en.meta.replace(/\d\d:\d\d:\d\d/, "HH:MM:SS").replace(/lasted \d+:\d\d/, "lasted M:SS") + " | " + en.params);

	say("--- the filter");
	await page.type("#filter", "customer");
	say("'customer': " + (await entries(page)).map((x) => x.sid === E.SID ? "the call" : x.sid).join());
	await page.$eval("#filter", (f) => { f.value = ""; });
	await page.type("#filter", "no-such-call");
	say("'no-such-call': " + (await entries(page)).length + " entries; " +
		await page.$eval("#ended-none", (p) => p.textContent));
	await shot(page, E.SHOTS, "ended-1-filter");
	await page.$eval("#filter", (f) => { f.value = ""; });
	await page.type("#filter", E.SID.slice(-8));

	say("--- opened from the keyboard: the whole transcript");
	await page.focus("#filter");
	await page.keyboard.press("Tab");
	await page.keyboard.press("Enter");
	say("end: " + (await waitUntil(page, () => document.querySelector("#log").dataset.end, null, 30) &&
		await page.$eval("#log", (l) => l.dataset.end)));
	say("in words: " + await page.$eval("#callstate", (p) => p.textContent));
	say("call info: " + (await page.$eval("#callinfo", (p) => p.textContent)).replace(/\d\d:\d\d:\d\d/, "HH:MM:SS").replace(/lasted \d+:\d\d/, "lasted M:SS"));
	say("notes: " + (await page.$$eval("#log .note", (n) => n.map((x) => x.textContent))).join(" | ").replace(/\d\d:\d\d/g, "MM:SS"));
	const shown = await shownLines(page);
	fs.mkdirSync(E.DL, { recursive: true });
	fs.writeFileSync(path.join(E.DL, "ended.txt"), shown.map((l) => l + "\n").join(""));
	const low = await lowestContrast(page);
	say("text contrast at least 4.5:1: " + (low.ratio >= 4.5 ? "yes" : "no, " + low.ratio.toFixed(2) + " for " + low.what));
	await shot(page, E.SHOTS, "ended-2-transcript");
	await page.goBack();
	say("back: " + (await waitUntil(page, () => document.querySelector("#call-h").textContent === "Transcript" &&
		!location.search.includes("callsid"), null, 10)) + ", lines " + (await shownLines(page)).length);
	await page.goForward();
	say("forward: " + (await waitUntil(page, () => document.querySelector("#log").dataset.end === "call-ended" &&
		document.querySelectorAll("#log .final").length > 0, null, 20)));

	say("--- a link to a call that has not started yet");
	await page.goto(E.BASE + "/?callsid=" + E.SID2, { waitUntil: "load" });
	await new Promise((r) => setTimeout(r, 500));
	const call = replay(E.BASE.replace(/^http/, "ws") + "/twilio", E.CAP2, []);
	say("lines once it started: " + (await waitUntil(page, () =>
		document.querySelectorAll("#log .final").length >= 2, null, 30)));
	say("twilio-replay exit " + await call.done);
	say("end: " + (await waitUntil(page, () => document.querySelector("#log").dataset.end, null, 30) &&
		await page.$eval("#log", (l) => l.dataset.end)));
	const n2 = (await shownLines(page)).length;
	await shot(page, E.SHOTS, "ended-3-link");

	say("--- a new stream after the call's end: followed again");
	const again = replay(E.BASE.replace(/^http/, "ws") + "/twilio", E.CAP3, []);
	say("more lines: " + (await waitUntil(page, (n) =>
		document.querySelectorAll("#log .final").length > n, n2, 30)));
	say("twilio-replay exit " + await again.done);
	say("end again: " + (await waitUntil(page, (n) => document.querySelector("#log").dataset.end &&
		document.querySelectorAll("#log .final").length >= 2 * n, n2, 40) &&
		await page.$eval("#log", (l) => l.dataset.end)));
	say("notes: " + (await page.$$eval("#log .note", (n) => n.map((x) => x.textContent))).join(" | ")
		.replace(/\d\d:\d\d/g, "MM:SS"));
	const shown2 = await shownLines(page);
	fs.writeFileSync(path.join(E.DL, "link.txt"), shown2.map((l) => l + "\n").join(""));
	await shot(page, E.SHOTS, "ended-4-again");
	say("problems: " + (problems.length ? problems.join("; ") : "none"));
});
