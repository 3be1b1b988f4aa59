// How periscope.fcgi ends each web server connection (fcgi/connection.c), through lighttpd
// or Apache: a request whose input it has read to the end is closed plainly, one with a
// body it never read (refused first) the lingering way; either way every answer reaches the
// client whole, and no worker is left waiting on a connection.
import assert from 'node:assert/strict';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { rawRequest } from '../lib/raw-request.mjs';
import { startStack } from '../lib/stack.mjs';
import { signIn } from '../lib/session.mjs';
import { chooseServer } from '../lib/webserver.mjs';

const SERVER = chooseServer();

// One request with any body, on a connection of its own, its answer read to the end.
const request = (stack, path, opts = {}) => rawRequest(stack, path, { ...opts, agent: false });

describe(`periscope.fcgi's connections through ${SERVER}`, () => {
	let stack;
	let admin;

	before(async () => {
		stack = await startStack({ server: SERVER });
		admin = await signIn(stack, 'admin');
	});
	after(async () => {
		await stack?.stop();
	});

	it('answers a burst of signed-in requests, each whole and the same', async () => {
		const cookie = `periscope_session=${admin.cookie()}`;
		const answers = [];
		// 240 requests, 12 at a time: more than the workers (4), so each worker serves many
		// connections one after the other.
		for (let round = 0; round < 20; round++) {
			answers.push(...await Promise.all(Array.from({ length: 12 }, () => request(stack, '/api/clusters', { headers: { cookie } }))));
		}
		for (const a of answers) {
			assert.equal(a.status, 200);
			assert.equal(a.text, answers[0].text);
		}
		assert.deepEqual(answers[0].json.clusters.map((c) => c.name), ['local', 'prod-eu']);
	});

	it('answers requests whose body it refused unread, small and large, and serves on afterwards', async () => {
		// POST /api/agents/tokens needs a session: refused before its body is read. 1 KiB
		// is read to its end and closed plainly; 200 KiB and 1 MiB are past what
		// periscope.fcgi reads to close plainly (64 KiB): the lingering close.
		for (const size of [1024, 200 * 1024, 1024 * 1024]) {
			const body = JSON.stringify({ cluster: 'x'.repeat(size) });
			const res = await request(stack, '/api/agents/tokens', {
				method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(body) }, body,
			});
			assert.equal(res.status, 401, `${size} bytes: ${res.text.slice(0, 200)}`);
			assert.equal(res.json?.code, 'E_AUTH', `${size} bytes: ${res.text.slice(0, 200)}`);
			assert.equal(res.json?.message, 'sign in first');
		}
		const res = await request(stack, '/api/clusters', { headers: { cookie: `periscope_session=${admin.cookie()}` } });
		assert.equal(res.status, 200);
	});
});
