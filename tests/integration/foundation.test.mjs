// The foundation end to end: the real web server (lighttpd or Apache, PERISCOPE_SERVER)
// a browser-like client signing in through the provider's form.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startStack, waitFor } from '../lib/stack.mjs';
import { chooseServer } from '../lib/webserver.mjs';
import { anonymous, signIn } from '../lib/session.mjs';

function assertError(r, status, code) {
	assert.equal(r.status, status, r.text);
	assert.equal(r.json?.code, code, r.text);
	assert.equal(typeof r.json.message, 'string');
	assert.ok(r.headers.get('x-request-id'), 'every answer carries X-Request-Id');
}

describe(`foundation through ${chooseServer()}`, () => {
	let stack;
	before(async () => {
		stack = await startStack({ idp: { accessTokenTtl: 5 }, config: { auth: { session: { refreshBefore: '2s' } } } });
	});
	after(async () => stack && (await stack.stop()));

	it('serves health, auth config and static files', async () => {
		const h = await anonymous(stack, '/healthz');
		assert.equal(h.status, 200);
		assert.deepEqual(h.json, { status: 'ok' });
		const c = await anonymous(stack, '/api/auth/config');
		assert.equal(c.json.authMode, 'oidc');
		assert.equal(c.json.providerName, 'Local IdP');
		const page = await fetch(`${stack.url}/`);
		assert.equal(page.status, 200);
		assert.match(await page.text(), /<title>periscope<\/title>/);
	});

	it('answers unknown routes, wrong methods and anonymous calls with JSON errors', async () => {
		assertError(await anonymous(stack, '/api/nope'), 404, 'E_NOT_FOUND');
		const m = await anonymous(stack, '/api/clusters', { method: 'DELETE' });
		assertError(m, 405, 'E_METHOD_NOT_ALLOWED');
		assert.equal(m.headers.get('allow'), 'GET');
		const u = await anonymous(stack, '/api/auth/whoami');
		assertError(u, 401, 'E_AUTH');
		const nav = await anonymous(stack, '/api/clusters', { headers: { accept: 'text/html' } });
		assert.equal(nav.status, 302);
		assert.equal(nav.headers.get('location'), '/api/auth/login?returnTo=%2Fapi%2Fclusters');
		assertError(await anonymous(stack, '/api/audit/%zz'), 400, 'E_INVALID_REQUEST');
	});

	it('starts sign-in with PKCE, state and nonce, binding the attempt to the browser', async () => {
		const r = await anonymous(stack, '/api/auth/login?returnTo=%2Faudit');
		assert.equal(r.status, 302);
		const loc = new URL(r.headers.get('location'));
		assert.equal(loc.origin, new URL(stack.idp.issuer).origin);
		const q = loc.searchParams;
		assert.equal(q.get('response_type'), 'code');
		assert.equal(q.get('client_id'), 'periscope');
		assert.equal(q.get('code_challenge_method'), 'S256');
		assert.match(q.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
		assert.ok(q.get('state') && q.get('nonce'));
		assert.equal(q.get('redirect_uri'), `${stack.url}/api/auth/callback`);
		const cookie = r.headers.get('set-cookie');
		assert.match(cookie, new RegExp(`^periscope_login=${q.get('state')};`));
		assert.match(cookie, /; HttpOnly/);
		assert.match(cookie, /; SameSite=Lax/);
		assert.doesNotMatch(cookie, /Secure/);
	});

	it('signs an admin in through the real IdP and answers whoami and clusters', async () => {
		const admin = await signIn(stack, 'admin');
		assert.equal(new URL(admin.landing.location).pathname, '/');
		const session = admin.jar.all().find((c) => c.name === 'periscope_session');
		assert.ok(session.httpOnly, 'session cookie is HttpOnly');
		assert.equal(session.secure, false, 'no Secure flag over plain http');
		assert.equal(session.value.length, 43, '256 random bits, base64url');

		const who = await admin.get('/api/auth/whoami');
		assert.equal(who.status, 200, who.text);
		assert.equal(who.json.subject, 'user-admin');
		assert.equal(who.json.email, 'admin@periscope.local');
		assert.deepEqual(who.json.groups, ['platform-admins']);
		assert.equal(who.json.tier, 'admin');
		assert.equal(who.json.authzMode, 'tier');
		assert.equal(who.json.auditScope, 'all');
		assert.ok(who.json.expiresAt > Date.now() / 1000);

		const clusters = await admin.get('/api/clusters');
		assert.equal(clusters.status, 200);
		assert.deepEqual(clusters.json.clusters.map((c) => c.name), ['local', 'prod-eu']);
		const local = clusters.json.clusters[0];
		assert.equal(local.backend, 'kubeconfig');
		assert.equal(local.region, 'eu-west-1');
		assert.equal(local.clusterShellEnabled, true);
		assert.equal(local.clusterShellMode, 'bash');
		assert.equal(local.clusterShellAllowed, true);
		assert.equal(local.nodeShellEnabled, true);
		assert.equal(local.nodeShellAllowed, true);
		const eks = clusters.json.clusters[1];
		assert.equal(eks.clusterShellEnabled, false, 'an EKS cluster cannot be reached without AWS credentials of the server');
		assert.equal(eks.clusterShellAllowed, false);
	});

	it('gives a viewer read tier, no shells, and only their own audit rows', async () => {
		const viewer = await signIn(stack, 'viewer');
		const who = await viewer.get('/api/auth/whoami');
		assert.equal(who.json.tier, 'read');
		assert.equal(who.json.auditScope, 'self');
		const clusters = await viewer.get('/api/clusters');
		for (const c of clusters.json.clusters) {
			assert.equal(c.clusterShellAllowed, false);
			assert.equal(c.nodeShellAllowed, false);
		}
		const audit = await viewer.get('/api/audit?actor=user-admin');
		assert.equal(audit.status, 200);
		assert.equal(audit.headers.get('x-audit-scope'), 'self');
		assert.ok(audit.json.items.length >= 1);
		for (const row of audit.json.items) assert.equal(row.actor.sub, 'user-viewer');
	});

	it('audits sign-in and serves the audit API with filters, paging and detail', async () => {
		const admin = await signIn(stack, 'admin');
		const list = await admin.get('/api/audit?verb=login&outcome=success&limit=1');
		assert.equal(list.status, 200, list.text);
		assert.equal(list.headers.get('x-audit-scope'), 'all');
		assert.equal(list.json.limit, 1);
		assert.ok(list.json.total >= 3);
		const row = list.json.items[0];
		assert.equal(row.verb, 'login');
		assert.equal(row.outcome, 'success');
		assert.ok(row.requestId);
		assert.ok(list.json.nextCursor, 'a full page hands out a cursor');
		const next = await admin.get(`/api/audit?verb=login&limit=1&cursor=${list.json.nextCursor}`);
		assert.ok(next.json.items[0].id < row.id);
		const one = await admin.get(`/api/audit/${row.id}`);
		assert.equal(one.status, 200);
		assert.equal(one.json.id, row.id);
		assertError(await admin.get('/api/audit/999999'), 404, 'E_NOT_FOUND');
		assertError(await admin.get('/api/audit?from=yesterday'), 400, 'E_INVALID_REQUEST');
		assertError(await admin.get('/api/audit?limit=-1'), 400, 'E_INVALID_REQUEST');
		assertError(await admin.get('/api/audit?bogus=1'), 400, 'E_INVALID_REQUEST');
		const big = await admin.get('/api/audit?limit=100000');
		assert.equal(big.json.limit, 500);
		assertError(await admin.get('/api/audit?to=2999-01-01T00:00:00Z'), 400, 'E_INVALID_REQUEST');
		const range = await admin.get(`/api/audit?from=${encodeURIComponent(row.timestamp)}&to=2100-01-01T00:00:00Z`);
		assert.ok(range.json.items.every((r) => r.timestamp >= row.timestamp));
	});

	it('refreshes the tokens once when concurrent requests find them near expiry', async () => {
		const admin = await signIn(stack, 'admin');
		const signedInAt = Date.now();
		const before = (await (await fetch(`${stack.idp.issuer}/__test/stats`)).json()).refreshGrants;
		// The IdP's access tokens live 5 s and the server refreshes 2 s before expiry: the
		// refresh window opens 3 s after sign-in. Wait for the clock, not for a guess.
		await waitFor('the refresh window', () => Date.now() - signedInAt > 3500, { timeoutMs: 10000 });
		const answers = await Promise.all(Array.from({ length: 8 }, () => admin.get('/api/auth/whoami')));
		for (const a of answers) assert.equal(a.status, 200, a.text);
		const after = (await (await fetch(`${stack.idp.issuer}/__test/stats`)).json()).refreshGrants;
		assert.equal(after - before, 1, 'one refresh for eight concurrent requests');
	});

	it('ends the session on logout and audits it with the request id', async () => {
		const admin = await signIn(stack, 'admin');
		const out = await admin.request('/api/auth/logout', { method: 'POST', headers: { 'x-request-id': 'test-logout-1', origin: stack.url } });
		assert.equal(out.status, 303);
		assert.equal(out.headers.get('location'), '/?signedOut=1');
		assert.equal(out.headers.get('x-request-id'), 'test-logout-1');
		assertError(await admin.get('/api/auth/whoami'), 401, 'E_AUTH');
		const other = await signIn(stack, 'admin');
		const rows = await other.get('/api/audit?request_id=test-logout-1');
		assert.equal(rows.json.items.length, 1);
		assert.equal(rows.json.items[0].verb, 'logout');
		assert.equal(rows.json.items[0].actor.sub, 'user-admin');
	});

	it('signs out everywhere through the IdP end-session endpoint', async () => {
		const first = await signIn(stack, 'viewer');
		const second = await signIn(stack, 'viewer');
		const out = await second.request('/api/auth/logout/everywhere', { method: 'POST', headers: { origin: stack.url } });
		assert.equal(out.status, 303);
		const loc = new URL(out.headers.get('location'));
		assert.equal(loc.origin, new URL(stack.idp.issuer).origin);
		assert.ok(loc.searchParams.get('id_token_hint'));
		assert.equal(loc.searchParams.get('post_logout_redirect_uri'), `${stack.url}/?signedOut=1`);
		assertError(await first.get('/api/auth/whoami'), 401, 'E_AUTH');
	});

	it('refuses a callback that does not match the sign-in attempt, and audits it', async () => {
		const r = await anonymous(stack, '/api/auth/callback?code=x&state=forged');
		assertError(r, 400, 'E_LOGIN_EXPIRED');
		const admin = await signIn(stack, 'admin');
		const rows = await admin.get(`/api/audit?request_id=${r.headers.get('x-request-id')}`);
		assert.equal(rows.json.items[0].verb, 'login');
		assert.equal(rows.json.items[0].outcome, 'failure');
		assert.equal(rows.json.items[0].reason, 'state_mismatch');
	});
});

describe(`session timeouts through ${chooseServer()}`, () => {
	let stack;
	before(async () => {
		stack = await startStack({ config: { auth: { session: { idleTimeout: '4s', absoluteTimeout: '8s' } } } });
	});
	after(async () => stack && (await stack.stop()));

	it('ends a session left idle longer than idleTimeout', async () => {
		const admin = await signIn(stack, 'admin');
		const signedIn = Date.now();
		assert.equal((await admin.get('/api/auth/whoami')).status, 200);
		await waitFor('the idle timeout to pass', () => Date.now() - signedIn > 5200, { timeoutMs: 10000 });
		assertError(await admin.get('/api/auth/whoami'), 401, 'E_AUTH');
	});

	it('keeps an active session until absoluteTimeout, then ends it', async () => {
		const admin = await signIn(stack, 'admin');
		const signedIn = Date.now();
		// Active every half second: the idle timeout (4 s) never fires, the absolute one (8 s) does.
		const answers = [];
		while (Date.now() - signedIn < 9500) {
			answers.push({ at: Date.now() - signedIn, status: (await admin.get('/api/auth/whoami')).status });
			await new Promise((resolve) => setTimeout(resolve, 500));
		}
		assert.ok(answers.filter((a) => a.at > 4500 && a.at < 7000).every((a) => a.status === 200), JSON.stringify(answers));
		assert.equal(answers.at(-1).status, 401);
	});
});
