// Credentials that last the session: wsbridge asks STS for as long as the session may last
// (43200 s when there is no maximum), falls back to 3600 when the role's
// MaxSessionDuration is lower (AWS's ValidationError), and assumes the role again with a
// fresh id_token before the credentials expire. The AWS fake's credential clock
// (faults.credentialLifetimeMs) makes them expire within seconds, so the session outlives
// its first credentials and TerminateSession at its end still succeeds.
import assert from 'node:assert/strict';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { startStack, waitFor, NODES } from '../lib/stack.mjs';
import { signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';

const LIFETIME_MS = 6000;
const PROMPT = /\$ $/m;

describe('node shell credentials', () => {
	let stack;
	let admin;
	before(async () => {
		stack = await startStack({ aws: { faults: { credentialLifetimeMs: LIFETIME_MS } } });
		admin = await signIn(stack, 'admin');
	});
	after(async () => stack && (await stack.stop()));

	it('are renewed before they expire, and TerminateSession works after the first ones expired', async () => {
		const stsFrom = stack.aws.state.requests.length;
		const t = await Terminal.open(stack, `/api/clusters/local/nodes/${NODES[0].name}/shell`, { cookie: `periscope_session=${admin.cookie()}` });
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(PROMPT);
		const sts = () => stack.aws.state.requests.slice(stsFrom).filter((r) => r.service === 'sts' && r.durationSeconds !== null);
		// The session's own STS call: 43200 refused by the role's 1 h maximum, then 3600.
		assert.deepEqual(sts().slice(0, 2).map((r) => [r.durationSeconds, r.errorCode ?? r.status]), [[43200, 'ValidationError'], [3600, 200]]);
		const first = sts()[1].issuedAccessKeyId;
		const ssmSession = stack.aws.state.sessions.get([...stack.aws.state.sessions.keys()].at(-1));
		assert.equal(ssmSession.owner.accessKeyId, first);
		const expiry = (akid) => stack.aws.state.credentials.get(akid).expiresAt;
		await waitFor('the first credentials to expire and newer ones to be issued',
			() => Date.now() > expiry(first) + 1000 && sts().filter((r) => r.status === 200).length >= 3,
			{ timeoutMs: 30000 });
		// Renewals ask for what the role granted, not again for 43200.
		assert.ok(sts().slice(2).every((r) => r.durationSeconds === 3600), JSON.stringify(sts().map((r) => r.durationSeconds)));
		t.type('echo renewed-$((6*7))\r');
		await t.waitOutput(/renewed-42/);
		t.terminate();
		const ssmId = ssmSession.sessionId;
		await waitFor('TerminateSession at the fake', () => stack.aws.snapshot().terminated.some((x) => x.sessionId === ssmId), { timeoutMs: 20000 });
		const term = stack.aws.state.requests.filter((r) => r.service === 'ssm' && r.action === 'TerminateSession').at(-1);
		assert.equal(term.status, 200);
		assert.notEqual(term.accessKeyId, first, 'terminated with renewed credentials');
		assert.ok(expiry(term.accessKeyId) > Date.now() - LIFETIME_MS, 'the credentials used were live');
		assert.ok(Date.now() > expiry(first), 'the session outlived its first credentials');
		assert.ok(hello.sessionId);
	});
});
