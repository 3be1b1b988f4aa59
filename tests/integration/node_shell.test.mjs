// The node shell end to end: lighttpd (authorizer, with STS) -> websocketd ->
// periscope-wsbridge -> the AWS fakes (STS checks the id_token against the real IdP;
// SSM checks SigV4 with an independent implementation; ssmmessages plays the agent with a
// real bash in a pty, and on demand drops, reorders and duplicates messages).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { ACCOUNT, NODES, startStack, waitFor } from '../lib/stack.mjs';
import { auditRow, signIn } from '../lib/session.mjs';
import { describeHeartbeatAndMaxDuration } from '../lib/shell-timers.mjs';
import { Terminal } from '../lib/terminal.mjs';

const ONLINE = NODES[0].name;
const OFFLINE = NODES[1].name;
const NOT_EC2 = NODES[2].name;
const shellPath = (node) => `/api/clusters/local/nodes/${node}/shell`;
const preflightPath = (node) => `/api/clusters/local/nodes/${node}/shell/preflight`;
const PROMPT = /\$ $/m;

async function refusal(stack, p, { cookie, origin = stack.url } = {}) {
	try {
		const t = await Terminal.open(stack, p, { cookie, origin });
		t.terminate();
		return { status: 101 };
	} catch (e) {
		if (!e.status) throw e;
		return { status: e.status, body: e.body };
	}
}

async function openNode(stack, browser, node = ONLINE) {
	const t = await Terminal.open(stack, shellPath(node), { cookie: `periscope_session=${browser.cookie()}` });
	t.resize(100, 30);
	return t;
}

// The close row of one session: every way a session ends writes one.
function closeRow(browser, sessionId) {
	return auditRow(browser, `verb=ssm_session_close&session_id=${sessionId}`);
}

// The canary: AWS credentials in the server's environment and a credentials file in its
// HOME. Nothing may ever use them.
function canaryEnv() {
	const home = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-canary-'));
	fs.mkdirSync(path.join(home, '.aws'));
	fs.writeFileSync(path.join(home, '.aws', 'credentials'),
		'[default]\naws_access_key_id = AKIACANARYFILE000000\naws_secret_access_key = canary-file-secret\n');
	return {
		home,
		env: {
			HOME: home,
			AWS_ACCESS_KEY_ID: 'AKIACANARYENV0000000',
			AWS_SECRET_ACCESS_KEY: 'canary-env-secret',
			AWS_SESSION_TOKEN: 'canary-env-token',
			AWS_PROFILE: 'default',
		},
	};
}

describe('node shell', () => {
	let stack;
	let admin;
	let viewer;
	let canary;
	before(async () => {
		canary = canaryEnv();
		stack = await startStack({ env: canary.env, passAwsEnv: true });
		admin = await signIn(stack, 'admin');
		viewer = await signIn(stack, 'viewer');
	});
	after(async () => {
		if (stack) await stack.stop();
		if (canary) fs.rmSync(canary.home, { recursive: true, force: true });
	});

	it('lists the nodes with their EC2 instances', async () => {
		const r = await admin.get('/api/clusters/local/nodes');
		assert.equal(r.status, 200, r.text);
		const byName = Object.fromEntries(r.json.nodes.map((n) => [n.name, n]));
		assert.equal(byName[ONLINE].instanceId, 'i-0123456789abcdef0');
		assert.equal(byName[ONLINE].zone, 'eu-west-1a');
		assert.equal(byName[ONLINE].region, 'eu-west-1');
		assert.equal(byName[ONLINE].nodeShellAllowed, true);
		assert.equal(byName[NOT_EC2].instanceId, undefined);
		assert.equal(byName[NOT_EC2].nodeShellAllowed, false);
		const v = await viewer.get('/api/clusters/local/nodes');
		assert.ok(v.json.nodes.every((n) => n.nodeShellAllowed === false));
	});

	it('preflight: STS with the operator id_token, then the agent status', async () => {
		const r = await admin.get(preflightPath(ONLINE));
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.instanceId, 'i-0123456789abcdef0');
		assert.equal(r.json.agentOnline, true);
		assert.equal(r.json.pingStatus, 'Online');
		assert.equal(r.json.platform, 'Amazon Linux');
		assert.equal(r.json.auth, 'sts');
		assert.equal(r.json.assumedRoleArn, `arn:aws:sts::${ACCOUNT}:assumed-role/periscope-node-shell/periscope-user-admin`);
		const off = await admin.get(preflightPath(OFFLINE));
		assert.equal(off.status, 200);
		assert.equal(off.json.agentOnline, false);
		assert.equal(off.json.pingStatus, 'ConnectionLost');
		const gce = await admin.get(preflightPath(NOT_EC2));
		assert.deepEqual([gce.status, gce.json.code], [404, 'E_NODE_NOT_EC2']);
		const v = await viewer.get(preflightPath(ONLINE));
		assert.deepEqual([v.status, v.json.code], [403, 'E_FORBIDDEN']);
	});

	it('opens a shell on the host, follows resizes, and ends with a closed frame', async () => {
		const t = await openNode(stack, admin);
		const hello = await t.waitFrame('hello', 30000);
		assert.equal(hello.kind, 'node_shell');
		assert.equal(hello.target, ONLINE);
		await t.waitOutput(PROMPT);
		t.type(`whoami\r`);
		await t.waitOutput(new RegExp(`^${os.userInfo().username}\\r?$`, 'm'));
		t.type('stty size\r');
		await t.waitOutput(/^30 100\r?$/m);
		// The agent's own books: every output message acknowledged, each ack well-formed
		// (an agent whose output goes unacknowledged resends it and stops publishing).
		const agent = () => stack.aws.snapshot().sessions.at(-1);
		await waitFor('the agent to see every output message acknowledged', () => agent().stats.outputSends > 0 && agent().stats.unacked === 0, { timeoutMs: 10000 });
		assert.deepEqual(agent().protocolErrors, []);
		t.resize(120, 40);
		// The resize and the next keystrokes travel as separate SSM messages; under load the
		// agent may apply the size a moment after running the command, so ask again until
		// the new size shows (bounded).
		for (let attempt = 0; ; attempt++) {
			const from = t.output.length;
			t.type('stty size\r');
			const seen = await t.until('a stty answer', () => /^(\d+ \d+)\r?$/m.exec(t.output.slice(from))?.[1]);
			if (seen === '40 120') break;
			assert.ok(attempt < 5, `the shell still reports ${seen} after the resize`);
		}
		t.type('exit\r');
		const end = await t.end();
		assert.equal(end.type, 'closed');
		assert.equal(end.reason, 'exit');
		const close = await closeRow(admin, hello.sessionId);
		assert.deepEqual([close.outcome, close.reason], ['success', 'exit']);
		assert.match(close.extra.ssm_session_id, /^periscope-user-admin-/);
	});

	it('delivers 1 MB of output intact while the fake drops and reorders messages', async () => {
		const t = await openNode(stack, admin);
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(PROMPT);
		const n = 160000;
		let body;
		stack.aws.setFaults({ dropOutputPercent: 5, reorderPercent: 5, duplicatePercent: 5 });
		try {
			t.type(`echo BE""GIN; seq 1 ${n}; echo E""ND\r`);
			await t.waitOutput(/^END\r?$/m, 120000);
		} finally {
			stack.aws.setFaults({});
		}
		body = t.output.split(/^BEGIN\r?\n/m)[1].split(/^END\r?$/m)[0].replace(/\r\n/g, '\n');
		const expected = Array.from({ length: n }, (_, i) => String(i + 1)).join('\n') + '\n';
		assert.ok(expected.length >= 1000000, 'at least 1 MB');
		assert.equal(body.length, expected.length);
		assert.ok(body === expected, 'every byte arrives, in order');
		assert.ok(stack.aws.snapshot().sessions.at(-1).stats.dropped > 0, 'the fake really dropped messages');
		t.type('exit\r');
		await t.end();
		const close = (await admin.get(`/api/audit?session_id=${hello.sessionId}&verb=ssm_session_close`)).json.items[0];
		assert.ok(close.extra.transcript_bytes > expected.length);
		assert.equal(close.extra.truncated, true, '1 MiB transcript cap reached');
	});

	it('terminates the SSM session and writes the close row when the client disconnects', async () => {
		const t = await openNode(stack, admin);
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(PROMPT);
		t.type('echo node-$((6*7))\r');
		await t.waitOutput(/node-42/);
		t.terminate();
		let close;
		await waitFor('the close row', async () => {
			close = (await admin.get(`/api/audit?session_id=${hello.sessionId}&verb=ssm_session_close`)).json.items[0];
			return close;
		}, { timeoutMs: 20000 });
		const ssmId = close.extra.ssm_session_id;
		assert.match(ssmId, /^periscope-user-admin-/);
		await waitFor('TerminateSession at the fake', () => stack.aws.snapshot().terminated.some((x) => x.sessionId === ssmId));
		assert.equal(close.reason, 'client_closed');
		assert.equal(close.extra.instance_id, 'i-0123456789abcdef0');
		assert.equal(close.extra.node, ONLINE);
		assert.equal(close.extra.role_session_name, 'periscope-user-admin');
		assert.equal(close.extra.truncated, false);
		assert.match(close.extra.transcript, /node-42/);
		assert.ok(close.extra.transcript_bytes >= close.extra.transcript.length);
		const open = (await admin.get(`/api/audit?session_id=${hello.sessionId}&verb=ssm_session_open`)).json.items[0];
		assert.equal(open.extra.assumed_role_arn, `arn:aws:sts::${ACCOUNT}:assumed-role/periscope-node-shell/periscope-user-admin`);
		assert.equal(open.extra.region, 'eu-west-1');
	});

	it('retransmits keystrokes the agent lost', async () => {
		const t = await openNode(stack, admin);
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(PROMPT);
		stack.aws.setFaults({ dropInputPercent: 40 });
		try {
			// One message per keystroke: with 30-odd messages at 40% loss, some are lost for sure
			// (all getting through would have a chance of about 1 in 5 million).
			for (const ch of 'echo lost-and-$((20+22))-found\r') t.type(ch);
			await t.waitOutput(/lost-and-42-found/, 30000);
		} finally {
			stack.aws.setFaults({});
		}
		t.type('exit\r');
		await t.end();
		const close = (await admin.get(`/api/audit?session_id=${hello.sessionId}&verb=ssm_session_close`)).json.items[0];
		assert.ok(close.extra.channel.retransmits > 0, 'input was sent again');
	});

	it('opens a KMS-encrypted session: data key from KMS with the operator\'s credentials, challenge, encrypted echo', async () => {
		stack.aws.setFaults({ handshake: 'kms', requireKmsChallengeResponse: true });
		try {
			const t = await openNode(stack, admin);
			const hello = await t.waitFrame('hello', 30000);
			await t.waitOutput(PROMPT);
			t.type('echo kms-$((6*7))\r');
			await t.waitOutput(/kms-42/);
			const rec = stack.aws.state.sessions.get([...stack.aws.state.sessions.keys()].at(-1));
			assert.deepEqual(rec.handshake.requested, ['SessionType', 'KMSEncryption']);
			assert.equal(rec.handshake.completed, true);
			assert.deepEqual(rec.handshake.kms, { challengeAcknowledged: true, challengeConfirmed: true });
			assert.equal(rec.stats.undecryptable ?? 0, 0, 'every keystroke arrived encrypted');
			assert.deepEqual(rec.protocolErrors, []);
			// GenerateDataKey with the operator's own credentials, never the server's.
			const kms = stack.aws.state.requests.filter((q) => q.service === 'kms');
			assert.deepEqual(kms.map((q) => [q.action, q.status]), [['GenerateDataKey', 200]]);
			assert.equal(kms[0].accessKeyId, rec.owner.accessKeyId);
			t.type('exit\r');
			const end = await t.end();
			assert.equal(end.reason, 'exit');
			const close = (await admin.get(`/api/audit?session_id=${hello.sessionId}&verb=ssm_session_close`)).json.items[0];
			assert.match(close.extra.transcript, /kms-42/);
		} finally {
			stack.aws.setFaults({ handshake: 'none', requireKmsChallengeResponse: false });
		}
	});

	it('gives a clear error for an offline agent, and writes its close row', async () => {
		const t = await openNode(stack, admin, OFFLINE);
		const end = await t.end(30000);
		assert.equal(end.type, 'error');
		assert.match(end.code, /^E_NODE_SHELL_/);
		assert.match(end.message, /TargetNotConnected/);
		const close = await auditRow(admin, 'verb=ssm_session_close');
		assert.deepEqual([close.outcome, close.reason, close.extra.err_code], ['failure', 'error', end.code]);
		assert.equal(close.extra.node, OFFLINE);
	});

	it('refuses before the upgrade as the seeds say', async () => {
		const cookie = `periscope_session=${admin.cookie()}`;
		let r = await refusal(stack, shellPath(ONLINE));
		assert.deepEqual([r.status, r.body.code], [401, 'E_AUTH']);
		r = await refusal(stack, '/api/clusters/nope/nodes/x/shell', { cookie });
		assert.deepEqual([r.status, r.body.code], [404, 'E_NOT_FOUND']);
		r = await refusal(stack, shellPath(NOT_EC2), { cookie });
		assert.deepEqual([r.status, r.body.code], [404, 'E_NODE_NOT_EC2']);
		r = await refusal(stack, shellPath(ONLINE), { cookie: `periscope_session=${viewer.cookie()}` });
		assert.deepEqual([r.status, r.body.code], [403, 'E_FORBIDDEN']);
	});

	it('never lets AWS see any credentials but the STS ones', async () => {
		const snap = stack.aws.snapshot();
		const seen = snap.requests.map((q) => q.accessKeyId).filter(Boolean);
		assert.ok(seen.length > 0);
		for (const k of seen) {
			assert.match(k, /^ASIA/);
			assert.notEqual(k, 'AKIACANARYENV0000000');
			assert.notEqual(k, 'AKIACANARYFILE000000');
		}
		// The server's own identity (EKS Pod Identity here) is a second canary: the sweep of
		// the eks cluster prod-eu uses it for eks:DescribeCluster, and nothing of the node
		// shell ever does (tests/integration/eks.test.mjs does the same around a node shell
		// on an eks cluster).
		await waitFor('the sweep to ask eks:DescribeCluster with the server identity',
			() => stack.aws.snapshot().requests.some((q) => q.service === 'eks'));
		const server = new Set(stack.aws.snapshot().credentials.filter((c) => c.serverIdentity).map((c) => c.accessKeyId));
		assert.ok(server.size > 0, 'the server identity is live');
		for (const q of stack.aws.snapshot().requests) {
			if (q.service === 'ssm' || (q.service === 'sts' && q.action === 'AssumeRoleWithWebIdentity'))
				assert.ok(!server.has(q.accessKeyId), `${q.service} ${q.action} carried the server's key`);
		}
		for (const s of snap.sessions) assert.ok(!server.has(s.accessKeyId), 'a data channel opened with the server key');
	});
});

describe('node shell trust and timers', () => {
	let stack;
	before(async () => {
		stack = await startStack({
			aws: { roles: [{ arn: 'arn:aws:iam::123456789012:role/periscope-node-shell', trust: { aud: 'periscope', sub: ['user-admin'] } }] },
			config: {
				nodeShell: { idleSeconds: 4, idleWarnSeconds: 2 },
				clusters: [
					{ name: 'local', backend: 'kubeconfig', kubeconfigPath: '@KUBECONFIG@', region: 'eu-west-1' },
					// A second account's role that trusts another audience: a per-cluster override.
					{ name: 'other', backend: 'kubeconfig', kubeconfigPath: '@KUBECONFIG@', nodeShell: { oidcAudience: 'sts.amazonaws.com' } },
				],
			},
		});
	});
	after(async () => stack && (await stack.stop()));

	it('denies a user outside the role trust policy sub list', async () => {
		const ops = await signIn(stack, 'ops');
		const r = await ops.get(preflightPath(ONLINE));
		assert.deepEqual([r.status, r.json.code], [403, 'E_NODE_SHELL_TRUST_DENIED']);
		assert.match(r.json.err, /AccessDenied/);
		const u = await refusal(stack, shellPath(ONLINE), { cookie: `periscope_session=${ops.cookie()}` });
		assert.deepEqual([u.status, u.body.code], [403, 'E_NODE_SHELL_TRUST_DENIED']);
	});

	it('checks the id_token audience against the cluster role before asking STS', async () => {
		const admin = await signIn(stack, 'admin');
		const r = await admin.get(`/api/clusters/other/nodes/${ONLINE}/shell/preflight`);
		assert.deepEqual([r.status, r.json.code, r.json.expected_aud], [403, 'E_NODE_SHELL_AUD_MISMATCH', 'sts.amazonaws.com']);
	});

	it('warns, then cuts an idle session', async () => {
		const admin = await signIn(stack, 'admin');
		const t = await openNode(stack, admin);
		const hello = await t.waitFrame('hello', 30000);
		const warn = await t.waitFrame('idle_warn', 15000);
		const end = await t.end(15000);
		assert.equal(end.reason, 'idle');
		assert.ok(t.frames.indexOf(warn) < t.frames.indexOf(end));
		const close = await closeRow(admin, hello.sessionId);
		assert.deepEqual([close.outcome, close.reason], ['success', 'idle']);
		await waitFor('TerminateSession at the fake', () => stack.aws.snapshot().terminated.some((x) => x.sessionId === close.extra.ssm_session_id));
	});
});

describeHeartbeatAndMaxDuration('node shell heartbeat and maximum duration', {
	kind: 'nodeShell', open: (stack, browser) => openNode(stack, browser), verb: 'ssm_session_close', maxDurationSeconds: 6,
});

describe('node shell with short-lived id_tokens', () => {
	let stack;
	before(async () => {
		stack = await startStack({ idp: { idTokenTtl: 30 } });
	});
	after(async () => stack && (await stack.stop()));

	it('asks to sign in again when no fresh id_token can be had', async () => {
		const admin = await signIn(stack, 'admin');
		const r = await admin.get(preflightPath(ONLINE));
		assert.deepEqual([r.status, r.json.code], [401, 'E_REAUTH_REQUIRED']);
	});
});

describe('node shell turned off (nodeShell.enabled: false)', () => {
	let stack;
	before(async () => {
		stack = await startStack({ config: { nodeShell: { enabled: false } } });
	});
	after(async () => stack && (await stack.stop()));

	it('offers no node shell anywhere and refuses one at every door with E_NODE_SHELL_DISABLED', async () => {
		const admin = await signIn(stack, 'admin');
		const clusters = await admin.get('/api/clusters');
		const local = clusters.json.clusters.find((c) => c.name === 'local');
		assert.deepEqual([local.nodeShellEnabled, local.nodeShellAllowed], [false, false]);
		assert.equal(local.clusterShellAllowed, true, 'the cluster shell is not affected');
		const nodes = await admin.get('/api/clusters/local/nodes');
		assert.equal(nodes.status, 200, nodes.text);
		assert.ok(nodes.json.nodes.every((n) => n.nodeShellAllowed === false));
		const pre = await admin.get(preflightPath(ONLINE));
		assert.deepEqual([pre.status, pre.json?.code], [403, 'E_NODE_SHELL_DISABLED'], pre.text);
		const plain = await admin.get(shellPath(ONLINE));
		assert.deepEqual([plain.status, plain.json?.code], [403, 'E_NODE_SHELL_DISABLED'], plain.text);
		const r = await refusal(stack, shellPath(ONLINE), { cookie: `periscope_session=${admin.cookie()}` });
		assert.deepEqual([r.status, r.body.code], [403, 'E_NODE_SHELL_DISABLED']);
		// (The stack's eks cluster prod-eu is swept with the server's own identity: EKS calls
		// that are not the node shell's.)
		const nodeShellCalls = stack.aws.snapshot().requests.filter((q) => q.service === 'ssm'
			|| (q.service === 'sts' && q.action === 'AssumeRoleWithWebIdentity'));
		assert.deepEqual(nodeShellCalls, [], 'AWS was never asked for a node shell');
	});
});
