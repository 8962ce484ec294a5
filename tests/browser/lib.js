// tests/browser/lib.js: shared by the browser tests (tests/browser-*.sh run these scripts).
// Headless Debian chromium driven by puppeteer-core from tests/node; every wait has a
// deadline; console errors and page errors are collected so that a test can assert none.
"use strict";
const path = require("path");
const fs = require("fs");
const { spawn } = require("child_process");
const puppeteer = require(path.join(__dirname, "..", "node", "node_modules", "puppeteer-core"));

const say = (s) => process.stdout.write(s + "\n");

async function launch() {
	const args = ["--no-first-run", "--no-default-browser-check", "--disable-gpu",
		"--disable-dev-shm-usage", "--disable-extensions"];
	if (process.getuid && process.getuid() === 0) args.push("--no-sandbox");
	return puppeteer.launch({
		executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
		headless: true, args, protocolTimeout: 60000,
	});
}

// a page of width x height that records console errors, page errors and failed requests
async function newPage(browser, width, height, problems) {
	const page = await browser.newPage();
	await page.setViewport({ width, height });
	page.on("console", (m) => {
		if (m.type() === "error") problems.push("console error: " + m.text());
	});
	page.on("pageerror", (e) => problems.push("page error: " + e.message));
	page.on("requestfailed", (r) => {
		if (!r.url().startsWith("blob:")) problems.push("request failed: " + r.url());
	});
	page.on("response", (r) => {
		if (r.status() >= 400) problems.push("HTTP " + r.status() + ": " + r.url());
	});
	return page;
}

// waitUntil(page, fn, arg, secs): poll fn in the page (50 ms) until truthy; false at deadline
async function waitUntil(page, fn, arg, secs) {
	try {
		await page.waitForFunction(fn, { timeout: secs * 1000, polling: 50 }, arg);
		return true;
	} catch (e) {
		return false;
	}
}

// downloads land in dir (Chromium's own download path, as a user would get them)
async function allowDownloads(page, dir) {
	fs.mkdirSync(dir, { recursive: true });
	const cdp = await page.createCDPSession();
	await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: dir });
}

// waitFile(file, secs): a download complete (present, and no .crdownload beside it)
async function waitFile(file, secs) {
	const end = Date.now() + secs * 1000;
	while (Date.now() < end) {
		if (fs.existsSync(file) && !fs.existsSync(file + ".crdownload")) return true;
		await new Promise((r) => setTimeout(r, 50));
	}
	return false;
}

// replay(url, capture, extra): twilio-replay of a capture file; resolves with its exit code
function replay(url, capture, extra) {
	const child = spawn("twilio-replay", (extra || []).concat([url]), {
		stdio: [fs.openSync(capture, "r"), "ignore", fs.openSync(capture + ".err", "a")],
	});
	const done = new Promise((res) => child.on("exit", (code) => res(code)));
	return { child, done };
}

async function shot(page, dir, name) {
	fs.mkdirSync(dir, { recursive: true });
	await page.screenshot({ path: path.join(dir, name + ".png"), fullPage: false });
}

// what the transcript shows: final lines as "[mm:ss] speaker: text"
function shownLines(page) {
	return page.$$eval("#log .line.final", (ls) => ls.map((l) =>
		l.querySelector(".time").textContent + " " + l.querySelector(".who").textContent +
		" " + l.querySelector(".text").textContent));
}

// saveShown(page, dir): the final lines shown, into dir/shown.txt (the shell test
// compares it with the call's log)
async function saveShown(page, dir) {
	const shown = await shownLines(page);
	fs.mkdirSync(dir, { recursive: true });
	fs.writeFileSync(path.join(dir, "shown.txt"), shown.map((l) => l + "\n").join(""));
}

// statePage: newPage that also keeps every text #callstate showed, in order, in
// window.__states (a state the page passes through quickly is still seen)
async function statePage(browser, width, height, problems) {
	const page = await newPage(browser, width, height, problems);
	await page.evaluateOnNewDocument(() => {
		window.__states = [];
		document.addEventListener("DOMContentLoaded", () => {
			new MutationObserver(() => window.__states.push(document.querySelector("#callstate").textContent))
				.observe(document.querySelector("#callstate"), { childList: true, characterData: true, subtree: true });
		});
	});
	return page;
}

// the list entries: {list, sid, meta, params, current}
function entries(page) {
	return page.$$eval(".calllist li", (ls) => ls.filter((l) => !l.hidden).map((l) => ({
		list: l.parentElement.id, sid: l.querySelector(".sid").textContent,
		meta: l.querySelector(".meta").textContent, params: l.querySelector(".params").textContent,
		current: l.firstChild.hasAttribute("aria-current"),
	})));
}

// lowestContrast(page): the lowest WCAG contrast ratio of any visible text on the
// page against the first opaque background behind it: {ratio, what}
function lowestContrast(page) {
	return page.evaluate(() => {
		const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
		const lum = (c) => {
			const v = rgb(c).slice(0, 3).map((x) => {
				x /= 255;
				return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
			});
			return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
		};
		const bg = (e) => {
			for (; e; e = e.parentElement) {
				const c = getComputedStyle(e).backgroundColor, a = rgb(c)[3];
				if (a === undefined || a === 1) return c;
			}
			return "rgb(255, 255, 255)";
		};
		let low = { ratio: 99, what: "" };
		for (const e of document.querySelectorAll("body *")) {
			if (![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
			if (!e.getClientRects().length || e.closest("[hidden]") || e.closest("button:disabled")) continue;
			const a = lum(getComputedStyle(e).color), b = lum(bg(e));
			const r = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
			if (r < low.ratio) low = { ratio: r, what: e.tagName + "." + e.className };
		}
		return low;
	});
}

// run(main): report an exception as one line and exit 1; always close the browser
async function run(main) {
	let browser = null;
	const guard = setTimeout(() => { say("timeout: the test script ran too long"); process.exit(1); },
		Number(process.env.BROWSER_TEST_SECONDS || 240) * 1000);
	try {
		browser = await launch();
		await main(browser);
	} catch (e) {
		say("error: " + (e && e.stack ? e.stack.split("\n").slice(0, 3).join(" | ") : e));
		process.exitCode = 1;
	} finally {
		clearTimeout(guard);
		if (browser) await browser.close().catch(() => {});
	}
}

module.exports = { say, launch, newPage, statePage, waitUntil, allowDownloads, waitFile,
	replay, shot, shownLines, saveShown, entries, lowestContrast, run };
