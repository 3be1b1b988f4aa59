// The web UI end to end in Chromium against the whole local stack: sign-in through the
// real IdP page, a cluster shell and a node shell typed into like a user, the audit log
// with the node shell's transcript and the cluster shell's commands, a viewer without
// shell buttons, and no console error anywhere. Screenshots of every page go to
// test-artifacts/screenshots/ at 1280x800 and 420 px wide.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { NODES, startStack, waitFor } from '../lib/stack.mjs';
import {
	chromiumMissing, ensureWebBuilt, launchChromium, openPage, screenshot, signInThroughIdp,
	terminalRows, typeInTerminal, waitForRow,
} from './browser.mjs';

const NODE = NODES[0].name; // ip-10-0-1-10.eu-west-1.compute.internal, SSM agent online
const OFFLINE_NODE = NODES[1].name;
const WIDE = { width: 1280, height: 800 };
const MAX_DURATION_SECONDS = 20; // the node shell's in the timers stack

// The on-screen box of a locator, or null when not rendered.
const box = (locator) => locator.boundingBox();

// Whether el's box lies inside the box of the tab strip (what the user can see of it).
async function insideStrip(page, tab) {
	const strip = await box(page.locator('.tablist'));
	const b = await box(tab);
	return b.x >= strip.x - 0.5 && b.x + b.width <= strip.x + strip.width + 0.5;
}

async function signedInPage(browser, stack, viewport) {
	const context = await browser.newContext({ viewport });
	const opened = await openPage(context, stack.url);
	await signInThroughIdp(opened.page, stack.url, 'admin');
	return { context, ...opened };
}
const NARROW = { width: 420, height: 800 };

// The periscope-wsbridge processes of this stack (websocketd starts one per session).
function wsbridgePids(stack) {
	const pids = [];
	for (const entry of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			// argv[0], not anywhere: websocketd's own command line names the program too.
			const argv0 = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')[0];
			if (!argv0.endsWith('/periscope-wsbridge')) continue;
			const env = fs.readFileSync(`/proc/${entry}/environ`, 'utf8');
			if (env.split('\0').includes(`PERISCOPE_CONFIG=${stack.runDir}/periscope.yaml`)) pids.push(Number(entry));
		} catch {
			// gone meanwhile
		}
	}
	return pids;
}

describe('web UI in Chromium', { skip: chromiumMissing }, () => {
	let stack;
	let browser;
	let admin; // { context, page, problems }
	const allProblems = [];

	before(async () => {
		ensureWebBuilt();
		stack = await startStack();
		browser = await launchChromium();
		const context = await browser.newContext({ viewport: WIDE });
		await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.url });
		admin = { context, ...(await openPage(context, stack.url)) };
	});
	after(async () => {
		if (browser) await browser.close();
		if (stack) await stack.stop();
	});

	it('shows the sign-in page with the provider name, then signs in through the IdP', async () => {
		const { page } = admin;
		await page.goto(`${stack.url}/`);
		const button = page.getByRole('link', { name: 'Sign in with Local IdP' });
		await button.waitFor();
		await screenshot(page, 'signin');
		await page.setViewportSize(NARROW);
		await screenshot(page, 'signin');
		await page.setViewportSize(WIDE);
		await signInThroughIdp(page, stack.url, 'admin');
		const menu = page.locator('details.menu');
		assert.match(await menu.locator('summary').innerText(), /admin@periscope\.local\s+admin/i);
		await menu.locator('summary').click();
		await page.getByRole('button', { name: 'Sign out everywhere' }).waitFor();
		assert.ok(await page.getByRole('button', { name: 'Sign out', exact: true }).isVisible());
		await screenshot(page, 'account-menu');
		await page.keyboard.press('Escape');
		assert.equal(await menu.evaluate((d) => d.open), false, 'Escape closes the menu');
		const cards = await page.locator('.cluster h2').allInnerTexts();
		assert.deepEqual(cards, ['local', 'prod-eu']);
		assert.ok(await page.getByRole('button', { name: 'Open a cluster shell on local' }).isVisible());
		await screenshot(page, 'clusters');
	});

	it('opens a cluster shell, runs commands, follows the window size, copies and pastes', async () => {
		const { page } = admin;
		await page.getByRole('button', { name: 'Open a cluster shell on local' }).click();
		const tab = page.getByRole('tab', { name: /Cluster shell · local/ });
		await tab.waitFor();
		await page.locator('.tab .pill-connected').waitFor({ timeout: 30000 });
		assert.match(await tab.innerText(), /Connected \d+:\d\d/);
		await waitForRow(page, /[$#]\s*$/);
		await typeInTerminal(page, 'echo hi');
		await waitForRow(page, /^hi$/);

		await typeInTerminal(page, 'clear; stty size');
		const wide = await waitForRow(page, /^\d+ \d+$/);
		const [rows1, cols1] = wide.find((r) => /^\d+ \d+$/.test(r)).split(' ').map(Number);
		assert.ok(cols1 > 100, `a 1280 px window gives a wide terminal (${cols1} columns)`);
		await page.setViewportSize({ width: 800, height: 700 });
		await waitFor('the terminal refit', async () => {
			await typeInTerminal(page, 'clear; stty size');
			const rows = await waitForRow(page, /^\d+ \d+$/);
			const [r, c] = rows.find((x) => /^\d+ \d+$/.test(x)).split(' ').map(Number);
			return c < cols1 && c > 40 && r < rows1;
		}, { timeoutMs: 10000, intervalMs: 300 });
		await page.setViewportSize(WIDE);

		// Paste through the toolbar, then copy a selection made with the mouse.
		await page.evaluate(() => navigator.clipboard.writeText('echo pasted-$((6*7))'));
		await page.getByRole('button', { name: 'Paste' }).click();
		await waitForRow(page, /echo pasted-\$\(\(6\*7\)\)$/);
		await typeInTerminal(page, '');
		await waitForRow(page, /^pasted-42$/);
		const row = page.locator('.term-panel:not([hidden]) .xterm-rows > div', { hasText: /^pasted-42\s*$/ }).first();
		const box = await row.boundingBox();
		await page.mouse.dblclick(box.x + 4, box.y + box.height / 2);
		await page.getByRole('button', { name: 'Copy' }).click();
		await page.getByText('Copied the selection.').waitFor();
		assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'pasted-42', 'a double click selects the word');
		await screenshot(page, 'cluster-shell');
	});

	it('reconnects a dropped session as a new session and says so', async () => {
		const { page } = admin;
		const before = await page.locator('.term-panel:not([hidden]) .term-status').innerText();
		const pids = wsbridgePids(stack);
		assert.equal(pids.length, 1, 'one session open');
		process.kill(pids[0], 'SIGKILL');
		await page.getByText(/Reconnected as a new session/).waitFor({ timeout: 30000 });
		await page.locator('.tab .pill-connected').waitFor({ timeout: 30000 });
		const now = await page.locator('.term-panel:not([hidden]) .term-status').innerText();
		assert.notEqual(now, before, 'a new session id');
		await waitForRow(page, /This is a new session/);
		await waitForRow(page, /[$#]\s*$/);
		await typeInTerminal(page, 'echo again-$((1+1))');
		await waitForRow(page, /^again-2$/);
		await typeInTerminal(page, 'kubectl get pods -n periscope-system');
		await waitForRow(page, /periscope-shell-\S+\s+1\/1\s+Running/);
		// Closing the tab ends the session: the server writes its close row, with the
		// command. (The killed session's bridge could write none.)
		await page.getByRole('button', { name: 'Close Cluster shell · local' }).click();
		assert.equal(await page.locator('#dock').isHidden(), true, 'the dock goes away with the last tab');
	});

	it('opens a node shell after the preflight, and refuses an offline agent with the reason', async () => {
		const { page } = admin;
		await page.getByRole('link', { name: 'Nodes' }).first().click();
		await page.getByRole('heading', { name: 'Nodes of local' }).waitFor();
		await screenshot(page, 'nodes');
		await page.getByRole('button', { name: `Open a node shell on ${OFFLINE_NODE}` }).click();
		const dialog = page.locator('dialog[open]');
		await dialog.getByText(/the SSM agent on this node is ConnectionLost/).waitFor();
		assert.equal(await dialog.getByRole('button', { name: 'Open node shell' }).isDisabled(), true);
		await dialog.getByRole('button', { name: 'Cancel' }).click();

		await page.getByRole('button', { name: `Open a node shell on ${NODE}` }).click();
		await dialog.getByText('assumed-role/periscope-node-shell/periscope-user-admin').waitFor();
		assert.match(await dialog.innerText(), /SSM agent\s+Online/);
		await screenshot(page, 'node-preflight');
		await dialog.getByRole('button', { name: 'Open node shell' }).click();
		await page.getByRole('tab', { name: new RegExp(`Node shell · ${NODE.replace(/\./g, '\\.')}`) }).waitFor();
		await page.locator('.tab .pill-connected').waitFor({ timeout: 30000 });
		await waitForRow(page, /[$#]\s*$/);
		await typeInTerminal(page, 'echo hi');
		await waitForRow(page, /^hi$/);
		await screenshot(page, 'node-shell');
		await page.getByRole('button', { name: `Close Node shell · ${NODE}` }).click();
	});

	it('lists both sessions in the audit log, with the transcript and the command in the details', async () => {
		const { page } = admin;
		await page.getByRole('link', { name: 'Audit' }).click();
		await page.getByRole('heading', { name: 'Audit log' }).waitFor();
		const closeRows = page.locator('tr[data-verb="ssm_session_close"], tr[data-verb="cluster_shell_close"]');
		await waitFor('both close rows', async () => {
			await page.getByRole('button', { name: 'Apply' }).click();
			await page.locator('.audit-results .pager').waitFor();
			const verbs = await closeRows.evaluateAll((rows) => rows.map((r) => r.dataset.verb));
			return verbs.includes('ssm_session_close') && verbs.includes('cluster_shell_close');
		}, { timeoutMs: 30000, intervalMs: 500 });
		assert.ok(await page.locator('tr[data-verb="ssm_session_open"]').count() >= 1);
		assert.ok(await page.locator('tr[data-verb="cluster_shell_open"]').count() >= 2);
		await screenshot(page, 'audit');

		// Filters: only node shell closes.
		await page.locator('select[name="verb"]').selectOption('ssm_session_close');
		await page.getByRole('button', { name: 'Apply' }).click();
		await page.waitForURL(/verb=ssm_session_close/);
		let verbs = [];
		await waitFor('only node shell closes listed', async () => {
			verbs = await page.locator('tr[data-verb]').evaluateAll((rows) => rows.map((r) => r.dataset.verb));
			return verbs.length > 0 && verbs.every((v) => v === 'ssm_session_close');
		}, { timeoutMs: 10000 }).catch((e) => assert.fail(`${e.message}: ${verbs}`));

		await page.locator('tr[data-verb="ssm_session_close"] a', { hasText: 'Details' }).first().click();
		await page.getByRole('heading', { name: 'Node shell closed' }).waitFor();
		await waitForRow(page, /^hi$/, { scope: '.transcript-host' });
		assert.match(await page.locator('.facts.detail').innerText(), new RegExp(NODE.replace(/\./g, '\\.')));
		await screenshot(page, 'audit-node-transcript');

		// The recording, played in the page: Play runs it to the output typed in the session;
		// the position slider seeks back to the start (nothing on screen yet) and to the end.
		const player = page.locator('.recording');
		const screen = player.locator('.player-host .ap-term');
		const play = player.getByRole('button', { name: 'Play' });
		await play.waitFor();
		await waitFor('the recording loaded', () => play.isEnabled(), { timeoutMs: 10000 });
		const total = Number(await player.locator('.player-position').getAttribute('max'));
		assert.ok(total > 0, `a recording of ${total} s`);
		await play.click();
		await waitFor('the played recording showing the output', async () => /(^|\n)hi\s*(\n|$)/.test(await screen.innerText()), { timeoutMs: 20000 });
		await player.getByRole('button', { name: 'Play' }).waitFor({ timeout: (total + 5) * 1000 }); // ended: Pause is Play again
		assert.match(await player.locator('.player-time').innerText(), /^(\d+(?:\.\d s|:\d\d)) \/ \1$/, 'at the end');
		await player.locator('.player-position').fill('0');
		await waitFor('seeked to the start', async () => !/hi/.test(await screen.innerText()), { timeoutMs: 5000 });
		assert.match(await player.locator('.player-time').innerText(), /^0(\.0 s|:00) \//);
		await player.locator('.player-position').fill(String(total));
		await waitFor('seeked to the end', async () => /(^|\n)hi\s*(\n|$)/.test(await screen.innerText()), { timeoutMs: 5000 });
		// A new speed keeps the position.
		await player.getByLabel('Speed').selectOption('2');
		await waitFor('the end still shown at 2×', async () => /(^|\n)hi\s*(\n|$)/.test(await screen.innerText()), { timeoutMs: 5000 });
		assert.equal(await player.getByRole('link', { name: 'Download' }).getAttribute('href'), `/api/sessions/${await page.locator('.facts.detail a code').innerText()}/recording`);
		await screenshot(page, 'audit-recording');
		await page.setViewportSize(NARROW);
		await waitFor('the player fitted to 420 px', async () => (await page.evaluate(() => {
			const m = document.getElementById('main');
			return m.scrollWidth - m.clientWidth;
		})) <= 0, { timeoutMs: 5000 });
		await screenshot(page, 'audit-recording');
		await page.setViewportSize(WIDE);

		await page.goto(`${stack.url}/#/audit?verb=cluster_shell_close`);
		await page.locator('tr[data-verb="cluster_shell_close"]').first().waitFor();
		await page.locator('tr[data-verb="cluster_shell_close"] a', { hasText: 'Details' }).first().click();
		await page.getByRole('heading', { name: 'Cluster shell closed' }).waitFor();
		await page.locator('table.commands code', { hasText: 'kubectl get pods -n periscope-system' }).waitFor();
		await screenshot(page, 'audit-cluster-commands');
	});

	it('is usable in a 420 px wide window', async () => {
		const { page } = admin;
		await page.setViewportSize(NARROW);
		for (const [hash, name, ready] of [
			['#/', 'clusters', '.cluster'],
			['#/clusters/local/nodes', 'nodes', 'tr[data-node]'],
			['#/audit', 'audit', 'tr[data-verb]'],
		]) {
			await page.goto(`${stack.url}/${hash}`);
			await page.locator(ready).first().waitFor();
			const overflow = await page.evaluate(() => Math.max(
				document.documentElement.scrollWidth - window.innerWidth,
				...[...document.querySelectorAll('.topbar, .page')].map((el) => el.scrollWidth - el.clientWidth)));
			await screenshot(page, name);
			assert.ok(overflow <= 0, `${name}: no sideways scrolling (${overflow}px)`);
		}
		await page.locator('tr[data-verb="ssm_session_close"] a', { hasText: 'Details' }).first().click();
		await page.locator('.transcript-host .xterm-rows').waitFor();
		await screenshot(page, 'audit-node-transcript');
		await page.goto(`${stack.url}/#/`);
		await page.getByRole('button', { name: 'Open a cluster shell on local' }).click();
		await page.locator('.tab .pill-connected').waitFor({ timeout: 30000 });
		await typeInTerminal(page, 'echo narrow');
		await waitForRow(page, /^narrow$/);
		await screenshot(page, 'cluster-shell');
		await page.getByRole('button', { name: 'Close Cluster shell · local' }).click();
		await page.setViewportSize(WIDE);
	});

	it('lists the live sessions, and the cap refusal leads there to end one', async () => {
		const { page } = admin;
		await page.setViewportSize(WIDE);
		await page.goto(`${stack.url}/#/`);
		const open = page.getByRole('button', { name: 'Open a cluster shell on local' });
		for (let i = 1; i <= 2; i += 1) {
			await open.click();
			await waitFor(`session ${i} connected`, async () => (await page.locator('.tab .pill-connected').count()) === i, { timeoutMs: 30000 });
		}
		const ids = await page.locator('.term-status').evaluateAll((els) => els.map((e) => e.textContent.replace('Session ', '')));
		// The third meets the per-user cap (clusterShell.maxSessionsPerUser, 2 by default).
		await open.click();
		const alert = page.locator('.term-panel:not([hidden]) .term-alert');
		await alert.getByText('E_CAP_USER').waitFor({ timeout: 30000 });
		assert.match(await alert.innerText(), /End one of these on the Sessions page.*press Open a new session/s);
		await alert.getByRole('link', { name: 'See your open sessions' }).click();
		await page.getByRole('heading', { name: 'Live sessions' }).waitFor();
		assert.equal(await page.locator('.dock-panels').isVisible(), false, 'the dock folds to show the list');
		const rows = page.locator('tr[data-session]');
		await waitFor('both sessions listed', async () => (await rows.count()) === 2, { timeoutMs: 10000 });
		assert.deepEqual((await rows.evaluateAll((r) => r.map((x) => x.dataset.session))).sort(), [...ids].sort());
		const first = page.locator(`tr[data-session="${ids[0]}"]`);
		assert.match(await first.innerText(), /Cluster shell\s+in this window/);
		assert.match(await first.innerText(), /admin@periscope\.local/);
		await screenshot(page, 'sessions');
		await page.setViewportSize(NARROW);
		await screenshot(page, 'sessions');
		await page.setViewportSize(WIDE);

		// End the first, after the confirmation: it leaves the list and its terminal says so.
		await first.getByRole('button', { name: 'End' }).click();
		const dialog = page.locator('dialog[open]');
		await dialog.getByText(/Its shell and anything running in it stop/).waitFor();
		await dialog.getByRole('button', { name: 'End session' }).click();
		await waitFor('the ended session gone from the list', async () => (await rows.count()) === 1, { timeoutMs: 10000 });
		assert.equal(await page.locator(`tr[data-session="${ids[1]}"]`).count(), 1);
		const ended = page.locator('.tab', { has: page.locator('.pill-closed') });
		await ended.first().waitFor({ timeout: 10000 });
		await ended.first().click();
		assert.match(await page.locator('.term-panel:not([hidden]) .term-banner').innerText(), /ended by admin@periscope\.local/i);

		// Now the refused tab opens.
		await page.getByRole('tab', { name: /Cluster shell · local\s*Failed/ }).click();
		await page.locator('.term-panel:not([hidden])').getByRole('button', { name: 'Open a new session' }).click();
		await waitFor('the third tab connected', async () => (await page.locator('.tab .pill-connected').count()) === 2, { timeoutMs: 30000 });
		const closeButtons = page.getByRole('button', { name: 'Close Cluster shell · local' });
		while ((await closeButtons.count()) > 0) await closeButtons.first().click();
		assert.equal(await page.locator('#dock').isHidden(), true);
		// The refused upgrade is the browser's own console error, and the one expected here.
		const refused = (p) => /api\/clusters\/local\/shell/.test(p) && /429/.test(p);
		assert.equal(admin.problems.filter(refused).length > 0, true, 'the cap refused the upgrade');
		admin.problems.splice(0, admin.problems.length, ...admin.problems.filter((p) => !refused(p)));
	});

	it('lets an audit admin watch a live terminal read-only, and tells the operator', async () => {
		const { page } = admin;
		const other = await openPage(await browser.newContext({ viewport: WIDE }), stack.url);
		const op = other.page;
		await signInThroughIdp(op, stack.url, 'admin');
		await op.getByRole('button', { name: 'Open a cluster shell on local' }).click();
		await op.locator('.tab .pill-connected').waitFor({ timeout: 30000 });
		await waitForRow(op, /[$#]\s*$/);
		await typeInTerminal(op, 'echo before-$((1+1))');
		await waitForRow(op, /^before-2$/);
		const sid = (await op.locator('.term-panel:not([hidden]) .term-status').innerText()).replace('Session ', '');

		await page.goto(`${stack.url}/#/sessions`);
		await page.getByRole('link', { name: `Watch session ${sid}` }).click();
		await page.getByRole('heading', { name: 'Watching live' }).waitFor();
		await waitForRow(page, /^before-2$/, { scope: '.watch-host' });
		// The operator is told, and it stays in the status strip while it lasts.
		await op.locator('.term-panel:not([hidden]) .term-watched').getByText('Watched live by an audit admin').waitFor({ timeout: 10000 });
		// What is typed after the watcher joined reaches the watcher.
		await typeInTerminal(op, 'echo after-$((2+3))');
		await waitForRow(op, /^after-5$/);
		await waitForRow(page, /^after-5$/, { scope: '.watch-host', timeoutMs: 10000 });
		// Read-only: keys pressed on the watched terminal go nowhere.
		await page.locator('.watch-host .xterm-helper-textarea').focus();
		await page.keyboard.type('echo zzz-$((3+4))');
		await page.keyboard.press('Enter');
		await typeInTerminal(op, 'echo mark-$((4+5))');
		await waitForRow(page, /^mark-9$/, { scope: '.watch-host', timeoutMs: 10000 });
		assert.equal((await terminalRows(op)).some((r) => /zzz|^7$/.test(r)), false, 'nothing the watcher typed reached the shell');
		await screenshot(page, 'watch');
		await page.setViewportSize(NARROW);
		await screenshot(page, 'watch');
		await page.setViewportSize(WIDE);
		await screenshot(op, 'watched-operator');

		await op.getByRole('button', { name: 'Close Cluster shell · local' }).click();
		await page.locator('.watch-status').getByText(/The session ended\./).waitFor({ timeout: 15000 });
		allProblems.push(...other.problems);
		await op.context().close();
	});

	it('signs out everywhere, which closes the terminal another browser has open', async () => {
		const { page } = admin;
		const other = await openPage(await browser.newContext({ viewport: WIDE }), stack.url);
		await signInThroughIdp(other.page, stack.url, 'admin');
		await other.page.getByRole('button', { name: 'Open a cluster shell on local' }).click();
		await other.page.locator('.tab .pill-connected').waitFor({ timeout: 30000 });
		await waitForRow(other.page, /[$#]\s*$/);

		await page.goto(`${stack.url}/#/`);
		await page.locator('details.menu summary').click();
		const signedOutAt = Date.now();
		// A form POST, then through the identity provider's sign-out and back.
		await page.getByRole('button', { name: 'Sign out everywhere' }).click();
		await page.getByText('You are signed out.').waitFor({ timeout: 15000 });
		const banner = other.page.locator('.term-panel:not([hidden]) .term-banner');
		await banner.getByText(/^You signed out \(here, or everywhere from another browser\)/).waitFor({ timeout: 15000 });
		assert.ok(Date.now() - signedOutAt <= 15000, `the other browser's terminal closed ${Date.now() - signedOutAt} ms after the click`);
		assert.match(await other.page.locator('.tab .pill').innerText(), /Closed/);
		await screenshot(other.page, 'signed-out-elsewhere');
		allProblems.push(...other.problems);
		await other.page.context().close();
	});

	it('signs out', async () => {
		const { page } = admin;
		await signInThroughIdp(page, stack.url, 'admin');
		await page.locator('details.menu summary').click();
		await page.getByRole('button', { name: 'Sign out', exact: true }).click();
		await page.getByText('You are signed out.').waitFor();
		// Asked outside the page, so the expected 401 is not a console error of the page.
		const whoami = await page.context().request.get(`${stack.url}/api/auth/whoami`, { headers: { accept: 'application/json' } });
		assert.equal(whoami.status(), 401, 'the session ended on the server');
		await screenshot(page, 'signed-out');
		allProblems.push(...admin.problems);
	});

	it('shows a viewer no shell buttons', async () => {
		const context = await browser.newContext({ viewport: WIDE });
		const viewer = await openPage(context, stack.url);
		const { page } = viewer;
		await signInThroughIdp(page, stack.url, 'viewer');
		assert.match(await page.locator('details.menu summary').innerText(), /viewer@periscope\.local\s+read/i);
		assert.equal(await page.getByRole('button', { name: /shell/i }).count(), 0);
		await page.getByText('Your tier can look, not open shells.').waitFor();
		await screenshot(page, 'viewer-clusters');
		await page.getByRole('link', { name: 'Nodes' }).first().click();
		await page.locator('tr[data-node]').first().waitFor();
		assert.equal(await page.getByRole('button', { name: /shell/i }).count(), 0);
		await page.getByRole('link', { name: 'Audit' }).click();
		await page.getByText('Only your own events').waitFor();
		await context.close();
		allProblems.push(...viewer.problems);
	});

	it('raised no console error and no uncaught exception on any page', () => {
		assert.deepEqual(allProblems, []);
	});
});

describe('web UI terminal timers and failures in Chromium', { skip: chromiumMissing }, () => {
	let stack;
	let browser;
	let tmp;
	let deadServer;
	before(async () => {
		ensureWebBuilt();
		// A cluster whose apiserver drops every connection: the shell cannot start there. The
		// port is held by this test, so no other suite's server can answer on it.
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-e2e-'));
		deadServer = net.createServer((sock) => sock.destroy());
		await new Promise((resolve) => deadServer.listen(0, '127.0.0.1', resolve));
		const deadPort = deadServer.address().port;
		const kubeconfig = path.join(tmp, 'dead.kubeconfig');
		fs.writeFileSync(kubeconfig, [
			'apiVersion: v1', 'kind: Config',
			'clusters: [{name: dead, cluster: {server: "https://127.0.0.1:' + deadPort + '", insecure-skip-tls-verify: true}}]',
			'users: [{name: u, user: {token: t}}]',
			'contexts: [{name: dead, context: {cluster: dead, user: u}}]',
			'current-context: dead', '',
		].join('\n'));
		stack = await startStack({
			config: {
				clusterShell: { idleSeconds: 6, idleWarnSeconds: 4 },
				nodeShell: { maxDurationSeconds: MAX_DURATION_SECONDS },
				clusters: [
					{ name: 'local', backend: 'kubeconfig', kubeconfigPath: '@KUBECONFIG@' },
					{ name: 'dead', backend: 'kubeconfig', kubeconfigPath: kubeconfig },
				],
			},
		});
		browser = await launchChromium();
	});
	after(async () => {
		if (browser) await browser.close();
		if (stack) await stack.stop();
		if (deadServer) await new Promise((resolve) => deadServer.close(resolve));
		if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
	});

	it('warns before the idle cut with a countdown, then says why the session ended', async () => {
		const context = await browser.newContext({ viewport: WIDE });
		const { page, problems } = await openPage(context, stack.url);
		await signInThroughIdp(page, stack.url, 'admin');
		await page.getByRole('button', { name: 'Open a cluster shell on local' }).click();
		await page.locator('.tab .pill-connected, .tab .pill-idle').first().waitFor({ timeout: 30000 });
		const banner = page.locator('.term-panel:not([hidden]) .term-banner');
		await banner.getByText(/No activity: this session closes in \d+ s/).waitFor({ timeout: 15000 });
		assert.match(await page.locator('.tab .pill').innerText(), /Idle · closes in 0:0\d/);
		await screenshot(page, 'idle-warning');
		await banner.getByText('Closed after a period without activity.').waitFor({ timeout: 15000 });
		assert.match(await page.locator('.tab .pill').innerText(), /Closed/);
		assert.ok(await page.getByRole('button', { name: 'Open a new session' }).isVisible());
		assert.deepEqual(problems, []);
		await context.close();
	});

	it('shows a failed shell in plain words with its code and what to do', async () => {
		const context = await browser.newContext({ viewport: WIDE });
		const { page } = await openPage(context, stack.url);
		await signInThroughIdp(page, stack.url, 'admin');
		await page.getByRole('button', { name: 'Open a cluster shell on dead' }).click();
		const alert = page.locator('.term-panel:not([hidden]) .term-alert');
		await alert.locator('code').waitFor({ timeout: 30000 });
		const text = await alert.innerText();
		// The dead cluster's apiserver does not answer.
		assert.match(text, /^The cluster or AWS could not be reached, or refused the stream\..*E_UPSTREAM/s);
		assert.match(text, /Press Open a new session in a moment/, 'names the button as it reads');
		assert.ok(await page.getByRole('button', { name: 'Open a new session' }).isVisible());
		assert.match(await page.locator('.tab .pill').innerText(), /Failed/);
		await screenshot(page, 'shell-failed');
		await context.close();
	});
	it('counts down to the maximum-duration cut, then says why the session ended', async () => {
		const { context, page, problems } = await signedInPage(browser, stack, WIDE);
		await page.goto(`${stack.url}/#/clusters/local/nodes`);
		await page.getByRole('button', { name: `Open a node shell on ${NODE}` }).click();
		const dialog = page.locator('dialog[open]');
		await dialog.getByRole('button', { name: 'Open node shell' }).click({ timeout: 15000 });
		await page.locator('.tab .pill-idle, .tab .pill-connected').first().waitFor({ timeout: 30000 });
		const banner = page.locator('.term-panel:not([hidden]) .term-banner');
		const warning = banner.getByText(/^This session reaches its maximum duration and closes in (\d+) s\. .*press Open a new session/);
		await warning.waitFor({ timeout: 10000 });
		const shownAt = Date.now();
		const said = Number((await warning.innerText()).match(/closes in (\d+) s/)[1]);
		assert.ok(said > 0 && said <= MAX_DURATION_SECONDS, `counts down from at most ${MAX_DURATION_SECONDS} s (${said})`);
		assert.match(await page.locator('.tab .pill').innerText(), /^Ends in 0:\d\d$/);
		assert.match(await page.locator('.term-panel:not([hidden]) .term-max').innerText(), /^Ends in 0:\d\d$/);
		await screenshot(page, 'max-duration-warning');
		await banner.getByText('The session reached its maximum duration. Press Open a new session to continue.').waitFor({ timeout: (MAX_DURATION_SECONDS + 10) * 1000 });
		const cutAfter = (Date.now() - shownAt) / 1000;
		// The countdown was right: the cut came when it said, give or take the bridge's timer
		// tick and the page's one-second refresh.
		assert.ok(Math.abs(cutAfter - said) <= 3, `cut ${cutAfter.toFixed(1)} s after the countdown said ${said} s`);
		assert.match(await page.locator('.tab .pill').innerText(), /Closed/);
		assert.deepEqual(problems, []);
		await context.close();
	});

	it('keeps the active tab visible in a 420 px window with 8 tabs', async () => {
		const { context, page } = await signedInPage(browser, stack, NARROW);
		// Shells on the dead cluster fail at once, so eight tabs stay under every session cap.
		for (let i = 1; i <= 8; i += 1) {
			await page.getByRole('button', { name: 'Open a cluster shell on dead' }).click();
			await waitFor(`tab ${i} failed`, async () => (await page.locator('.tab .pill-error').count()) === i, { timeoutMs: 30000, intervalMs: 100 });
		}
		const tabs = page.getByRole('tab');
		assert.equal(await tabs.count(), 8);
		const strip = page.locator('.tablist');
		const overflow = await strip.evaluate((el) => el.scrollWidth - el.clientWidth);
		assert.ok(overflow > 0, `the 8 tabs are wider than the strip (${overflow}px more)`);
		assert.equal(await tabs.nth(7).getAttribute('aria-selected'), 'true', 'the newest tab is active');
		await waitFor('the newest tab scrolled into view', () => insideStrip(page, tabs.nth(7)), { timeoutMs: 3000 });
		assert.equal(await insideStrip(page, tabs.nth(0)), false, 'the first tab is scrolled away');
		await screenshot(page, 'tabs-8');
		// Keyboard: Home activates the first tab and brings it into view, End the last.
		await tabs.nth(7).focus();
		await page.keyboard.press('Home');
		assert.equal(await tabs.nth(0).getAttribute('aria-selected'), 'true');
		await waitFor('the first tab scrolled into view', () => insideStrip(page, tabs.nth(0)), { timeoutMs: 3000 });
		await page.keyboard.press('ArrowRight');
		await page.keyboard.press('ArrowRight');
		await page.keyboard.press('ArrowRight');
		await waitFor('the fourth tab in view', () => insideStrip(page, tabs.nth(3)), { timeoutMs: 3000 });
		await page.keyboard.press('End');
		await waitFor('the last tab in view again', () => insideStrip(page, tabs.nth(7)), { timeoutMs: 3000 });
		// A window that narrows again keeps the active tab in view.
		await page.setViewportSize(WIDE);
		await page.setViewportSize(NARROW);
		await waitFor('the active tab in view after a resize', () => insideStrip(page, tabs.nth(7)), { timeoutMs: 3000 });
		assert.equal((await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)) <= 0, true, 'no sideways scrolling of the page');
		await context.close();
	});

	it('folds the dock when no session is live, and remembers the split the user dragged', async () => {
		const { context, page } = await signedInPage(browser, stack, WIDE);
		await page.evaluate(() => localStorage.removeItem('periscope.dockFraction'));
		await page.getByRole('button', { name: 'Open a cluster shell on dead' }).click();
		await page.locator('.tab .pill-error').waitFor({ timeout: 30000 });
		const dock = page.locator('#dock');
		const header = await box(page.locator('#header'));
		const opened = await box(dock);
		assert.ok(opened.height >= 0.5 * (WIDE.height - header.height), `a session in view gets most of the window (${opened.height}px)`);
		assert.ok(await page.locator('.term-panel:not([hidden]) .term-alert').isVisible(), 'the failure is there to read');

		// The user moves on with no live session left: the dock folds to its tab strip.
		await page.getByRole('link', { name: 'Audit' }).click();
		await page.locator('tr[data-verb]').first().waitFor();
		await waitFor('the dock folded', async () => (await box(dock)).height < 60, { timeoutMs: 3000 });
		assert.equal(await page.locator('.dock-panels').isVisible(), false);
		assert.equal(await page.getByRole('button', { name: 'Show' }).getAttribute('aria-expanded'), 'false');
		const pageBox = await box(page.locator('#main'));
		assert.ok(pageBox.height > WIDE.height - header.height - 70, `the page gets the window back (${pageBox.height}px)`);
		assert.ok(await page.locator('tr[data-verb]').count() >= 5, 'the audit log shows its rows');
		await screenshot(page, 'dock-collapsed');
		await page.setViewportSize(NARROW);
		await screenshot(page, 'dock-collapsed');
		await page.setViewportSize(WIDE);

		// A click on the tab brings the session back.
		await page.getByRole('tab', { name: /Cluster shell · dead/ }).click();
		await waitFor('the dock open again', async () => (await box(dock)).height > 300, { timeoutMs: 3000 });

		// Drag the splitter 120 px up: the dock grows by as much, and keeps it after a reload.
		const before = (await box(dock)).height;
		const sp = await box(page.locator('#splitter'));
		await page.mouse.move(sp.x + sp.width / 2, sp.y + sp.height / 2);
		await page.mouse.down();
		await page.mouse.move(sp.x + sp.width / 2, sp.y + sp.height / 2 - 60, { steps: 4 });
		await page.mouse.move(sp.x + sp.width / 2, sp.y + sp.height / 2 - 120, { steps: 4 });
		await page.mouse.up();
		const dragged = (await box(dock)).height;
		assert.ok(Math.abs(dragged - before - 120) <= 2, `dragged from ${before} to ${dragged}px`);
		await page.goto(`${stack.url}/#/`);
		await page.reload();
		await page.getByRole('button', { name: 'Open a cluster shell on dead' }).click();
		await page.locator('.tab .pill-error').waitFor({ timeout: 30000 });
		assert.ok(Math.abs((await box(dock)).height - dragged) <= 2, 'the split is remembered');
		// The keyboard moves it too.
		await page.locator('#splitter').focus();
		await page.keyboard.press('ArrowDown');
		assert.ok(Math.abs((await box(dock)).height - (dragged - 32)) <= 2, 'ArrowDown gives the page 32 px');

		// Full window: the terminals take the whole window; the button says how to get back.
		await page.getByRole('button', { name: 'Full window' }).click();
		assert.ok((await box(dock)).height >= WIDE.height - 1, 'the dock fills the window');
		assert.equal(await page.locator('#header').isVisible(), false);
		await screenshot(page, 'dock-full-window');
		await page.getByRole('button', { name: 'Exit full window' }).click();
		assert.ok(await page.locator('#header').isVisible());
		await context.close();
	});

	it('explains a stale sign-in link in its own words and offers to sign in again', async () => {
		const context = await browser.newContext({ viewport: WIDE });
		const { page, problems } = await openPage(context, stack.url);
		// What a browser does with an old callback address (the back button, a reused tab).
		await page.goto(`${stack.url}/api/auth/callback?code=old&state=stale`);
		await page.waitForURL(`${stack.url}/?signInProblem=E_LOGIN_EXPIRED`);
		const notice = page.getByRole('alert');
		await notice.getByText(/^That sign-in link is stale/).waitFor();
		assert.match(await notice.innerText(), /Press Sign in with Local IdP to start a fresh sign-in\./);
		assert.equal(await page.getByText('"code"').count(), 0, 'no raw JSON');
		await screenshot(page, 'stale-callback');
		await page.setViewportSize(NARROW);
		await screenshot(page, 'stale-callback');
		await page.setViewportSize(WIDE);
		await page.getByRole('link', { name: 'Sign in with Local IdP' }).click();
		await page.waitForSelector('input[name="login"]');
		await page.fill('input[name="login"]', 'admin');
		await page.fill('input[name="password"]', 'admin');
		await page.locator('button[type="submit"]').first().click();
		await page.locator('.cluster').first().waitFor();
		assert.equal(new URL(page.url()).search, '', 'signed in, on a clean address');
		assert.deepEqual(problems.filter((p) => !/status of 400/.test(p)), []);
		await context.close();
	});

	it('words an unavailable server and missing pages as what they are', async () => {
		const { context, page } = await signedInPage(browser, stack, WIDE);
		// The web server's own 503 page while periscope.fcgi is down (not a JSON error).
		await page.route('**/api/clusters', (route) => route.fulfill({ status: 503, contentType: 'text/html', body: '<h1>503 Service Unavailable</h1>' }));
		await page.goto(`${stack.url}/#/`);
		const notice = page.getByRole('alert');
		await notice.getByText(/^periscope is not answering right now/).waitFor();
		assert.match(await notice.innerText(), /E_UNAVAILABLE/);
		assert.doesNotMatch(await page.locator('#main').innerText(), /Something went wrong|E_INTERNAL/);
		await screenshot(page, 'unavailable');
		await page.unroute('**/api/clusters');
		await page.getByRole('button', { name: 'Try again' }).click();
		await page.locator('.cluster').first().waitFor();

		await page.goto(`${stack.url}/#/audit/999999`);
		await page.getByText('There is no audit event 999999 that you may see.').waitFor();
		assert.doesNotMatch(await page.locator('#main').innerText(), /cluster or node/);
		await screenshot(page, 'audit-event-missing');
		await page.goto(`${stack.url}/#/clusters/nope/nodes`);
		await page.getByText('There is no cluster named nope.').waitFor();
		await context.close();
	});
});
