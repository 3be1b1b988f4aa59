// loginThroughForm as the gateway's tests will use it: start at the app's /api/auth/login
// on one port, sign in at the IdP on another, come back through /api/auth/callback with
// the app's session cookie in the jar. The "app" here is a small relying party written the
// way periscope-common.md section 4.2-4.3 describes the gateway (login cookie with state
// and PKCE verifier, no nonce, code exchange, session cookie, 302 to /).

import { after, before, describe, test } from './bounded-test.mjs';
import assert from 'node:assert/strict';
import * as http from 'node:http';

import { startIdp } from '../fakes/idp/server.mjs';
import { CookieJar } from './cookie-jar.mjs';
import { browse, formRequest, loginThroughForm, pageError, parseForm } from './oidc-browser.mjs';
import { authorizationUrl, decodeJwtPayload, discover, exchangeCode, pkcePair, randomToken } from './oidc-client.mjs';

function cookieValue(req, name) {
	for (const part of (req.headers.cookie ?? '').split(';')) {
		const [k, ...v] = part.trim().split('=');
		if (k === name) return v.join('=');
	}
	return undefined;
}

// A minimal relying party on 127.0.0.1 with the gateway's routes.
async function startApp(idpIssuer) {
	const sessions = new Map();
	const server = http.createServer();
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	const origin = `http://127.0.0.1:${server.address().port}`;
	const redirectUri = `${origin}/api/auth/callback`;
	let discovery;
	server.on('request', async (req, res) => {
		const url = new URL(req.url, origin);
		if (url.pathname === '/api/auth/login') {
			const { verifier, challenge } = pkcePair();
			const state = randomToken();
			res.writeHead(302, {
				location: authorizationUrl(discovery, { redirectUri, state, codeChallenge: challenge }),
				'set-cookie': `periscope_login=${state}:${verifier}; Path=/; HttpOnly; SameSite=Lax; Max-Age=600`,
			});
			res.end();
		} else if (url.pathname === '/api/auth/callback') {
			const [state, verifier] = (cookieValue(req, 'periscope_login') ?? '').split(':');
			if (!state || url.searchParams.get('state') !== state) {
				res.writeHead(400).end('login attempt invalid');
				return;
			}
			const { status, json } = await exchangeCode(discovery, { code: url.searchParams.get('code'), verifier, redirectUri });
			if (status !== 200) {
				res.writeHead(502).end("couldn't complete login");
				return;
			}
			const id = randomToken();
			sessions.set(id, decodeJwtPayload(json.id_token));
			res.writeHead(302, {
				location: '/',
				'set-cookie': [`periscope_login=; Path=/; Max-Age=-1`, `periscope_session=${id}; Path=/; HttpOnly; SameSite=Lax`],
			});
			res.end();
		} else if (url.pathname === '/') {
			const who = sessions.get(cookieValue(req, 'periscope_session'));
			res.writeHead(who ? 200 : 401, { 'content-type': 'text/html' });
			res.end(who ? `<h1>hello ${who.sub}</h1>` : 'unauthenticated');
		} else {
			res.writeHead(404).end();
		}
	});
	discovery = await discover(idpIssuer);
	return { origin, redirectUri, close: () => new Promise((r) => { server.close(r); server.closeAllConnections(); }) };
}

describe('loginThroughForm against a relying party on another port', { timeout: 60000 }, () => {
	let idp;
	let app;

	before(async () => {
		idp = await startIdp({ clients: [{ client_id: 'periscope', client_secret: 'periscope-dev-secret', redirect_uris: ['http://127.0.0.1:1/placeholder'] }] });
		app = await startApp(idp.issuer);
		await idp.addClient({ client_id: 'periscope', client_secret: 'periscope-dev-secret', redirect_uris: [app.redirectUri] });
	});
	after(async () => {
		await app.close();
		await idp.close();
	});

	test('from /api/auth/login to the app\'s home page, signed in', async () => {
		const jar = new CookieJar();
		const r = await loginThroughForm({ startUrl: `${app.origin}/api/auth/login`, username: 'ops', password: 'ops', cookieJar: jar });
		assert.equal(r.loginFailed, false);
		assert.equal(r.location, `${app.origin}/`);
		assert.equal(r.status, 200);
		assert.match(r.body, /hello user-ops/);
		assert.ok(jar.get('periscope_session', `${app.origin}/`));
		assert.equal(jar.get('periscope_login', `${app.origin}/`), undefined, 'the one-shot login cookie was cleared');
		const urls = r.history.map((h) => new URL(h.url).pathname);
		assert.equal(urls[0], '/api/auth/login');
		assert.ok(urls.includes('/api/auth/callback'));
	});

	test('stopAt the callback leaves code and state for the caller', async () => {
		const r = await loginThroughForm({
			startUrl: `${app.origin}/api/auth/login`, username: 'admin', password: 'admin', stopAt: app.redirectUri,
		});
		assert.equal(r.stoppedAtRedirect, true);
		const back = new URL(r.location);
		assert.ok(back.searchParams.get('code'));
		assert.ok(back.searchParams.get('state'));
		assert.ok(r.cookieJar.get('periscope_login', r.location), 'the app\'s login cookie is in the jar');
	});

	test('a wrong password stops on the form with the IdP\'s message', async () => {
		const r = await loginThroughForm({ startUrl: `${app.origin}/api/auth/login`, username: 'admin', password: 'x' });
		assert.equal(r.loginFailed, true);
		assert.equal(r.error, 'Invalid username or password.');
		assert.ok(r.location.startsWith(`${idp.issuer}/interaction/`));
	});

	test('without credentials browse() stops on the login form', async () => {
		const r = await browse({ url: `${app.origin}/api/auth/login` });
		assert.equal(r.status, 200);
		assert.deepEqual(parseForm(r.body).fields.map((f) => f.name), ['login', 'password']);
	});
});

describe('form parsing', () => {
	test('parseForm reads method, action, fields (entities decoded) and the submit button', () => {
		const form = parseForm(`<p>x</p><form method="post" action="/a?x=1&amp;y=2">
			<input type="hidden" name="xsrf" value="a&quot;b">
			<input name=login value='bob'>
			<input type="checkbox" name="remember">
			<input type="checkbox" name="agree" value="yes" checked>
			<input type="submit" value="Go">
			<button type="submit" name="logout" value="yes">Sign out</button>
		</form><form action="/second"></form>`);
		assert.equal(form.method, 'POST');
		assert.equal(form.action, '/a?x=1&y=2');
		assert.deepEqual(form.fields, [
			{ name: 'xsrf', value: 'a"b', type: 'hidden' },
			{ name: 'login', value: 'bob', type: 'text' },
			{ name: 'agree', value: 'yes', type: 'checkbox' },
		]);
		assert.deepEqual(form.submit, { name: 'logout', value: 'yes' });
		assert.equal(parseForm('<p>no form</p>'), null);
	});

	test('formRequest resolves the action and overrides values; GET forms go in the query', () => {
		const post = formRequest(parseForm('<form method="post" action="next"><input name="a" value="1"><input name="b"></form>'),
			'http://h/dir/page', { b: 'two words' });
		assert.deepEqual(post, { method: 'POST', url: 'http://h/dir/next', body: 'a=1&b=two+words' });
		const get = formRequest(parseForm('<form><input name="q" value="x"></form>'), 'http://h/search?old=1');
		assert.deepEqual(get, { method: 'GET', url: 'http://h/search?q=x', body: undefined });
	});

	test('pageError finds the alert text', () => {
		assert.equal(pageError('<p class="error" role="alert">Bad &amp; wrong</p>'), 'Bad & wrong');
		assert.equal(pageError('<p>fine</p>'), undefined);
	});
});
