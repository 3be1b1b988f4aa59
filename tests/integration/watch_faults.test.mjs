// A cluster shell whose pod watch fails mid-way still opens: the fake apiserver cuts the
// watch's connection, answers the next one with 500, and then sends an ERROR event with
// 410 Gone; periscope-wsbridge watches again from the last resourceVersion after a
// backoff, and lists again after the 410, as client-go's reflector does.
import assert from 'node:assert/strict';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { startStack } from '../lib/stack.mjs';
import { signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';

const PROMPT = /[$#] $/m;

describe('cluster shell: pod watches that fail mid-way', () => {
	let stack;
	let admin;
	before(async () => {
		// The pod takes 3 s to be ready, so the faults meet the watch before it is.
		stack = await startStack({ apiserver: { readyDelayMs: 3000 } });
		admin = await signIn(stack, 'admin');
	});
	after(async () => {
		if (stack) await stack.stop();
	});

	it('opens although its pod watch is cut, refused with 500 and expired (410)', async () => {
		stack.api.addWatchFaults('pods', ['reset', '500', 'gone']);
		const t = await Terminal.open(stack, '/api/clusters/local/shell', { cookie: `periscope_session=${admin.cookie()}` });
		t.resize(100, 30);
		const hello = await t.waitFrame('hello', 60000);
		await t.waitOutput(PROMPT, 30000);
		t.type('echo watched-$((6*7))\r');
		await t.waitOutput(/watched-42/);
		const podPath = '/api/v1/namespaces/periscope-system/pods';
		const reqs = stack.api.state.requests.filter((q) => q.method === 'GET' && q.path === podPath
			&& q.query.includes(encodeURIComponent(`metadata.name=periscope-shell-${hello.sessionId}`)));
		const watches = reqs.filter((q) => /[?&]watch=1/.test(q.query));
		const lists = reqs.filter((q) => !/[?&]watch=/.test(q.query));
		// list, watch (cut), watch (500), watch (410), list again: the pod is ready by then
		// or on a later watch.
		assert.ok(watches.length >= 3, `three watches or more, saw ${watches.length}`);
		assert.deepEqual(watches.slice(0, 3).map((q) => q.status), [200, 500, 200]);
		assert.ok(watches.every((q) => /resourceVersion=\d+/.test(q.query)), 'each watch from the last resourceVersion');
		assert.ok(!/[?&]watch=/.test(reqs[0].query), 'a list first');
		assert.equal(lists.length, 2, 'listed once, and again after the 410');
		assert.ok(reqs.indexOf(lists[1]) > reqs.indexOf(watches[2]), 'the second list follows the 410');
		t.send({ type: 'close' });
		assert.equal((await t.end(30000)).type, 'closed');
	});
});
