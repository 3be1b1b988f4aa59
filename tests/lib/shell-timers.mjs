// The heartbeat and maximum-duration cuts, the same contract for both shells: a browser
// that stops sending pings is cut after three missed heartbeats (2 s each here), and a session in constant
// use still ends at its maximum duration; each writes its close row.
import assert from 'node:assert/strict';
// bounded-test: each hook and test has a deadline of its own, so a stack that does not start
// or stop fails here by name instead of holding the whole file to the runner's timeout.
import { after, before, describe, it } from './bounded-test.mjs';

import { auditRow, signIn } from './session.mjs';
import { startStack } from './stack.mjs';

// kind: 'clusterShell' | 'nodeShell'; open(stack, browser) -> Terminal; verb: the close
// row's audit verb.
export function describeHeartbeatAndMaxDuration(title, { kind, open, verb, maxDurationSeconds }) {
	const closeRow = (browser, id) => auditRow(browser, `verb=${verb}&session_id=${id}`);
	// Each cut on a stack of its own: on a loaded machine a slow start would otherwise let
	// the other timer fire first.
	describe(`${title}: heartbeat`, () => {
		let stack;
		before(async () => {
			stack = await startStack({ config: { [kind]: { heartbeatSeconds: 2 } } });
		});
		after(async () => stack && (await stack.stop()));

		it('ends a session whose browser stopped sending heartbeats, with its close row', async () => {
			const admin = await signIn(stack, 'admin');
			// Alive while the session starts (a slow pod start must not count), then silent.
			const t = await open(stack, admin);
			const beat = setInterval(() => t.ping(Date.now()), 400);
			let hello;
			try {
				hello = await t.waitFrame('hello', 30000);
			} finally {
				clearInterval(beat);
			}
			assert.equal(hello.heartbeatSeconds, 2);
			const end = await t.end(15000);
			assert.deepEqual([end.type, end.reason], ['closed', 'heartbeat_timeout']);
			assert.equal((await closeRow(admin, hello.sessionId)).reason, 'heartbeat_timeout');
		});

	});

	describe(`${title}: maximum duration`, () => {
		let stack;
		before(async () => {
			stack = await startStack({ config: { [kind]: { heartbeatSeconds: 2, maxDurationSeconds } } });
		});
		after(async () => stack && (await stack.stop()));

		it('ends a session at its maximum duration even while it is used, with its close row', async () => {
			const admin = await signIn(stack, 'admin');
			// Busy from the moment the socket opens, as the web UI pings: the heartbeat counts
			// from the start of the session, while its pod or SSM session is still starting.
			const t = await open(stack, admin);
			const beat = setInterval(() => {
				t.ping(Date.now());
				t.type(' ');
			}, 400);
			let hello;
			try {
				const opened = Date.now();
				hello = await t.waitFrame('hello', 30000);
				const helloAt = Date.now();
				// What is left, counted from the bridge's start: no more than the limit less the
				// time the shell took to be ready, and the cut comes when it says.
				const left = hello.maxDurationRemainingSeconds;
				assert.equal(hello.maxDurationSeconds, maxDurationSeconds);
				assert.ok(Number.isInteger(left) && left <= maxDurationSeconds - Math.floor((helloAt - opened) / 1000) + 1,
					`${left} s left after ${helloAt - opened} ms of start-up`);
				const end = await t.end(20000);
				assert.deepEqual([end.type, end.reason], ['closed', 'max_duration']);
				const cutAfter = (Date.now() - helloAt) / 1000;
				assert.ok(cutAfter >= left - 0.5 && cutAfter <= left + 2.5, `cut ${cutAfter.toFixed(1)} s after a hello that said ${left} s`);
			} finally {
				clearInterval(beat);
			}
			const close = await closeRow(admin, hello.sessionId);
			assert.deepEqual([close.reason, close.extra.close_reason], ['max_duration', 'max_duration']);
			const ms = maxDurationSeconds * 1000;
			assert.ok(close.extra.duration_ms >= ms, `ran ${close.extra.duration_ms} ms of its ${ms} ms`);
		});
	});
}
