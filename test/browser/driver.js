// driver.js: one headless chromium session of sekisho's browser tests.
//
// Debian's chromium driven by playwright-core (test/browser/package.json).
// Reads one JSON job on stdin, runs its steps in order in one page (so
// cookies and the session carry from step to step), writes one JSON answer
// on stdout and exits 0 when every step succeeded, 1 when one failed (the
// answer says which and why; later steps are not run), 2 on a bad job.
// Every wait is bounded: each step by "step_ms", the whole job by
// "total_ms" (then the browser is killed and the answer says so).
//
// Job: {"steps": [...], "ignore_https_errors": true, "locale": "ja-JP",
//       "step_ms": 10000, "total_ms": 60000, "chromium": "/usr/bin/chromium",
//       "state_in": "F", "state_out": "F"}     (storage state: cookies between jobs)
// Steps (TARGET: {"label": L} | {"name": N} | {"role": R, "name": N} |
//        {"text": T} | {"selector": CSS}; "exact": true for exact text):
//   {"goto": URL}                        -> status, url, title
//   {"fill": TARGET, "value": V}
//   {"files": TARGET, "paths": [P...]}     choose files in a file input
//   {"click": TARGET, "navigate": true}  -> status, url, title (navigate: wait for the next page)
//   {"download": TARGET, "path": P}      -> click, save the download to P: suggested, bytes
//   {"download_url": URL, "path": P}     -> the same for a URL that answers with an attachment
//   {"screenshot": P, "full_page": true}
//   {"text": true}                       -> text (the page's visible text)
//   {"expect_text": T}                   fails unless the page's text contains T
//   {"html": P}                          the page's HTML into P
'use strict';
const fs = require('fs');
const { chromium } = require('playwright-core');

function locate(page, t, exact) {
	if (t.role) return page.getByRole(t.role, { name: t.name, exact: !!exact });
	if (t.label) return page.getByLabel(t.label, { exact: !!exact });
	if (t.name) return page.locator(`[name="${String(t.name).replace(/["\\]/g, '\\$&')}"]`);
	if (t.text) return page.getByText(t.text, { exact: !!exact });
	if (t.selector) return page.locator(t.selector);
	throw new Error('a target needs role, label, name, text or selector');
}

async function pageInfo(page, resp) {
	return { status: resp ? resp.status() : null, url: page.url(), title: await page.title() };
}

async function runStep(page, s, ms) {
	if (s.goto !== undefined) {
		const resp = await page.goto(s.goto, { timeout: ms, waitUntil: 'load' });
		return pageInfo(page, resp);
	}
	if (s.fill !== undefined) {
		await locate(page, s.fill, s.exact).fill(String(s.value), { timeout: ms });
		return {};
	}
	if (s.files !== undefined) {
		await locate(page, s.files, s.exact).setInputFiles(s.paths, { timeout: ms });
		return {};
	}
	if (s.click !== undefined) {
		const loc = locate(page, s.click, s.exact);
		if (!s.navigate) {
			await loc.click({ timeout: ms });
			return {};
		}
		const [resp] = await Promise.all([page.waitForNavigation({ timeout: ms }), loc.click({ timeout: ms })]);
		return pageInfo(page, resp);
	}
	if (s.download !== undefined || s.download_url !== undefined) {
		const wait = page.waitForEvent('download', { timeout: ms });
		if (s.download !== undefined) {
			await locate(page, s.download, s.exact).click({ timeout: ms });
		} else {
			// navigating to an attachment starts a download and aborts the navigation
			page.goto(s.download_url, { timeout: ms }).catch(() => {});
		}
		const dl = await wait;
		await dl.saveAs(s.path);
		const failure = await dl.failure();
		if (failure) throw new Error('download failed: ' + failure);
		return { suggested: dl.suggestedFilename(), bytes: fs.statSync(s.path).size, url: dl.url() };
	}
	if (s.screenshot !== undefined) {
		await page.screenshot({ path: s.screenshot, fullPage: s.full_page !== false, timeout: ms });
		return { path: s.screenshot };
	}
	if (s.text !== undefined) {
		return { text: await page.locator('body').innerText({ timeout: ms }) };
	}
	if (s.expect_text !== undefined) {
		const text = await page.locator('body').innerText({ timeout: ms });
		if (!text.includes(s.expect_text)) throw new Error(`the page does not say "${s.expect_text}"`);
		return {};
	}
	if (s.html !== undefined) {
		fs.writeFileSync(s.html, await page.content());
		return { path: s.html };
	}
	throw new Error('unknown step: ' + JSON.stringify(s).slice(0, 200));
}

async function main() {
	let job;
	try {
		job = JSON.parse(fs.readFileSync(0, 'utf8'));
		if (!Array.isArray(job.steps) || job.steps.length > 200) throw new Error('"steps": a list of at most 200');
	} catch (e) {
		process.stdout.write(JSON.stringify({ ok: false, error: 'bad job: ' + e.message }) + '\n');
		return 2;
	}
	const stepMs = Math.min(job.step_ms || 10000, 120000);
	const totalMs = Math.min(job.total_ms || 60000, 600000);
	const results = [];
	let browser = null;
	const killer = setTimeout(() => {
		process.stdout.write(JSON.stringify({ ok: false, error: `job took more than ${totalMs} ms`, results }) + '\n');
		if (browser) browser.close().catch(() => {});
		process.exit(1);
	}, totalMs);
	let answer;
	try {
		browser = await chromium.launch({
			executablePath: job.chromium || '/usr/bin/chromium',
			headless: true,
			timeout: stepMs * 3,
			// root cannot use chromium's own sandbox (the tests run as root)
			chromiumSandbox: typeof process.getuid === 'function' && process.getuid() !== 0,
			args: ['--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking'],
		});
		const ctxOpts = {
			ignoreHTTPSErrors: !!job.ignore_https_errors,
			locale: job.locale || 'ja-JP',
			acceptDownloads: true,
			viewport: { width: 1024, height: 768 },
		};
		if (job.state_in && fs.existsSync(job.state_in)) ctxOpts.storageState = job.state_in;
		const context = await browser.newContext(ctxOpts);
		const page = await context.newPage();
		let i = 0;
		try {
			for (; i < job.steps.length; i++) results.push(await runStep(page, job.steps[i], stepMs));
			answer = { ok: true, results };
		} catch (e) {
			answer = { ok: false, step: i, error: String(e.message || e).split('\n')[0], results };
		}
		if (job.state_out) await context.storageState({ path: job.state_out });
	} catch (e) {
		answer = { ok: false, error: 'browser: ' + String(e.message || e).split('\n')[0], results };
	} finally {
		if (browser) await browser.close().catch(() => {});
		clearTimeout(killer);
	}
	process.stdout.write(JSON.stringify(answer) + '\n');
	return answer.ok ? 0 : 1;
}

main().then((rc) => process.exit(rc));
