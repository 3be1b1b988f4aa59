// The web surface as a browser, another web site and a careless client meet it, through
// lighttpd or Apache: sign-out only by a POST from periscope's own pages; the security
// headers a terminal page needs on every answer (the UI, the API, the terminal gate's
// refusals, the web server's own errors); invalid UTF-8 and malformed requests answered
// with JSON 400s; a binary WebSocket message that neither ends nor corrupts a terminal.
import assert from 'node:assert/strict';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

// raw: one request exactly as written (path unnormalised, any header), over http or https.
import { rawRequest as raw } from '../lib/raw-request.mjs';
import { startStack } from '../lib/stack.mjs';
import { signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { chooseServer } from '../lib/webserver.mjs';

const SERVER = chooseServer();

function cookieOf(browser) {
	return `periscope_session=${browser.cookie()}`;
}

// The headers every answer must carry, whoever produced it.
function assertSecurityHeaders(r, what, { tls = false } = {}) {
	const csp = r.headers['content-security-policy'];
	assert.ok(csp, `${what}: no Content-Security-Policy (status ${r.status})`);
	const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
	// Scripts from this server only, no inline script and no eval; WebAssembly may compile
	// (the recording player's terminal emulator is a wasm module, web/README.md).
	assert.deepEqual(directives['script-src'], ["'self'", "'wasm-unsafe-eval'"], `${what}: ${csp}`);
	assert.deepEqual(directives['frame-ancestors'], ["'none'"], `${what}: ${csp}`);
	assert.deepEqual(directives['object-src'], ["'none'"], `${what}: ${csp}`);
	assert.equal(r.headers['x-content-type-options'], 'nosniff', what);
	assert.equal(r.headers['referrer-policy'], 'same-origin', what);
	assert.equal(r.headers['x-frame-options'], 'DENY', what);
	if (tls) assert.match(r.headers['strict-transport-security'] || '', /^max-age=\d{7,}/, `${what}: HSTS`);
	else assert.equal(r.headers['strict-transport-security'], undefined, `${what}: HSTS over plain http`);
}

function assertJsonError(r, status, code, what) {
	assert.ok([].concat(status).includes(r.status), `${what}: status ${r.status}: ${r.text.slice(0, 200)}`);
	assert.match(r.headers['content-type'] || '', /^application\/json/, `${what}: ${r.headers['content-type']}`);
	assert.equal(r.json?.code, code, `${what}: ${r.text.slice(0, 200)}`);
	assert.equal(typeof r.json.message, 'string');
}

// A WebSocket upgrade as a browser sends it; the gate's refusal, as the client sees it.
function upgrade(stack, path, headers = {}) {
	return raw(stack, path, {
		headers: {
			connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13',
			'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', origin: stack.url, ...headers,
		},
	});
}

describe(`the web surface through ${SERVER}`, () => {
	let stack;
	before(async () => {
		stack = await startStack();
	});
	after(async () => stack && (await stack.stop()));

	it('signs out only on a POST from its own pages: a cross-site GET or POST leaves the session alive', async () => {
		const admin = await signIn(stack, 'admin');
		const alive = async (what) => assert.equal((await admin.get('/api/auth/whoami')).status, 200, `signed out by ${what}`);
		const attempts = [
			['a GET (a link or an image on another site)', '/api/auth/logout', { method: 'GET', headers: { 'sec-fetch-site': 'cross-site' } }, 405, 'E_METHOD_NOT_ALLOWED'],
			['a GET of sign-out everywhere', '/api/auth/logout/everywhere', { method: 'GET' }, 405, 'E_METHOD_NOT_ALLOWED'],
			['a form POST from another site', '/api/auth/logout', { method: 'POST', headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } }, 403, 'E_ORIGIN'],
			['a POST everywhere from another site', '/api/auth/logout/everywhere', { method: 'POST', headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } }, 403, 'E_ORIGIN'],
			['a POST from a sandboxed frame (Origin: null)', '/api/auth/logout', { method: 'POST', headers: { origin: 'null' } }, 403, 'E_ORIGIN'],
			['a cross-site POST without Origin', '/api/auth/logout', { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } }, 403, 'E_ORIGIN'],
			['a POST from another port of this host', '/api/auth/logout', { method: 'POST', headers: { origin: 'http://127.0.0.1:1', 'sec-fetch-site': 'same-site' } }, 403, 'E_ORIGIN'],
		];
		for (const [what, path, opts, status, code] of attempts) {
			const r = await raw(stack, path, { ...opts, headers: { cookie: cookieOf(admin), 'content-length': '0', ...opts.headers } });
			assertJsonError(r, status, code, what);
			assert.equal(r.headers['set-cookie'], undefined, `${what} touched the cookie`);
			if (status === 405) assert.equal(r.headers.allow, 'POST');
			await alive(what);
		}
		// The UI's own form POST signs out.
		const out = await raw(stack, '/api/auth/logout', {
			method: 'POST',
			headers: { cookie: cookieOf(admin), origin: stack.url, 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded', 'content-length': '0' },
		});
		assert.equal(out.status, 303, out.text);
		assert.equal(out.headers.location, '/?signedOut=1');
		assert.match(String(out.headers['set-cookie']), /periscope_session=;.*Max-Age=0/);
		assert.equal((await admin.get('/api/auth/whoami')).status, 401);
	});

	it('puts the security headers on the UI, the API, the terminal gate and the server\'s own errors', async () => {
		const admin = await signIn(stack, 'admin');
		const cookie = cookieOf(admin);
		const cases = [
			['the UI', '/', {}, 200],
			['a script of the UI', '/js/main.js', {}, 200],
			['the API, signed in', '/api/clusters', { cookie }, 200],
			['the API, signed out', '/api/clusters', {}, 401],
			['an unknown API path', '/api/nothing-here', { cookie }, 404],
			['the terminal gate, signed out', '/api/clusters/local/shell', {}, 401],
			['the terminal gate, no such cluster', '/api/clusters/nowhere/shell', { cookie }, 404],
			['a request the web server refuses itself', '/api/clusters/%zz/nodes', {}, 400],
		];
		for (const [what, path, headers, status] of cases) {
			const r = await raw(stack, path, { headers });
			assert.equal(r.status, status, `${what}: ${r.text.slice(0, 200)}`);
			assertSecurityHeaders(r, what);
		}
		const refused = await upgrade(stack, '/api/clusters/local/shell');
		assert.equal(refused.status, 401, refused.text);
		assertSecurityHeaders(refused, 'a refused terminal upgrade');
		assert.equal(refused.json.code, 'E_AUTH');
	});

	it('answers invalid UTF-8 in a path or a parameter name with 400 E_INVALID_REQUEST', async () => {
		const admin = await signIn(stack, 'admin');
		const cookie = cookieOf(admin);
		for (const path of ['/api/audit?%FF=1', '/api/audit?actor=%C0%AF', '/api/clusters/%FF/nodes', '/api/clusters/%FF/shell', '/api/clusters/%FF/nodes/x/shell']) {
			const r = await raw(stack, path, { headers: { cookie } });
			assertJsonError(r, 400, 'E_INVALID_REQUEST', path);
			assertSecurityHeaders(r, path);
		}
		const up = await upgrade(stack, '/api/clusters/%FF/shell', { cookie });
		assertJsonError(up, 400, 'E_INVALID_REQUEST', 'an upgrade to /api/clusters/%FF/shell');
	});

	it('answers the requests the web server refuses itself with JSON on /api paths', async () => {
		// lighttpd refuses an oversized request line or header block with 431, Apache with 414
		// (request line) or 400 (a header field).
		const cases = [
			['a malformed escape', '/api/clusters/%zz/nodes', {}, 400],
			['a URI too long', `/api/clusters?q=${'a'.repeat(20000)}`, {}, [414, 431]],
			['a header too large', '/api/clusters', { 'x-big': 'x'.repeat(70000) }, [400, 431]],
		];
		for (const [what, path, headers, status] of cases) {
			const r = await raw(stack, path, { headers });
			assertJsonError(r, status, 'E_INVALID_REQUEST', what);
		}
	});

	it('answers a binary WebSocket message with an error frame and keeps the terminal working', async () => {
		const admin = await signIn(stack, 'admin');
		const t = await Terminal.open(stack, '/api/clusters/local/shell', { cookie: cookieOf(admin) });
		t.resize(100, 30);
		await t.waitFrame('hello', 30000);
		// Bytes that look like the start of a frame, then a real one right behind them.
		t.ws.send(Buffer.from([0x00, 0xff, 0x7b, 0x22]), { binary: true });
		t.type('echo after-small-$((40+2))\r');
		await t.waitOutput(/after-small-42/);
		const errors = () => t.frames.filter((f) => f.type === 'error');
		assert.deepEqual(errors().map((f) => [f.code, f.fatal]), [['E_BINARY_FRAME', false]]);
		// A binary message larger than a whole frame line (64 KiB).
		t.ws.send(Buffer.alloc(100 * 1024, 0x41), { binary: true });
		t.type('echo after-large-$((40+2))\r');
		await t.waitOutput(/after-large-42/);
		assert.deepEqual(errors().map((f) => f.code), ['E_BINARY_FRAME', 'E_BINARY_FRAME']);
		t.send({ type: 'close' });
		assert.deepEqual(await t.end(), { type: 'closed', reason: 'client_closed', exitCode: -1 });
	});
});

describe(`the web surface over TLS through ${SERVER}`, () => {
	let stack;
	before(async () => {
		stack = await startStack({ tls: true });
	});
	after(async () => stack && (await stack.stop()));

	it('adds HSTS to every answer', async () => {
		for (const [what, path, status] of [['the UI', '/', 200], ['the API', '/api/auth/config', 200], ['the terminal gate', '/api/clusters/local/shell', 401], ['a server error', '/api/clusters/%zz/nodes', 400]]) {
			const r = await raw(stack, path);
			assert.equal(r.status, status, `${what}: ${r.text.slice(0, 200)}`);
			assertSecurityHeaders(r, what, { tls: true });
		}
	});
});
