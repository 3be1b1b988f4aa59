// SSM resume: the AWS fake cuts the data channel in the middle of a 4 MB `cat`, after
// losing the acknowledgements in flight (as a dying NAT or proxy does). wsbridge calls
// ResumeSession, reopens the channel with the new token, acknowledges again what the agent
// retransmits (including messages it has shown already) and shows each byte once: the
// output arrives complete, in order, and once.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { startStack, waitFor, NODES, NODE_ROLE, CLIENT, REGION, ACCOUNT } from '../lib/stack.mjs';
import { seedPermissionPolicy } from '../fakes/aws/iam.mjs';
import { signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';

const PROMPT = /\$ $/m;

describe('node shell resume', () => {
	let stack;
	let admin;
	before(async () => {
		stack = await startStack();
		admin = await signIn(stack, 'admin');
	});
	after(async () => stack && (await stack.stop()));

	it('a cut mid-cat of 4 MB: ResumeSession, and the output arrives complete and once', async () => {
		const t = await Terminal.open(stack, `/api/clusters/local/nodes/${NODES[0].name}/shell`, { cookie: `periscope_session=${admin.cookie()}` });
		const hello = await t.waitFrame('hello', 30000);
		// The web UI pings every heartbeatSeconds; a long transfer would otherwise be a
		// silent browser.
		const heartbeat = setInterval(() => t.ping(Date.now()), 5000);
		after(() => clearInterval(heartbeat));
		await t.waitOutput(PROMPT);
		const rec = () => stack.aws.state.sessions.get([...stack.aws.state.sessions.keys()].at(-1));
		// 3,000,000 random bytes in base64: 4,000,000 characters plus line ends. The shell
		// tells its size and digest, so the test needs no copy of it.
		t.type('head -c 3000000 /dev/urandom | base64 -w 76 > big.txt; echo "SUM $(wc -c < big.txt) $(sha256sum < big.txt | cut -c1-64)"\r');
		const [, size, digest] = await t.until('the file\'s size and digest', () => /^SUM (\d+) ([0-9a-f]{64})\r?$/m.exec(t.output), 60000);
		assert.ok(Number(size) > 4000000, `size ${size}`);
		stack.aws.setFaults({ cutAfterOutputBytes: rec().outputBytes + 1000000, lostAcks: 10 }, rec().sessionId);
		const from = t.output.length;
		t.type('echo BE""GIN; cat big.txt; echo E""ND\r');
		const started = Date.now();
		// The cat takes 1-15 s here. This deadline stays well below the test's own (240 s,
		// tests/lib/bounded-test.mjs) so that a bridge that stalls (a duplicate never acked
		// again: the agent resends it and holds back what follows) fails naming this wait.
		await t.until('the end marker after the cat', () => /^END\r?$/m.test(t.output.slice(from)), 120000);
		console.log(`# the cat took ${Date.now() - started} ms`);
		const shown = t.output.slice(from);
		const body = shown.split(/^BEGIN\r?\n/m)[1].split(/^END\r?$/m)[0].replace(/\r\n/g, '\n');
		assert.equal(body.length, Number(size), 'every byte, and none twice');
		assert.equal(createHash('sha256').update(body).digest('hex'), digest, 'the same bytes, in order');
		const r = rec();
		assert.equal(r.stats.cuts, 1, 'the fake cut the channel once');
		assert.equal(r.stats.lostAcks, 10);
		assert.ok(r.resumes >= 1, 'ResumeSession was called');
		assert.equal(r.connections, 2, 'one reconnection');
		// The duplicates are acknowledged again, so the agent's backlog falls. It falls at
		// the agent's pace: the acks lost with the cut (those in flight, not only the ten the
		// fake dropped) are made good by retransmission, the oldest unacked message once per
		// 100 ms tick (ssm-protocol.md §D.6, §D.13; amazon-ssm-agent datachannel.go
		// ResendStreamDataMessageScheduler). On a fast machine the whole output can be shown
		// before the cut lands, leaving thousands unacked: minutes to drain. So the test waits
		// for twenty resent duplicates to be acknowledged (or for none to be left): a bridge
		// that ignored them would leave the backlog where it is.
		const backlog = r.stats.unacked;
		console.log(`# ${backlog} output messages unacknowledged when the end marker was shown`);
		await waitFor('the agent\'s resent duplicates to be acknowledged again', () => {
			const left = r.stats.unacked;
			if (left === 0 || left <= backlog - 20) return true;
			throw new Error(`still unacknowledged: ${JSON.stringify(stack.aws.unacked(r.sessionId))}; stats ${JSON.stringify(r.stats)}`);
		}, { timeoutMs: 20000 });
		assert.ok(r.stats.retransmits >= 10, `retransmits ${r.stats.retransmits}`);
		assert.deepEqual(r.protocolErrors, []);
		const resumes = stack.aws.state.requests.filter((q) => q.service === 'ssm' && q.action === 'ResumeSession');
		assert.ok(resumes.length >= 1 && resumes.every((q) => q.status === 200), JSON.stringify(resumes.map((q) => q.errorCode ?? q.status)));
		t.type('exit\r');
		const end = await t.end();
		assert.equal(end.reason, 'exit');
		const close = (await admin.get(`/api/audit?session_id=${hello.sessionId}&verb=ssm_session_close`)).json.items[0];
		assert.equal(close.extra.channel.resumes, 1);
		assert.ok(close.extra.channel.duplicates >= 10, `duplicates ${close.extra.channel.duplicates}`);
	});

	it('pause_publication holds the keystrokes until start_publication', async () => {
		const t = await Terminal.open(stack, `/api/clusters/local/nodes/${NODES[0].name}/shell`, { cookie: `periscope_session=${admin.cookie()}` });
		await t.waitFrame('hello', 30000);
		await t.waitOutput(PROMPT);
		const rec = stack.aws.state.sessions.get([...stack.aws.state.sessions.keys()].at(-1));
		assert.equal(await stack.aws.publication(rec.sessionId, 'pause'), true, 'wsbridge read the pause');
		const from = t.output.length;
		t.type('echo held-$((6*7))\r');
		// A pong to a ping sent after the keystroke: wsbridge has read the keystroke (frames
		// are handled in order), after it had read the pause.
		t.ping(4242);
		await t.until('the pong after the keystroke', () => t.frames.some((f) => f.type === 'pong' && f.ts === 4242), 15000);
		assert.equal(rec.stats.inputWhileAway ?? 0, 0, 'nothing was sent while publication was paused');
		assert.ok(!t.output.slice(from).includes('held-42'));
		assert.equal(await stack.aws.publication(rec.sessionId, 'start'), true);
		await t.until('the held command to run after start_publication', () => /held-42/.test(t.output.slice(from)), 15000);
		assert.equal(rec.stats.inputWhileAway ?? 0, 0);
		t.type('exit\r');
		await t.end();
	});
});

// The seed's "own sessions" statement (session/${aws:userid}-*) cannot match an assumed
// role's session (docs/node-shell.md §4b): with it, a dropped channel cannot be resumed and
// the terminal ends with a clear error naming AWS's refusal.
describe('node shell resume with the seed\'s IAM policy', () => {
	let stack;
	let admin;
	before(async () => {
		stack = await startStack({
			aws: { roles: [{ arn: NODE_ROLE, trust: { aud: CLIENT.id }, permissions: seedPermissionPolicy({ region: REGION, account: ACCOUNT, clusterName: 'local' }) }] },
		});
		admin = await signIn(stack, 'admin');
	});
	after(async () => stack && (await stack.stop()));

	it('ResumeSession is refused, and the terminal says why', async () => {
		const t = await Terminal.open(stack, `/api/clusters/local/nodes/${NODES[0].name}/shell`, { cookie: `periscope_session=${admin.cookie()}` });
		await t.waitFrame('hello', 30000);
		await t.waitOutput(PROMPT);
		const rec = stack.aws.state.sessions.get([...stack.aws.state.sessions.keys()].at(-1));
		assert.equal(stack.aws.cutDataChannel(rec.sessionId), true);
		const end = await t.end(60000);
		assert.deepEqual([end.type, end.code], ['error', 'E_UPSTREAM']);
		assert.match(end.message, /could not be resumed: SSM ResumeSession: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role\/periscope-node-shell\/periscope-user-admin is not authorized to perform: ssm:ResumeSession on resource: arn:aws:ssm:eu-west-1:123456789012:session\//);
		const resumes = stack.aws.state.requests.filter((q) => q.action === 'ResumeSession');
		assert.equal(resumes.length, 5, 'five tries, as the plugin makes');
		assert.ok(resumes.every((q) => q.errorCode === 'AccessDeniedException'));
	});
});
