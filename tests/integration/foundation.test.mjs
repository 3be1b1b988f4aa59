// The foundation end to end: the real web server (lighttpd or Apache, PERISCOPE_SERVER)
// a browser-like client signing in through the provider's form.
import assert from 'node:assert/strict';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { CookieJar } from '../lib/cookie-jar.mjs';
import { fetchWithin } from '../lib/deadline.mjs';
import { loginThroughForm } from '../lib/oidc-browser.mjs';
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
		assert.deepEqual(h.json, { status: 'ok', database: 'reachable' });
		const c = await anonymous(stack, '/api/auth/config');
		assert.equal(c.json.authMode, 'oidc');
		assert.equal(c.json.providerName, 'Local IdP');
		const page = await fetchWithin(`${stack.url}/`);
		assert.equal(page.res.status, 200);
		assert.match(page.text, /<title>periscope<\/title>/);
		// Request ids the server chooses are random (version 4) UUIDs, a new one each time.
		const ids = [];
		for (let i = 0; i < 3; i++) ids.push((await anonymous(stack, '/api/auth/config')).headers.get('x-request-id'));
		for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
		assert.equal(new Set(ids).size, 3, `three requests, three ids: ${ids}`);
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
		const refreshGrants = async () => JSON.parse((await fetchWithin(`${stack.idp.issuer}/__test/stats`)).text).refreshGrants;
		const before = await refreshGrants();
		// The IdP's access tokens live 5 s and the server refreshes 2 s before expiry: the
		// refresh window opens 3 s after sign-in. Wait for the clock, not for a guess.
		await waitFor('the refresh window', () => Date.now() - signedInAt > 3500, { timeoutMs: 10000 });
		const answers = await Promise.all(Array.from({ length: 8 }, () => admin.get('/api/auth/whoami')));
		for (const a of answers) assert.equal(a.status, 200, a.text);
		const after = await refreshGrants();
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

	// The IdP (a real oidc-provider) misbehaves for one login: its id_token is validly signed
	// but names another login's nonce, another client or another issuer.
	for (const [what, claims, reason] of [
		['a nonce from another login', { nonce: 'not-this-login' }, 'id_token_bad_nonce'],
		['another client as its audience', { aud: 'another-client' }, 'id_token_bad_audience'],
		['another issuer', { iss: 'http://127.0.0.1:1/elsewhere' }, 'id_token_bad_issuer'],
	]) {
		it(`refuses, through the real sign-in, an id_token with ${what}, and audits it`, async () => {
			stack.idp.misbehaveOnce({ idTokenClaims: claims });
			const jar = new CookieJar();
			// A browser walks the sign-in: the refused callback sends it to the sign-in page,
			// which names the problem (an API client would get the JSON 401 E_LOGIN_REFUSED).
			const r = await loginThroughForm({
				startUrl: `${stack.url}/api/auth/login`, username: 'admin', password: 'admin', cookieJar: jar,
				stopAt: (u) => new URL(u).searchParams.has('signInProblem'),
			});
			assert.ok(r.stoppedAtRedirect, `the walk ended at ${r.location} (${r.status})`);
			assert.equal(r.location, `${stack.url}/?signInProblem=E_LOGIN_REFUSED`);
			assert.equal(jar.get('periscope_session', stack.url), undefined, 'no session cookie');
			const admin = await signIn(stack, 'admin');
			const rows = await admin.get('/api/audit?verb=login&outcome=failure&limit=1');
			assert.equal(rows.json.items[0].reason, reason);
		});
	}

	it('refuses a callback that does not match the sign-in attempt, and audits it', async () => {
		const r = await anonymous(stack, '/api/auth/callback?code=x&state=forged');
		assertError(r, 400, 'E_LOGIN_EXPIRED');
		const admin = await signIn(stack, 'admin');
		const rows = await admin.get(`/api/audit?request_id=${r.headers.get('x-request-id')}`);
		assert.equal(rows.json.items[0].verb, 'login');
		assert.equal(rows.json.items[0].outcome, 'failure');
		assert.equal(rows.json.items[0].reason, 'state_mismatch');
	});

	it('sends a browser back from a stale callback to the sign-in page, which explains it', async () => {
		// A page navigation (the back button, an old tab), not a script asking for JSON.
		const r = await anonymous(stack, '/api/auth/callback?code=x&state=stale', { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
		assert.equal(r.status, 302);
		assert.equal(r.headers.get('location'), '/?signInProblem=E_LOGIN_EXPIRED');
		assert.equal(r.text, '', 'no JSON body for a browser');
		// (Audited like the refusal above: lib/store/audit_refusal.c folds repeats of the same
		// refusal within its window into one row, so this one adds no row of its own.)
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
		assert.equal((await admin.get('/api/auth/whoami')).status, 200);
		// Activity is recorded no later than that answer, in whole seconds: the session must be
		// gone idleTimeout (4 s) plus one second of rounding after it.
		const lastRequest = Date.now();
		await waitFor('idleTimeout (4 s) and a second after the last request', () => Date.now() - lastRequest > 5000, { timeoutMs: 10000 });
		assertError(await admin.get('/api/auth/whoami'), 401, 'E_AUTH');
	});

	it('keeps an active session until absoluteTimeout, then ends it', async () => {
		const admin = await signIn(stack, 'admin');
		const cookie = admin.cookie();
		const who = await admin.get('/api/auth/whoami');
		// The server announces the end: absoluteTimeout (8 s) after the session was created.
		const endsAt = who.json.expiresAt * 1000;
		assert.ok(endsAt - Date.now() <= 8000 && endsAt - Date.now() > 4000, `expiresAt ${who.json.expiresAt}`);
		// Active every half second, longer than idleTimeout (4 s), until a second before the end.
		const answers = [];
		const created = endsAt - 8000;
		while (Date.now() < endsAt - 1000) {
			answers.push({ at: Date.now() - created, status: (await admin.get('/api/auth/whoami')).status });
			await new Promise((resolve) => setTimeout(resolve, 500));
		}
		assert.ok(answers.at(-1).at > 4000, `active past idleTimeout: ${JSON.stringify(answers)}`);
		assert.ok(answers.every((a) => a.status === 200), JSON.stringify(answers));
		await waitFor('the announced expiresAt', () => Date.now() > endsAt + 200, { timeoutMs: 10000 });
		// The cookie's Max-Age makes a browser drop it now; the server must refuse it on its
		// own, from a client that keeps sending it.
		const kept = `periscope_session=${cookie}`;
		assertError(await admin.get('/api/auth/whoami', { headers: { cookie: kept } }), 401, 'E_AUTH');
		assertError(await admin.get('/api/auth/whoami'), 401, 'E_AUTH');
	});
});
