// Chromium for the end-to-end tests: Debian's /usr/bin/chromium driven by playwright-core
// (which never downloads a browser). Each launch gets a fresh profile of its own.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { chromium } from 'playwright-core';

import { ROOT, waitFor } from '../lib/stack.mjs';
import { execBounded } from '../lib/sync-child.mjs';

export const CHROMIUM = process.env.PERISCOPE_CHROMIUM || '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.join(ROOT, 'test-artifacts', 'screenshots');

export const chromiumMissing = !fs.existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM} (Debian package chromium)`;

// The vendored xterm.js and asciinema-player come from the build (web/build.sh); run it when a suite is started
// by hand before dev/test or dev/up ever did.
export function ensureWebBuilt() {
	const built = ['xterm.mjs', 'asciinema-player/index.js'].every((f) => fs.existsSync(path.join(ROOT, 'web', 'dist', f)));
	if (!built) execBounded(path.join(ROOT, 'web', 'build.sh'), [], { stdio: 'inherit', timeout: 300000 });
}

export async function launchChromium() {
	// launch() runs the browser on a fresh temporary profile (user-data-dir) and removes it
	// on close.
	return chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: [
			'--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync',
		],
	});
}

// A page that records every console error and uncaught exception raised while it shows one
// of our pages (the IdP's own pages are not ours to judge).
export async function openPage(context, appUrl) {
	const page = await context.newPage();
	const problems = [];
	const ours = () => page.url().startsWith(appUrl);
	page.on('console', (m) => {
		if (m.type() === 'error' && ours()) problems.push(`console error on ${page.url()}: ${m.text()} (${m.location().url || ''})`);
	});
	page.on('pageerror', (e) => {
		if (ours()) problems.push(`uncaught exception on ${page.url()}: ${e.message}`);
	});
	return { page, problems };
}

export async function screenshot(page, name) {
	fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
	const { width } = page.viewportSize();
	await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}-${width}.png`) });
}

// Signs in through the real IdP page: the app's button, then the IdP's form.
export async function signInThroughIdp(page, appUrl, user, password = user) {
	await page.goto(`${appUrl}/`);
	await page.getByRole('link', { name: /^Sign in with / }).click();
	await page.waitForSelector('input[name="login"]');
	await page.fill('input[name="login"]', user);
	await page.fill('input[name="password"]', password);
	await Promise.all([
		page.waitForURL((u) => u.href.startsWith(appUrl)),
		page.locator('button[type="submit"]').first().click(),
	]);
	await page.waitForSelector('.cluster');
}

// The text of the visible rows of a terminal (what the user sees), one string per row.
export function terminalRows(page, scope = '.term-panel:not([hidden])') {
	return page.evaluate((sel) => {
		const rows = document.querySelectorAll(`${sel} .xterm-rows > div`);
		return [...rows].map((r) => r.textContent.replace(/\u00a0/g, ' ').trimEnd());
	}, scope);
}

export async function waitForRow(page, re, { scope, timeoutMs = 20000 } = {}) {
	let rows = [];
	try {
		await waitFor(`a terminal row matching ${re}`, async () => {
			rows = await terminalRows(page, scope);
			return rows.some((r) => re.test(r));
		}, { timeoutMs, intervalMs: 100 });
	} catch (e) {
		e.message += `\nterminal rows:\n${rows.filter(Boolean).join('\n')}`;
		throw e;
	}
	return rows;
}

// Types into the focused terminal like a user (xterm's hidden textarea takes the keys).
export async function typeInTerminal(page, text) {
	await page.locator('.term-panel:not([hidden]) .xterm-helper-textarea').focus();
	await page.keyboard.type(text);
	await page.keyboard.press('Enter');
}
