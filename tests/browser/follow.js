// tests/browser/follow.js: the page on a phone-sized screen follows a call from the list.
// env: BASE (http://127.0.0.1:PORT), SID, CAP (capture to replay), SHOTS, DL (folders)
// Prints what it checked, one line each; the shell test compares the downloads with the
// call's log.
"use strict";
const { say, newPage, waitUntil, allowDownloads, waitFile, replay, shot, saveShown,
	entries, lowestContrast, run } = require("./lib.js");
const path = require("path");

const E = process.env;
const wsurl = E.BASE.replace(/^http/, "ws");

run(async (browser) => {
	const problems = [];
	const page = await newPage(browser, 390, 760, problems);
	await allowDownloads(page, E.DL);
	// interim lines the page ever showed (they are replaced, so count them as they come)
	await page.evaluateOnNewDocument(() => {
		window.__interims = 0;
		new MutationObserver((ms) => {
			for (const m of ms) for (const n of m.addedNodes)
				if (n.classList && n.classList.contains("interim")) window.__interims++;
		}).observe(document, { childList: true, subtree: true });
	});
	await page.goto(E.BASE + "/", { waitUntil: "load" });

	say("--- a call started after the page loaded appears by itself");
	say("empty list: " + (await waitUntil(page, () =>
		document.querySelector("#live-none") && !document.querySelector("#live-none").hidden &&
		document.querySelector("#live-none").textContent === "No live calls.", null, 20)));
	const call = replay(wsurl + "/twilio", E.CAP, []);
	const appeared = await waitUntil(page, (sid) => [...document.querySelectorAll("#live .sid")]
		.some((s) => s.textContent === sid), E.SID, 30);
	say("appeared in the live list without a click: " + appeared);
	const en = (await entries(page)).filter((x) => x.sid === E.SID);
	say("entry: " + en.map((x) => x.list + " | " + x.meta.replace(/\d\d:\d\d:\d\d/, "HH:MM:SS")
		.replace(/for \d+:\d\d/, "for M:SS") + " | " + x.params).join());
	await shot(page, E.SHOTS, "follow-1-list");

	say("--- keyboard: Tab to the call, Enter follows it");
	await page.focus("#filter");
	await page.keyboard.type(E.SID.slice(-6));
	await page.keyboard.press("Tab");
	const focus = await page.evaluate(() => {
		const a = document.activeElement;
		const cs = getComputedStyle(a);
		return { sid: a.querySelector && a.querySelector(".sid") && a.querySelector(".sid").textContent,
			outline: cs.outlineStyle + " " + cs.outlineWidth };
	});
	say("focused entry is the call: " + (focus.sid === E.SID));
	say("focus ring: " + focus.outline);
	await page.keyboard.press("Enter");
	say("address names the call: " + (await waitUntil(page, (sid) =>
		new URLSearchParams(location.search).get("callsid") === sid, E.SID, 5)));
	say("entry marked current: " + (await waitUntil(page, () =>
		!!document.querySelector("#live a.call[aria-current]"), null, 5)));

	say("--- the transcript follows the bottom");
	const many = await waitUntil(page, () => {
		const l = document.querySelector("#log");
		return document.querySelectorAll("#log .final").length >= 6 && l.scrollHeight > l.clientHeight + 40;
	}, null, 40);
	say("transcript overflows its box: " + many);
	const bottom = () => {
		const l = document.querySelector("#log");
		return l.scrollHeight - l.scrollTop - l.clientHeight < 24;
	};
	say("at the bottom while following: " + (await waitUntil(page, bottom, null, 5)));
	await shot(page, E.SHOTS, "follow-2-live");

	say("--- scrolled up, it stays; jump to live returns");
	await page.evaluate(() => { document.querySelector("#log").scrollTop = 0; });
	const n0 = await page.$$eval("#log .final", (l) => l.length);
	await waitUntil(page, (n) => document.querySelectorAll("#log .final").length >= n + 3, n0, 20);
	const up = await page.evaluate(() => ({ top: document.querySelector("#log").scrollTop,
		jump: !document.querySelector("#jump").hidden }));
	say("stayed where the reader was: " + (up.top === 0));
	say("jump to live shown: " + up.jump);
	await shot(page, E.SHOTS, "follow-3-scrolled");
	await page.focus("#jump");
	await page.keyboard.press("Enter");
	say("jump to live goes to the bottom: " + (await waitUntil(page, bottom, null, 5)));
	say("jump to live hidden again: " + (await page.$eval("#jump", (j) => j.hidden)));
	const low = await lowestContrast(page);
	say("text contrast at least 4.5:1 (WCAG AA): " + (low.ratio >= 4.5 ? "yes" : "no, " +
		low.ratio.toFixed(2) + " for " + low.what));

	say("--- the end shows as an end");
	const code = await call.done;
	say("twilio-replay exit " + code);
	say("end: " + (await waitUntil(page, () => document.querySelector("#log").dataset.end, null, 40) &&
		await page.$eval("#log", (l) => l.dataset.end)));
	say("in words: " + await page.$eval("#callstate", (p) => p.textContent));
	say("moved to ended: " + (await waitUntil(page, (sid) => [...document.querySelectorAll("#ended .sid")]
		.some((s) => s.textContent === sid), E.SID, 10)));
	await page.evaluate(() => { document.querySelector("#log").scrollTop = 0; });
	await shot(page, E.SHOTS, "follow-4-ended");

	say("--- interim lines replaced by finals; utterance ends");
	const st = await page.evaluate(() => ({ seen: window.__interims,
		left: document.querySelectorAll("#log .interim").length,
		finals: document.querySelectorAll("#log .final").length,
		uend: document.querySelectorAll("#log .final.uend").length }));
	say("interim lines seen: " + (st.seen > 0) + ", left: " + st.left);
	const low2 = await lowestContrast(page);
	say("text contrast at least 4.5:1 at the end: " + (low2.ratio >= 4.5 ? "yes" : "no, " +
		low2.ratio.toFixed(2) + " for " + low2.what));
	// one UtteranceEnd per utterance (the stand-in, as Deepgram): the shell compares
	// the count with the call's UtteranceEnd messages (uend.txt)
	say("utterance ends marked on some finals, not on more than all: " +
		(st.uend > 0 && st.uend <= st.finals));

	say("--- downloads");
	await saveShown(page, E.DL);
	require("fs").writeFileSync(path.join(E.DL, "uend.txt"), st.uend + "\n");
	await page.click("#dl-text");
	say("text saved: " + await waitFile(path.join(E.DL, E.SID + ".txt"), 10));
	await page.click("#dl-json");
	say("JSON Lines saved: " + await waitFile(path.join(E.DL, E.SID + ".jsonl"), 10));

	say("--- no console errors");
	say(problems.length ? problems.join("\n") : "none");
});
