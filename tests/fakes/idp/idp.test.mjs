// The local IdP checked the way its users see it: a browser (plain fetch + cookie jar,
// tests/lib/oidc-browser.mjs) that signs in through the HTML form, a relying party that
// exchanges codes and refreshes tokens with client_secret_basic, and jose verifying the
// id_tokens against the JWKS from discovery.

import { after, before, beforeEach, describe, test } from '../../lib/bounded-test.mjs';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, jwtVerify } from 'jose';

import { parseCommandLine, startIdp } from './server.mjs';
import { CookieJar } from '../../lib/cookie-jar.mjs';
import { browse, formRequest, loginThroughForm, parseForm } from '../../lib/oidc-browser.mjs';
import {
	DEFAULT_CLIENT, authorizationUrl, discover, exchangeCode, pkcePair, randomToken, refreshTokens, signIn, tokenRequest,
} from '../../lib/oidc-client.mjs';

const REDIRECT = DEFAULT_CLIENT.redirectUri;
const POST_LOGOUT = 'http://127.0.0.1:8080/api/auth/loggedout';
const SERVER = fileURLToPath(new URL('./server.mjs', import.meta.url));

async function verifyIdToken(idp, discovery, idToken, audience = 'periscope') {
	const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
	const { payload, protectedHeader } = await jwtVerify(idToken, jwks, { issuer: idp.issuer, audience, algorithms: ['RS256'] });
	assert.equal(protectedHeader.alg, 'RS256');
	return payload;
}

async function getJson(url, init) {
	const res = await fetch(url, init);
	return { status: res.status, json: await res.json() };
}

// Starts an authorization request the way the gateway does (PKCE S256, state, nonce).
function newAuthorization(discovery, overrides = {}) {
	const { verifier, challenge } = pkcePair();
	const state = randomToken();
	const nonce = randomToken();
	const url = authorizationUrl(discovery, { state, nonce, codeChallenge: challenge, ...overrides });
	return { url, verifier, state, nonce };
}

async function pollUntil(what, fn, { deadlineMs = 20000, intervalMs = 200 } = {}) {
	const end = Date.now() + deadlineMs;
	for (;;) {
		const value = await fn();
		if (value) return value;
		if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, intervalMs));
	}
}

describe('local IdP with default settings', { timeout: 60000 }, () => {
	let idp;
	let discovery;

	before(async () => {
		idp = await startIdp();
		discovery = await discover(idp.issuer);
	});
	after(() => idp.close());
	beforeEach(() => idp.resetStats());

	test('discovery advertises what the gateway and the AWS fake rely on', () => {
		assert.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
		assert.equal(idp.port, Number(new URL(idp.issuer).port));
		assert.equal(discovery.issuer, idp.issuer);
		for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint']) {
			assert.ok(discovery[endpoint]?.startsWith(`${idp.issuer}/`), `${endpoint} on the issuer: ${discovery[endpoint]}`);
		}
		assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
		assert.deepEqual(discovery.response_types_supported, ['code']);
		assert.ok(discovery.grant_types_supported.includes('refresh_token'));
		assert.ok(discovery.id_token_signing_alg_values_supported.includes('RS256'));
		assert.ok(discovery.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
		for (const scope of ['openid', 'offline_access', 'email', 'profile', 'groups']) {
			assert.ok(discovery.scopes_supported.includes(scope), `scope ${scope}`);
		}
		for (const claim of ['sub', 'email', 'groups', 'name']) assert.ok(discovery.claims_supported.includes(claim), `claim ${claim}`);
	});

	test('the JWKS holds the public RS256 signing key and nothing private', async () => {
		const { status, json } = await getJson(discovery.jwks_uri);
		assert.equal(status, 200);
		assert.equal(json.keys.length, 1);
		const [key] = json.keys;
		assert.equal(key.kty, 'RSA');
		assert.equal(key.alg, 'RS256');
		assert.equal(key.use, 'sig');
		assert.ok(key.kid);
		for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(key[secret], undefined, `JWKS leaks ${secret}`);
	});

	test('a browser signs in through the form; the code exchanges for a verified id_token', async () => {
		const auth = newAuthorization(discovery);
		const jar = new CookieJar();
		const r = await loginThroughForm({ authorizeUrl: auth.url, username: 'admin', password: 'admin', cookieJar: jar, stopAt: REDIRECT });

		assert.equal(r.loginFailed, false);
		assert.equal(r.stoppedAtRedirect, true, `ended at ${r.location}`);
		// The only page the user saw is the login form: no consent page.
		const pages = r.history.filter((h) => h.status === 200);
		assert.equal(pages.length, 1);
		assert.match(pages[0].url, new RegExp(`^${idp.issuer}/interaction/`));
		const back = new URL(r.location);
		assert.equal(`${back.origin}${back.pathname}`, REDIRECT);
		assert.equal(back.searchParams.get('state'), auth.state);
		assert.ok(back.searchParams.get('code'));

		const { status, json } = await exchangeCode(discovery, { code: back.searchParams.get('code'), verifier: auth.verifier });
		assert.equal(status, 200, JSON.stringify(json));
		assert.equal(json.token_type, 'Bearer');
		assert.equal(json.expires_in, 3600);
		assert.ok(json.access_token);
		assert.ok(json.refresh_token, 'offline_access gives a refresh token');
		assert.deepEqual(json.scope.split(' ').sort(), ['email', 'groups', 'offline_access', 'openid', 'profile']);

		const claims = await verifyIdToken(idp, discovery, json.id_token);
		assert.equal(claims.iss, idp.issuer);
		assert.equal(claims.aud, 'periscope');
		assert.equal(claims.sub, 'user-admin');
		assert.equal(claims.nonce, auth.nonce);
		assert.equal(claims.email, 'admin@periscope.local');
		assert.equal(claims.name, 'Admin User');
		assert.deepEqual(claims.groups, ['platform-admins']);
		assert.equal(claims.exp - claims.iat, 3600);

		const info = await getJson(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${json.access_token}` } });
		assert.equal(info.status, 200);
		assert.equal(info.json.sub, 'user-admin');
		assert.deepEqual(info.json.groups, ['platform-admins']);

		assert.deepEqual({ ...idp.stats }, { authorizationCodeGrants: 1, refreshGrants: 0, logins: 1, failedLogins: 0, endSessions: 0 });
	});

	test('the login page is a plain form with fields login and password', async () => {
		const r = await browse({ url: newAuthorization(discovery).url });
		assert.equal(r.status, 200);
		const form = parseForm(r.body);
		assert.equal(form.method, 'POST');
		assert.deepEqual(form.fields.map((f) => [f.name, f.type]), [['login', 'text'], ['password', 'password']]);
		assert.match(r.body, /<button type="submit">Sign in<\/button>/);
		assert.doesNotMatch(r.body, /<script/i);
	});

	test('a wrong password shows the form again with an error; the right one then signs in', async () => {
		const auth = newAuthorization(discovery);
		const jar = new CookieJar();
		const r = await loginThroughForm({ authorizeUrl: auth.url, username: 'admin', password: 'wrong', cookieJar: jar, stopAt: REDIRECT });
		assert.equal(r.loginFailed, true);
		assert.equal(r.status, 200);
		assert.equal(r.error, 'Invalid username or password.');
		const form = parseForm(r.body);
		assert.deepEqual(form.fields.map((f) => f.name), ['login', 'password']);
		assert.equal(form.fields[0].value, 'admin', 'the username is kept');
		assert.equal(form.fields[1].value, '', 'the password is not echoed');
		assert.equal(idp.stats.failedLogins, 1);
		assert.equal(idp.stats.logins, 0);

		const retry = formRequest(form, r.location, { login: 'admin', password: 'admin' });
		const ok = await browse({ ...retry, cookieJar: jar, stopAt: REDIRECT });
		assert.equal(ok.stoppedAtRedirect, true);
		assert.equal(new URL(ok.location).searchParams.get('state'), auth.state);
		assert.equal(idp.stats.logins, 1);
	});

	test('an unknown user is refused like a wrong password', async () => {
		const r = await loginThroughForm({ authorizeUrl: newAuthorization(discovery).url, username: 'mallory', password: 'x', stopAt: REDIRECT });
		assert.equal(r.loginFailed, true);
		assert.equal(r.error, 'Invalid username or password.');
		assert.equal(idp.stats.failedLogins, 1);
	});

	test('viewer gets groups ["viewers"]; ops is a second platform admin with its own sub', async () => {
		const viewer = await signIn({ issuer: idp.issuer, username: 'viewer', password: 'viewer' });
		const v = await verifyIdToken(idp, discovery, viewer.tokens.id_token);
		assert.equal(v.sub, 'user-viewer');
		assert.equal(v.email, 'viewer@periscope.local');
		assert.deepEqual(v.groups, ['viewers']);

		const ops = await signIn({ issuer: idp.issuer, username: 'ops', password: 'ops' });
		const o = await verifyIdToken(idp, discovery, ops.tokens.id_token);
		assert.equal(o.sub, 'user-ops');
		assert.deepEqual(o.groups, ['platform-admins']);
		assert.notEqual(o.sub, 'user-admin');
	});

	test('a browser already signed in at the IdP comes straight back without the form', async () => {
		const jar = new CookieJar();
		await signIn({ issuer: idp.issuer, username: 'viewer', password: 'viewer', cookieJar: jar });
		const auth = newAuthorization(discovery);
		const r = await browse({ url: auth.url, cookieJar: jar, stopAt: REDIRECT });
		assert.equal(r.stoppedAtRedirect, true);
		assert.equal(r.history.filter((h) => h.status === 200).length, 0, 'no page shown');
		const { json } = await exchangeCode(discovery, { code: new URL(r.location).searchParams.get('code'), verifier: auth.verifier });
		assert.equal((await verifyIdToken(idp, discovery, json.id_token)).sub, 'user-viewer');
		assert.equal(idp.stats.logins, 1);
	});

	test('PKCE is required: an authorization request without code_challenge is refused', async () => {
		const url = authorizationUrl(discovery, { state: 'st', nonce: 'n' });
		const r = await browse({ url, stopAt: REDIRECT });
		assert.equal(r.stoppedAtRedirect, true);
		const back = new URL(r.location).searchParams;
		assert.equal(back.get('error'), 'invalid_request');
		assert.match(back.get('error_description'), /PKCE/);
		assert.equal(back.get('state'), 'st');
	});

	test('the token endpoint refuses a wrong code_verifier and a wrong client secret', async () => {
		const auth = newAuthorization(discovery);
		const jar = new CookieJar();
		const r = await loginThroughForm({ authorizeUrl: auth.url, username: 'admin', password: 'admin', cookieJar: jar, stopAt: REDIRECT });
		const code = new URL(r.location).searchParams.get('code');
		const badSecret = await exchangeCode(discovery, { code, verifier: auth.verifier, clientSecret: 'nope' });
		assert.equal(badSecret.status, 401);
		assert.equal(badSecret.json.error, 'invalid_client');
		const badVerifier = await exchangeCode(discovery, { code, verifier: pkcePair().verifier });
		assert.equal(badVerifier.status, 400);
		assert.equal(badVerifier.json.error, 'invalid_grant');
		assert.equal(idp.stats.authorizationCodeGrants, 0);
	});

	test('an unregistered redirect_uri gets an error page, not a redirect', async () => {
		const r = await browse({ url: newAuthorization(discovery, { redirectUri: 'http://127.0.0.1:9/evil' }).url });
		assert.equal(r.status, 400);
		assert.match(r.body, /redirect_uri/);
		assert.equal(r.history.length, 1);
	});

	test('without offline_access there is no refresh token', async () => {
		const { tokens } = await signIn({ issuer: idp.issuer, username: 'admin', password: 'admin', scope: 'openid email groups' });
		assert.equal(tokens.refresh_token, undefined);
		const claims = await verifyIdToken(idp, discovery, tokens.id_token);
		assert.deepEqual(claims.groups, ['platform-admins']);
		assert.equal(claims.name, undefined, 'no profile scope, no name');
	});

	test('RP-initiated logout ends the IdP session and redirects back; offline access outlives it', async () => {
		const jar = new CookieJar();
		const { tokens } = await signIn({ issuer: idp.issuer, username: 'admin', password: 'admin', cookieJar: jar });
		const logout = new URL(discovery.end_session_endpoint);
		logout.searchParams.set('id_token_hint', tokens.id_token);
		logout.searchParams.set('post_logout_redirect_uri', POST_LOGOUT);
		logout.searchParams.set('state', 'bye');

		const r = await browse({ url: logout.href, cookieJar: jar, stopAt: POST_LOGOUT });
		assert.equal(r.stoppedAtRedirect, true, `ended at ${r.location} (${r.status})`);
		assert.equal(r.location, `${POST_LOGOUT}?state=bye`);
		assert.equal(idp.stats.endSessions, 1);

		// Signed out at the IdP: the next authorization shows the form again.
		const again = await browse({ url: newAuthorization(discovery).url, cookieJar: jar, stopAt: REDIRECT });
		assert.equal(again.stoppedAtRedirect, false);
		assert.deepEqual(parseForm(again.body).fields.map((f) => f.name), ['login', 'password']);

		// offline_access means what it says: oidc-provider keeps such grants across sign-out.
		const refreshed = await refreshTokens(discovery, { refreshToken: tokens.refresh_token });
		assert.equal(refreshed.status, 200);
	});

	test('logout of a session without offline_access revokes its tokens', async () => {
		const jar = new CookieJar();
		const { tokens } = await signIn({ issuer: idp.issuer, username: 'viewer', password: 'viewer', cookieJar: jar, scope: 'openid groups' });
		const userinfo = () => fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
		assert.equal((await userinfo()).status, 200);
		const logout = new URL(discovery.end_session_endpoint);
		logout.searchParams.set('id_token_hint', tokens.id_token);
		logout.searchParams.set('post_logout_redirect_uri', POST_LOGOUT);
		const r = await browse({ url: logout.href, cookieJar: jar, stopAt: POST_LOGOUT });
		assert.equal(r.location, POST_LOGOUT);
		assert.equal((await userinfo()).status, 401);
	});

	test('logout to an unregistered post_logout_redirect_uri is refused', async () => {
		const { tokens } = await signIn({ issuer: idp.issuer, username: 'admin', password: 'admin' });
		const logout = new URL(discovery.end_session_endpoint);
		logout.searchParams.set('id_token_hint', tokens.id_token);
		logout.searchParams.set('post_logout_redirect_uri', 'http://127.0.0.1:9/elsewhere');
		const r = await browse({ url: logout.href });
		assert.equal(r.status, 400);
		assert.match(r.body, /post_logout_redirect_uri not registered/);
		assert.equal(idp.stats.endSessions, 0);
	});

	test('GET /__test/stats counts and POST /__test/reset zeroes', async () => {
		await signIn({ issuer: idp.issuer, username: 'viewer', password: 'viewer' });
		let s = await getJson(`${idp.issuer}/__test/stats`);
		assert.equal(s.status, 200);
		assert.deepEqual(s.json, { authorizationCodeGrants: 1, refreshGrants: 0, logins: 1, failedLogins: 0, endSessions: 0 });
		s = await getJson(`${idp.issuer}/__test/reset`, { method: 'POST' });
		assert.equal(s.status, 200);
		s = await getJson(`${idp.issuer}/__test/stats`);
		assert.deepEqual(s.json, { authorizationCodeGrants: 0, refreshGrants: 0, logins: 0, failedLogins: 0, endSessions: 0 });
	});

	test('a client added at run time through POST /__test/clients can sign in', async () => {
		const client = { client_id: 'late', client_secret: 'late-secret', redirect_uris: ['http://127.0.0.1:8181/api/auth/callback'] };
		const res = await getJson(`${idp.issuer}/__test/clients`, {
			method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(client),
		});
		assert.equal(res.status, 201);
		const { tokens } = await signIn({
			issuer: idp.issuer, username: 'viewer', password: 'viewer',
			clientId: 'late', clientSecret: 'late-secret', redirectUri: client.redirect_uris[0],
		});
		const claims = await verifyIdToken(idp, discovery, tokens.id_token, 'late');
		assert.equal(claims.aud, 'late');

		for (const body of ['{"client_id":"x","redirect_uris":[]}', '{"client_id":"x","redirect_uris":["not a url"]}', 'nope']) {
			const bad = await getJson(`${idp.issuer}/__test/clients`, { method: 'POST', body });
			assert.equal(bad.status, 400, body);
			assert.equal(bad.json.error, 'invalid_client_metadata');
		}
	});

	test('misbehaves for one login: the next id_token carries the given claims, validly signed; the one after is normal', async () => {
		const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
		idp.misbehaveOnce({ idTokenClaims: { nonce: 'not-this-login', aud: 'another-client' } });
		const auth = newAuthorization(discovery);
		const r = await loginThroughForm({ authorizeUrl: auth.url, username: 'admin', password: 'admin', cookieJar: new CookieJar(), stopAt: REDIRECT });
		const code = new URL(r.location).searchParams.get('code');
		const bad = (await exchangeCode(discovery, { code, verifier: auth.verifier })).json;
		// The signature is the IdP's own: only the claims are wrong.
		const { payload } = await jwtVerify(bad.id_token, jwks, { issuer: idp.issuer, algorithms: ['RS256'] });
		assert.equal(payload.nonce, 'not-this-login');
		assert.equal(payload.aud, 'another-client');
		assert.equal(payload.sub, 'user-admin');
		await assert.rejects(verifyIdToken(idp, discovery, bad.id_token), /aud/);

		const next = await signIn({ issuer: idp.issuer, username: 'admin', password: 'admin' });
		const claims = await verifyIdToken(idp, discovery, next.tokens.id_token);
		assert.notEqual(claims.nonce, 'not-this-login');

		const res = await getJson(`${idp.issuer}/__test/misbehave`, {
			method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ idTokenClaims: { iss: 'http://127.0.0.1:1/elsewhere' } }),
		});
		assert.deepEqual([res.status, res.json], [200, { pending: true }]);
		const third = await signIn({ issuer: idp.issuer, username: 'viewer', password: 'viewer' });
		assert.equal(JSON.parse(Buffer.from(third.tokens.id_token.split('.')[1], 'base64url')).iss, 'http://127.0.0.1:1/elsewhere');
		const refused = await getJson(`${idp.issuer}/__test/misbehave`, { method: 'POST', body: '{"idTokenClaims":[1]}' });
		assert.equal(refused.status, 400);
	});
});

describe('local IdP with short-lived tokens', { timeout: 60000 }, () => {
	let idp;
	let discovery;

	before(async () => {
		idp = await startIdp({ accessTokenTtl: 5, idTokenTtl: 5 });
		discovery = await discover(idp.issuer);
	});
	after(() => idp.close());
	beforeEach(() => idp.resetStats());

	test('token lifetimes follow accessTokenTtl and idTokenTtl', async () => {
		const { tokens } = await signIn({ issuer: idp.issuer, username: 'admin', password: 'admin' });
		assert.equal(tokens.expires_in, 5);
		const claims = await verifyIdToken(idp, discovery, tokens.id_token);
		assert.equal(claims.exp - claims.iat, 5);
		const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
		await assert.rejects(
			jwtVerify(tokens.id_token, jwks, { issuer: idp.issuer, audience: 'periscope', currentDate: new Date((claims.exp + 1) * 1000) }),
			{ code: 'ERR_JWT_EXPIRED' },
		);
	});

	test('refresh_token grant returns a new id_token; refresh tokens are not rotated', async () => {
		const { tokens } = await signIn({ issuer: idp.issuer, username: 'viewer', password: 'viewer' });
		const first = await refreshTokens(discovery, { refreshToken: tokens.refresh_token });
		assert.equal(first.status, 200, JSON.stringify(first.json));
		assert.notEqual(first.json.access_token, tokens.access_token);
		assert.equal(first.json.refresh_token, tokens.refresh_token, 'same refresh token back');
		const claims = await verifyIdToken(idp, discovery, first.json.id_token);
		assert.equal(claims.sub, 'user-viewer');
		assert.deepEqual(claims.groups, ['viewers']);
		assert.equal(claims.exp - claims.iat, 5);

		const second = await refreshTokens(discovery, { refreshToken: tokens.refresh_token });
		assert.equal(second.status, 200, 'the refresh token keeps working');
		assert.equal(idp.stats.refreshGrants, 2);
		assert.equal((await getJson(`${idp.issuer}/__test/stats`)).json.refreshGrants, 2);

		const wrongClient = await refreshTokens(discovery, { refreshToken: tokens.refresh_token, clientSecret: 'nope' });
		assert.equal(wrongClient.status, 401);
	});

	test('a refresh after a change of groups carries the new groups, as a real IdP does', async () => {
		const { tokens } = await signIn({ issuer: idp.issuer, username: 'ops', password: 'ops' });
		assert.deepEqual((await verifyIdToken(idp, discovery, tokens.id_token)).groups, ['platform-admins']);
		idp.setUserGroups('ops', ['viewers']);
		try {
			const refreshed = await refreshTokens(discovery, { refreshToken: tokens.refresh_token });
			assert.equal(refreshed.status, 200, JSON.stringify(refreshed.json));
			const claims = await verifyIdToken(idp, discovery, refreshed.json.id_token);
			assert.equal(claims.sub, 'user-ops');
			assert.deepEqual(claims.groups, ['viewers']);
		} finally {
			idp.setUserGroups('ops', ['platform-admins']);
		}
		assert.throws(() => idp.setUserGroups('nobody', []), /no IdP user/);
	});

	test('an expired access token is refused by userinfo; a refresh brings a working one', async () => {
		const { tokens } = await signIn({ issuer: idp.issuer, username: 'admin', password: 'admin' });
		const userinfo = (at) => fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${at}` } });
		assert.equal((await userinfo(tokens.access_token)).status, 200);
		await pollUntil('the access token to expire', async () => (await userinfo(tokens.access_token)).status === 401);

		const refreshed = await refreshTokens(discovery, { refreshToken: tokens.refresh_token });
		assert.equal(refreshed.status, 200);
		const res = await userinfo(refreshed.json.access_token);
		assert.equal(res.status, 200);
		assert.deepEqual((await res.json()).groups, ['platform-admins']);
		const claims = await verifyIdToken(idp, discovery, refreshed.json.id_token);
		assert.ok(claims.exp > Math.floor(Date.now() / 1000), 'the new id_token is current');
	});
});

describe('local IdP options', { timeout: 60000 }, () => {
	test('rotateRefreshToken: each refresh returns a new refresh token and consumes the old one', async () => {
		const idp = await startIdp({ rotateRefreshToken: true });
		try {
			const { tokens, discovery } = await signIn({ issuer: idp.issuer, username: 'admin', password: 'admin' });
			const first = await refreshTokens(discovery, { refreshToken: tokens.refresh_token });
			assert.equal(first.status, 200);
			assert.ok(first.json.refresh_token);
			assert.notEqual(first.json.refresh_token, tokens.refresh_token);
			const reuse = await refreshTokens(discovery, { refreshToken: tokens.refresh_token });
			assert.equal(reuse.status, 400);
			assert.equal(reuse.json.error, 'invalid_grant');
		} finally {
			await idp.close();
		}
	});

	test('several clients, extra users and a client_secret_post client', async () => {
		const idp = await startIdp({
			clients: [
				{ client_id: 'one', client_secret: 's1', redirect_uris: ['http://127.0.0.1:7001/cb'] },
				{ client_id: 'two', client_secret: 's2', redirect_uris: ['http://127.0.0.1:7002/cb'], token_endpoint_auth_method: 'client_secret_post' },
			],
			users: [{ username: 'carol', password: 'pw', groups: ['team-a', 'team-b'] }],
		});
		try {
			const a = await signIn({ issuer: idp.issuer, username: 'carol', password: 'pw', clientId: 'one', clientSecret: 's1', redirectUri: 'http://127.0.0.1:7001/cb' });
			assert.equal(a.claims.aud, 'one');
			assert.equal(a.claims.sub, 'user-carol');
			assert.equal(a.claims.email, 'carol@periscope.local');
			assert.deepEqual(a.claims.groups, ['team-a', 'team-b']);

			// client_secret_post: the secret goes in the body.
			const discovery = await discover(idp.issuer);
			const auth = newAuthorization(discovery, { clientId: 'two', redirectUri: 'http://127.0.0.1:7002/cb' });
			const r = await loginThroughForm({ authorizeUrl: auth.url, username: 'admin', password: 'admin', stopAt: 'http://127.0.0.1:7002/cb' });
			const res = await getJson(discovery.token_endpoint, {
				method: 'POST',
				headers: { 'content-type': 'application/x-www-form-urlencoded' },
				body: new URLSearchParams({
					grant_type: 'authorization_code', code: new URL(r.location).searchParams.get('code'),
					redirect_uri: 'http://127.0.0.1:7002/cb', code_verifier: auth.verifier, client_id: 'two', client_secret: 's2',
				}),
			});
			assert.equal(res.status, 200, JSON.stringify(res.json));
			assert.equal((await verifyIdToken(idp, discovery, res.json.id_token, 'two')).sub, 'user-admin');
			// The default client is not there when clients are given.
			const none = await tokenRequest(discovery, { params: { grant_type: 'refresh_token', refresh_token: 'x' } });
			assert.equal(none.status, 401);
		} finally {
			await idp.close();
		}
	});

	test('bad options are refused at start with a message, leaving nothing listening', async () => {
		await assert.rejects(startIdp({ idTokenTtl: 0 }), /idTokenTtl/);
		await assert.rejects(startIdp({ clients: [{ client_id: 'a', client_secret: 's', redirect_uris: ['not a url'] }] }), /redirect_uris/);
		await assert.rejects(startIdp({ users: [{ username: 'x' }] }), /password/);
		const taken = await startIdp();
		try {
			await assert.rejects(startIdp({ port: taken.port }), { code: 'EADDRINUSE' });
		} finally {
			await taken.close();
		}
	});

	test('a given signing key is used; a given issuer is what discovery says', async () => {
		const first = await startIdp();
		const key = first.signingKey;
		await first.close();
		// The IdP listens on a free loopback port but names itself by the issuer given.
		const idp = await startIdp({ port: 0, issuer: 'http://idp.periscope.test', signingKey: key });
		try {
			assert.equal(idp.issuer, 'http://idp.periscope.test');
			const direct = `http://127.0.0.1:${idp.port}`;
			const { json: discovery } = await getJson(`${direct}/.well-known/openid-configuration`);
			assert.equal(discovery.issuer, 'http://idp.periscope.test');
			// oidc-provider builds endpoint URLs from the address the client used.
			assert.equal(discovery.jwks_uri, `${direct}/jwks`);
			const { json } = await getJson(`${direct}/jwks`);
			assert.equal(json.keys[0].kid, key.kid);
			assert.equal(json.keys[0].n, key.n);
		} finally {
			await idp.close();
		}
	});
});

describe('local IdP command line', { timeout: 60000 }, () => {
	test('flags win over environment variables, which win over defaults', () => {
		assert.deepEqual(parseCommandLine([], {}), { rotateRefreshToken: false, clients: [{}] });
		const env = {
			IDP_PORT: '9100', IDP_ID_TOKEN_TTL: '30', IDP_CLIENT_ID: 'env-client', IDP_CLIENT_SECRET: 'env-secret',
			IDP_REDIRECT_URIS: 'http://127.0.0.1:1/cb http://127.0.0.1:2/cb', IDP_ROTATE_REFRESH_TOKENS: '1',
			IDP_USERS: '[{"username":"dana","password":"pw"}]',
		};
		assert.deepEqual(parseCommandLine(['--port', '9200', '--redirect-uri', 'http://127.0.0.1:3/cb'], env), {
			port: 9200,
			idTokenTtl: 30,
			rotateRefreshToken: true,
			clients: [{ client_id: 'env-client', client_secret: 'env-secret', redirect_uris: ['http://127.0.0.1:3/cb'] }],
			users: [{ username: 'dana', password: 'pw' }],
		});
		assert.deepEqual(parseCommandLine([], { IDP_CLIENTS: '[{"client_id":"a"},{"client_id":"b"}]' }).clients,
			[{ client_id: 'a' }, { client_id: 'b' }]);
		assert.throws(() => parseCommandLine(['--port', 'x'], {}), /--port expects a whole number/);
		assert.throws(() => parseCommandLine(['--bogus'], {}), /bogus/);
	});

	test('stops cleanly on SIGINT', async () => {
		const child = spawn(process.execPath, [SERVER], { stdio: ['ignore', 'pipe', 'pipe'] });
		const exited = once(child, 'exit');
		try {
			const [line] = await Promise.race([
				once(createInterface({ input: child.stdout }), 'line'),
				exited.then(([code]) => { throw new Error(`IdP exited with ${code} before it was ready`); }),
			]);
			assert.equal(JSON.parse(line).ready, true);
			child.kill('SIGINT');
			assert.deepEqual(await exited, [0, null]);
		} finally {
			if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
		}
	});

	test('prints one ready line, serves sign-ins quietly and stops on SIGTERM', async () => {
		const child = spawn(process.execPath, [SERVER, '--port', '0', '--id-token-ttl', '7', '--redirect-uri', 'http://127.0.0.1:8282/api/auth/callback'], {
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		let stdout = '';
		let stderr = '';
		child.stderr.on('data', (d) => { stderr += d; });
		const exited = once(child, 'exit');
		try {
			const lines = createInterface({ input: child.stdout });
			const [first] = await Promise.race([
				once(lines, 'line'),
				exited.then(([code]) => { throw new Error(`IdP exited with ${code}: ${stderr}`); }),
			]);
			stdout += `${first}\n`;
			lines.on('line', (l) => { stdout += `${l}\n`; });
			const ready = JSON.parse(first);
			assert.equal(ready.ready, true);
			assert.equal(ready.issuer, `http://127.0.0.1:${ready.port}`);

			const { claims } = await signIn({ issuer: ready.issuer, username: 'admin', password: 'admin', redirectUri: 'http://127.0.0.1:8282/api/auth/callback' });
			assert.equal(claims.exp - claims.iat, 7);
			await browse({ url: `${ready.issuer}/.well-known/openid-configuration` });

			child.kill('SIGTERM');
			const [code, signal] = await exited;
			assert.equal(signal, null);
			assert.equal(code, 0);
			assert.equal(stdout, first.endsWith('\n') ? first : `${first}\n`, 'nothing on stdout but the ready line');
			assert.equal(stderr, '');
		} finally {
			if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
		}
	});
});
