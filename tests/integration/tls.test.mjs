// The local stack over HTTPS, under the web server PERISCOPE_SERVER names: sign-in, the
// session cookie's Secure flag, and a cluster shell over wss:// (websocketd then admits
// the https:// origin only). The client trusts the stack's throwaway CA, nothing else.
import assert from 'node:assert/strict';
import { after, before, describe, it } from '../lib/bounded-test.mjs';
import { Agent, setGlobalDispatcher } from 'undici';

import { fetchWithin, REQUEST_DEADLINE_MS } from '../lib/deadline.mjs';
import { startStack, waitFor } from '../lib/stack.mjs';
import { signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { chooseServer } from '../lib/webserver.mjs';

describe(`TLS through ${chooseServer()}`, () => {
	let stack;
	let admin;
	before(async () => {
		stack = await startStack({ tls: true });
		// fetch (sign-in, API calls) trusts the stack's CA in this test process.
		setGlobalDispatcher(new Agent({ connect: { ca: stack.ca } }));
		admin = await signIn(stack, 'admin');
	});
	after(async () => stack && (await stack.stop()));

	it('serves https with a certificate the stack CA signed, and no plain http on that port', async () => {
		assert.match(stack.url, /^https:\/\/127\.0\.0\.1:\d+$/);
		const h = await fetchWithin(`${stack.url}/healthz`);
		assert.equal(h.res.status, 200);
		assert.deepEqual(JSON.parse(h.text), { status: 'ok', database: 'reachable' });
		const page = await fetchWithin(`${stack.url}/`);
		assert.match(page.text, /<title>periscope<\/title>/);
		const plain = await fetchWithin(stack.url.replace('https:', 'http:') + '/healthz', {}, REQUEST_DEADLINE_MS, { resendOnClose: false })
			.then((r) => r.res.status, () => 'refused');
		assert.notEqual(plain, 200);
	});

	it('signs in and marks the session cookie Secure', async () => {
		const session = admin.jar.all().find((c) => c.name === 'periscope_session');
		assert.ok(session, 'a session cookie was set');
		assert.equal(session.secure, true);
		assert.ok(session.httpOnly);
		const who = await admin.get('/api/auth/whoami');
		assert.equal(who.status, 200, who.text);
		assert.equal(who.json.subject, 'user-admin');
	});

	it('opens a cluster shell over wss that echoes, and refuses the http:// origin', async () => {
		const cookie = `periscope_session=${admin.cookie()}`;
		const t = await Terminal.open(stack, '/api/clusters/local/shell', { cookie });
		t.resize(100, 30);
		await t.waitFrame('hello', 30000);
		await t.waitOutput(/[$#] $/m);
		t.type('echo tls-$((6*7))\r');
		await t.waitOutput(/^tls-42\r?$/m);
		t.type('exit\r');
		const end = await t.end();
		assert.equal(end.reason, 'exit');
		if (stack.server === 'apache') {
			// The gate named the operator for Apache's access log (%u), from its answer.
			await waitFor('the access log line of the terminal', () =>
				/ user-admin "GET \/api\/clusters\/local\/shell HTTP\/1\.1" 101 /.test(stack.log('apache-access')));
		}

		const refused = await Terminal.open(stack, '/api/clusters/local/shell', {
			cookie, origin: stack.url.replace('https:', 'http:'),
		}).then((x) => { x.terminate(); return 101; }, (e) => e.status);
		assert.equal(refused, 403);
	});
});
