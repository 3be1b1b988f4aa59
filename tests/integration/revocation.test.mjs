// Revocation reaches live terminals: when the login session a terminal was opened under
// ends (sign-out, sign-out everywhere, idle or absolute timeout) or, after a token refresh,
// the user's groups no longer give a tier that may open the shell, the terminal closes
// within 15 s with a closed frame that says why, and its close audit row says the same.
// Through the whole stack (lighttpd or Apache, websocketd, wsbridge, the fakes).
import assert from 'node:assert/strict';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { NODES, startStack } from '../lib/stack.mjs';
import { signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';

const CLUSTER_SHELL = '/api/clusters/local/shell';
const NODE_SHELL = `/api/clusters/local/nodes/${NODES[0].name}/shell`;
const REVOCATION_DEADLINE_MS = 15000;

async function open(stack, browser, path) {
	const t = await Terminal.open(stack, path, { cookie: `periscope_session=${browser.cookie()}` });
	t.resize(100, 30);
	await t.waitFrame('hello', 30000);
	return t;
}

// Sign-out as the web UI does it: a form POST from the app's own page.
function signOut(stack, browser, { everywhere = false } = {}) {
	return browser.request(`/api/auth/logout${everywhere ? '/everywhere' : ''}`, {
		method: 'POST',
		headers: { origin: stack.url, 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded' },
	});
}

// The closed frame that ends t, and how long after `since` it came.
async function closedWithin(t, since, deadlineMs = REVOCATION_DEADLINE_MS) {
	const end = await t.until('the closed frame', () => t.frames.find((f) => f.type === 'closed' || (f.type === 'error' && f.fatal !== false)), deadlineMs + 2000);
	return { end, afterMs: Date.now() - since };
}

// The close row of a terminal session, read by a fresh admin session.
async function closeRow(stack, sessionId, verb) {
	const reader = await signIn(stack, 'admin');
	const r = await reader.get(`/api/audit?session_id=${sessionId}&verb=${verb}`);
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json.items.length, 1, r.text);
	return r.json.items[0];
}

describe('sign-out closes the terminals of the session', () => {
	let stack;
	before(async () => {
		stack = await startStack();
	});
	after(async () => stack && (await stack.stop()));

	it('sign-out everywhere closes an open cluster shell and an open node shell with reason signed_out', async () => {
		const terminals = await signIn(stack, 'admin');
		const elsewhere = await signIn(stack, 'admin');
		const cluster = await open(stack, terminals, CLUSTER_SHELL);
		const node = await open(stack, terminals, NODE_SHELL);
		cluster.type('echo cluster-$((40+2))\r');
		await cluster.waitOutput(/cluster-42/);
		node.type('echo node-$((40+2))\r');
		await node.waitOutput(/node-42/);

		const signedOutAt = Date.now();
		const out = await signOut(stack, elsewhere, { everywhere: true });
		assert.equal(out.status, 303, out.text);
		const [c, n] = await Promise.all([closedWithin(cluster, signedOutAt), closedWithin(node, signedOutAt)]);
		assert.deepEqual(c.end, { type: 'closed', reason: 'signed_out', exitCode: -1 });
		assert.deepEqual(n.end, { type: 'closed', reason: 'signed_out', exitCode: -1 });
		assert.ok(c.afterMs <= REVOCATION_DEADLINE_MS, `cluster shell closed after ${c.afterMs} ms`);
		assert.ok(n.afterMs <= REVOCATION_DEADLINE_MS, `node shell closed after ${n.afterMs} ms`);
		assert.equal((await terminals.get('/api/auth/whoami')).status, 401);

		const cRow = await closeRow(stack, cluster.frame('hello').sessionId, 'cluster_shell_close');
		assert.equal(cRow.reason, 'signed_out');
		assert.equal(cRow.extra.close_reason, 'signed_out');
		const nRow = await closeRow(stack, node.frame('hello').sessionId, 'ssm_session_close');
		assert.equal(nRow.reason, 'signed_out');
		assert.equal(nRow.extra.close_reason, 'signed_out');
	});

	it('signing out in one browser closes that browser\'s terminals only', async () => {
		const leaving = await signIn(stack, 'ops');
		const staying = await signIn(stack, 'ops');
		const gone = await open(stack, leaving, CLUSTER_SHELL);
		const kept = await open(stack, staying, CLUSTER_SHELL);
		const signedOutAt = Date.now();
		assert.equal((await signOut(stack, leaving)).status, 303);
		const g = await closedWithin(gone, signedOutAt);
		assert.equal(g.end.reason, 'signed_out');
		assert.ok(g.afterMs <= REVOCATION_DEADLINE_MS, `closed after ${g.afterMs} ms`);
		// The other browser's session, and its terminal, go on.
		kept.type('echo still-$((40+2))\r');
		await kept.waitOutput(/still-42/);
		assert.equal(kept.frames.find((f) => f.type === 'closed'), undefined);
		kept.send({ type: 'close' });
		assert.equal((await kept.end()).reason, 'client_closed');
	});
});

describe('session timeouts close the terminals', () => {
	let stack;
	before(async () => {
		stack = await startStack({ config: { auth: { session: { idleTimeout: '6s', absoluteTimeout: '20s' } } } });
	});
	after(async () => stack && (await stack.stop()));

	it('closes a terminal with session_expired once the login session is idle for idleTimeout', async () => {
		const admin = await signIn(stack, 'admin');
		// The last activity of the login session is the terminal's admission at the latest
		// (recorded to the second, at most a second late).
		const openingAt = Date.now();
		const t = await open(stack, admin, CLUSTER_SHELL);
		// The browser stays (heartbeats are not activity); the user types nothing.
		const pings = setInterval(() => t.ping(Date.now()), 1000);
		try {
			const c = await closedWithin(t, openingAt, 6000 + REVOCATION_DEADLINE_MS);
			assert.deepEqual(c.end, { type: 'closed', reason: 'session_expired', exitCode: -1 });
			assert.ok(c.afterMs >= 4000, `closed ${c.afterMs} ms after the terminal was opened, before the idle timeout`);
		} finally {
			clearInterval(pings);
		}
		const row = await closeRow(stack, t.frame('hello').sessionId, 'cluster_shell_close');
		assert.equal(row.reason, 'session_expired');
	});

	it('keeps a terminal the user types into past idleTimeout, and closes it at absoluteTimeout', async () => {
		const admin = await signIn(stack, 'admin');
		const signedInAt = Date.now();
		const t = await open(stack, admin, NODE_SHELL);
		// Keystrokes are activity of the login session: the idle timeout (6 s) never fires.
		let n = 0;
		const typing = setInterval(() => t.type(`echo tick-${++n}\r`), 1000);
		try {
			const c = await closedWithin(t, signedInAt, 20000 + REVOCATION_DEADLINE_MS);
			assert.deepEqual(c.end, { type: 'closed', reason: 'session_expired', exitCode: -1 });
			assert.ok(c.afterMs >= 19000, `closed ${c.afterMs} ms after sign-in, before the absolute timeout`);
		} finally {
			clearInterval(typing);
		}
		assert.match(t.output, /tick-12/, 'the terminal worked past the idle timeout');
		const row = await closeRow(stack, t.frame('hello').sessionId, 'ssm_session_close');
		assert.equal(row.reason, 'session_expired');
	});
});

describe('a tier lost at a token refresh closes the terminals it no longer allows', () => {
	let stack;
	before(async () => {
		// Access tokens of 5 s, refreshed 2 s before they expire: the bridge refreshes by
		// itself while the user only types into the terminal.
		stack = await startStack({
			idp: { accessTokenTtl: 5 },
			config: {
				auth: { session: { refreshBefore: '2s' } },
				clusterShell: { tiers: ['admin', 'read'] },
				nodeShell: { tiers: ['admin'] },
			},
		});
	});
	after(async () => stack && (await stack.stop()));

	it('closes the node shell as forbidden and the cluster shell as tier_changed when admin becomes read', async () => {
		const ops = await signIn(stack, 'ops');
		const cluster = await open(stack, ops, CLUSTER_SHELL);
		const node = await open(stack, ops, NODE_SHELL);
		assert.equal(cluster.frame('hello').tier, 'admin');
		// A refresh with the same groups changes nothing. Two refreshes: each of the two
		// bridges has refreshed by then (or one twice), so the groups change after every
		// bridge's last refresh; the next one is due with the new 5 s token, not later (a
		// bridge that put its next refresh 20 s after one that worked closed the terminals
		// 20 s after the change: loop run 28).
		const before = stack.idp.stats.refreshGrants;
		await cluster.until('two refreshes by the bridges', () => stack.idp.stats.refreshGrants >= before + 2, 20000);
		cluster.type('echo same-$((40+2))\r');
		await cluster.waitOutput(/same-42/);

		stack.idp.setUserGroups('ops', ['viewers']);
		const changedAt = Date.now();
		try {
			// The next refresh (within the 5 s token life) brings the new groups.
			const [c, n] = await Promise.all([closedWithin(cluster, changedAt), closedWithin(node, changedAt)]);
			assert.deepEqual(c.end, { type: 'closed', reason: 'tier_changed', exitCode: -1 });
			assert.deepEqual(n.end, { type: 'closed', reason: 'forbidden', exitCode: -1 });
			assert.ok(c.afterMs <= REVOCATION_DEADLINE_MS && n.afterMs <= REVOCATION_DEADLINE_MS, `${c.afterMs} / ${n.afterMs} ms`);
			// The API agrees: ops is read tier now.
			assert.equal((await ops.get('/api/auth/whoami')).json.tier, 'read');
			// A new cluster shell opens, with the new tier.
			const again = await open(stack, ops, CLUSTER_SHELL);
			assert.equal(again.frame('hello').tier, 'read');
			again.send({ type: 'close' });
			await again.end();
		} finally {
			stack.idp.setUserGroups('ops', ['platform-admins']);
		}
		const row = await closeRow(stack, node.frame('hello').sessionId, 'ssm_session_close');
		assert.equal(row.reason, 'forbidden');
	});
});
