// tests/browser/token.js: with CALLPIPE_CLIENT_TOKEN set, the page says in words that a
// missing or wrong token was refused, and works with the right one (taken from its URL).
// env: BASE, TOKEN, SID, CAP, SHOTS
"use strict";
const { say, newPage, waitUntil, replay, shot, shownLines, entries, run } = require("./lib.js");

const E = process.env;

async function refused(browser, query, name) {
	const problems = [];
	const page = await newPage(browser, 1440, 900, problems);
	await page.goto(E.BASE + "/" + query, { waitUntil: "load" });
	await waitUntil(page, () => document.querySelector("#status").textContent !== "", null, 20);
	say("status: " + await page.$eval("#status", (p) => p.textContent));
	say("calls listed: " + (await entries(page)).length);
	if (query.includes("callsid"))
		say("transcript: " + (await waitUntil(page, () =>
			document.querySelector("#log").dataset.end, null, 20) &&
			await page.$eval("#callstate", (p) => p.textContent)));
	await shot(page, E.SHOTS, name);
	say("problems: " + (problems.length ? problems.join("; ") : "none"));
	await page.close();
}

run(async (browser) => {
	say("--- no token in the page's address");
	await refused(browser, "", "token-1-none");
	say("--- a wrong token");
	await refused(browser, "?token=" + E.TOKEN + "x", "token-2-wrong");
	say("--- a wrong token on a link to a call");
	await refused(browser, "?callsid=" + E.SID + "&token=wrong-token-0123456789", "token-3-link");

	say("--- the right token: the list, and a call followed at 1440 px");
	const problems = [];
	const page = await newPage(browser, 1440, 900, problems);
	await page.goto(E.BASE + "/?token=" + E.TOKEN, { waitUntil: "load" });
	say("empty list: " + (await waitUntil(page, () =>
		document.querySelector("#live-none").textContent === "No live calls." &&
		!document.querySelector("#live-none").hidden, null, 20)));
	say("status: '" + await page.$eval("#status", (p) => p.textContent) + "'");
	const call = replay(E.BASE.replace(/^http/, "ws") + "/twilio", E.CAP, []);
	say("call listed: " + (await waitUntil(page, (sid) => [...document.querySelectorAll("#live .sid")]
		.some((s) => s.textContent === sid), E.SID, 30)));
	await page.click("#live a.call");
	say("address keeps the token: " + await page.evaluate(() => location.search.replace(/CA[0-9a-f]{32}/, "CA…")));
	say("lines: " + (await waitUntil(page, () => document.querySelectorAll("#log .final").length >= 4, null, 30)));
	await shot(page, E.SHOTS, "token-4-wide");
	say("twilio-replay exit " + await call.done);
	say("end: " + (await waitUntil(page, () => document.querySelector("#log").dataset.end, null, 40) &&
		await page.$eval("#log", (l) => l.dataset.end)));
	const lines = await shownLines(page);
	say("speakers: " + [...new Set(lines.map((l) => l.split(" ")[1]))].sort().join(" "));
	say("problems: " + (problems.length ? problems.join("; ") : "none"));

	say("--- the token in the address's fragment (never sent with the page's request)");
	const p2 = [];
	const page2 = await newPage(browser, 1440, 900, p2);
	await page2.goto(E.BASE + "/#token=" + E.TOKEN, { waitUntil: "load" });
	say("ended call listed: " + (await waitUntil(page2, (sid) => [...document.querySelectorAll("#ended .sid")]
		.some((s) => s.textContent === sid), E.SID, 20)));
	await page2.click("#ended a.call");
	say("address: " + await page2.evaluate(() => (location.search + location.hash).replace(/CA[0-9a-f]{32}/, "CA…")));
	say("end: " + (await waitUntil(page2, () => document.querySelector("#log").dataset.end, null, 30) &&
		await page2.$eval("#log", (l) => l.dataset.end)));
	say("lines: " + (await shownLines(page2)).length);
	say("problems: " + (p2.length ? p2.join("; ") : "none"));
});
