// tests/browser/protocol.js: the page against a scripted /client (browser/client/client):
// single-track streams and their labels, a later stream's note, a gap, a transcription
// error and the transcription-failed end in words; a too-slow end reconnects (backoff)
// and resumes without repeating a line. env: BASE, SHOTS
"use strict";
const { say, newPage, waitUntil, shot, shownLines, run } = require("./lib.js");

const E = process.env;
const A = "CA000000000000000000000000000000a1", B = "CA000000000000000000000000000000a2";

run(async (browser) => {
	const problems = [];
	const page = await newPage(browser, 390, 800, problems);

	say("--- two single-track streams, a gap, a failed transcription");
	await page.goto(E.BASE + "/?callsid=" + A, { waitUntil: "load" });
	say("end: " + (await waitUntil(page, () => document.querySelector("#log").dataset.end, null, 20) &&
		await page.$eval("#log", (l) => l.dataset.end)));
	say("in words: " + await page.$eval("#callstate", (p) => p.textContent));
	say("lines:");
	for (const l of await page.$$eval("#log .line", (ls) => ls.map((x) => x.textContent))) say("  " + l);
	say("interim left: " + await page.$$eval("#log .interim", (l) => l.length));
	await shot(page, E.SHOTS, "protocol-1-failed");

	say("--- dropped as too slow: reconnected, nothing repeated");
	await page.goto(E.BASE + "/?callsid=" + B, { waitUntil: "load" });
	say("end: " + (await waitUntil(page, () => document.querySelector("#log").dataset.end, null, 20) &&
		await page.$eval("#log", (l) => l.dataset.end)));
	say("in words: " + await page.$eval("#callstate", (p) => p.textContent));
	say("lines: " + (await shownLines(page)).join(" | "));
	say("list: " + await page.$$eval(".calllist li", (ls) => ls.map((l) => l.parentElement.id + " " +
		l.querySelector(".meta").textContent.replace(/\d\d:\d\d:\d\d/, "HH:MM:SS").replace(/for \d+:\d\d(:\d\d)?/, "for D")).join(" | ")));
	await shot(page, E.SHOTS, "protocol-2-resumed");
	say("--- other ends in words");
	for (const sid of ["CA000000000000000000000000000000a3", "CA000000000000000000000000000000a4"]) {
		await page.goto(E.BASE + "/?callsid=" + sid, { waitUntil: "load" });
		await waitUntil(page, () => document.querySelector("#log").dataset.end, null, 20);
		say(await page.$eval("#log", (l) => l.dataset.end) + ": " +
			await page.$eval("#callstate", (p) => p.textContent));
	}
	await shot(page, E.SHOTS, "protocol-3-unknown-reason");
	say("problems: " + (problems.length ? problems.join("; ") : "none"));
});
