// The guardian of a node shell's SSM session (lib/aws/ssm_guardian.c) terminates the session
// with the operator's renewed credentials when the bridge dies after its first ones expired:
// the bridge passes each renewal down to it. The AWS fake's credential clock
// (faults.credentialLifetimeMs) makes credentials expire within seconds.
import assert from 'node:assert/strict';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { NODES, startStack, waitFor, wsbridgeProcesses } from '../lib/stack.mjs';
import { auditRow, signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { chooseServer } from '../lib/webserver.mjs';
import { stackSql } from '../lib/stack_sql.mjs';

const LIFETIME_MS = 6000;

describe(`a node shell's guardian through ${chooseServer()}`, () => {
	let stack;
	let admin;
	before(async () => {
		stack = await startStack({ aws: { faults: { credentialLifetimeMs: LIFETIME_MS } } });
		admin = await signIn(stack, 'admin');
	});
	after(async () => stack && (await stack.stop()));

	it('terminates the SSM session of a SIGKILLed bridge with renewed credentials', async () => {
		const stsFrom = stack.aws.state.requests.length;
		const t = await Terminal.open(stack, `/api/clusters/local/nodes/${NODES[0].name}/shell`, { cookie: `periscope_session=${admin.cookie()}` });
		t.resize(100, 30);
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(/\$ $/m, 20000);
		const issued = () => stack.aws.state.requests.slice(stsFrom).filter((r) => r.service === 'sts' && r.status === 200);
		// The credentials the session was started with: its owner's at the fake.
		const ssmSession = [...stack.aws.state.sessions.values()].at(-1);
		const first = ssmSession.owner.accessKeyId;
		const ssmId = ssmSession.sessionId;
		const expiry = (akid) => stack.aws.state.credentials.get(akid).expiresAt;
		await waitFor('the first credentials to expire and newer ones to be issued',
			() => Date.now() > expiry(first) + 1000 && issued().some((r) => r.issuedAccessKeyId !== first && expiry(r.issuedAccessKeyId) > Date.now() + 1000),
			{ timeoutMs: 30000 });
		const pid = Number(stackSql(stack, `SELECT pid FROM shell_sessions WHERE id = '${hello.sessionId}'`));
		assert.ok(pid > 0);
		process.kill(pid, 'SIGKILL');
		await waitFor(`TerminateSession of ${ssmId} at the fake`, () => stack.aws.snapshot().terminated.some((x) => x.sessionId === ssmId), { timeoutMs: 20000 });
		const term = stack.aws.state.requests.filter((r) => r.service === 'ssm' && r.action === 'TerminateSession');
		assert.deepEqual(term.map((r) => r.status), [200], 'one TerminateSession, which succeeded');
		assert.notEqual(term[0].accessKeyId, first, 'made with renewed credentials');
		assert.ok(Date.now() > expiry(first), 'after the first ones expired');
		await waitFor('the guardian to exit', () => wsbridgeProcesses(stack).length === 0, { timeoutMs: 10000 });
		const close = await auditRow(admin, `verb=ssm_session_close&session_id=${hello.sessionId}`, { timeoutMs: 60000 });
		assert.deepEqual([close.reason, close.extra.ssm_session_id], ['lost', ssmId]);
		t.terminate();
	});
});
