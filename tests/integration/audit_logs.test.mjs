// Terminal content stays in the database (issue 10): a node shell that shows a secret
// (`export TOKEN=canary-...`) leaves it in its close row's transcript and in no log file
// the stack writes; so does one shown last in a session longer than the transcript's cap
// (the close row's transcript_tail), and one in a cluster shell's kubectl command line
// (the close row's commands). On the bridge's audit line each of them reads
// "(in audit row N)", N the close row's id. The bridge's own lines go to
// server.wsbridgeLog with their real level, so websocketd's log (which labels a child's
// stderr as ERROR) carries no bridge line of a session that went well.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { NODES, startStack } from '../lib/stack.mjs';
import { auditRow, signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { chooseServer } from '../lib/webserver.mjs';

// Every file under dir (the run directory holds every log of the stack).
function filesUnder(dir) {
	return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
		const p = path.join(dir, e.name);
		return e.isDirectory() ? filesUnder(p) : e.isFile() ? [p] : [];
	});
}

// Small enough that a `seq` overflows it, big enough for a short session whole.
const TRANSCRIPT_CAP = 8192;

// The bridge's audit line of a close row (each line of its log is one JSON object).
function closeLine(stack, verb, sessionId) {
	const lines = stack.log('periscope-wsbridge').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
	const found = lines.filter((l) => l.event === verb && l.session_id === sessionId);
	assert.equal(found.length, 1, `one ${verb} line for ${sessionId} in the bridge's log`);
	return found[0];
}

// Files of the run that hold text, other than the stores of terminal content by design
// (the database and the session recordings).
function leaks(stack, text) {
	const store = (f) => /\.db(-wal)?$/.test(f) || path.relative(stack.runDir, f).startsWith(`recordings${path.sep}`);
	return filesUnder(stack.runDir).filter((f) => !store(f) && fs.readFileSync(f).includes(text)).map((f) => path.relative(stack.runDir, f));
}

describe(`secrets stay out of the logs through ${chooseServer()}`, () => {
	let stack;
	let admin;
	before(async () => {
		stack = await startStack({ config: { nodeShell: { transcriptMaxBytes: TRANSCRIPT_CAP } } });
		admin = await signIn(stack, 'admin');
	});
	after(async () => stack && (await stack.stop()));

	it('keeps a token shown in a node shell in the close row and in no log file', async () => {
		const canary = `canary-${randomBytes(12).toString('hex')}`;
		const t = await Terminal.open(stack, `/api/clusters/local/nodes/${NODES[0].name}/shell`, { cookie: `periscope_session=${admin.cookie()}` });
		t.resize(100, 30);
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(/\$ $/m, 20000);
		t.type(`export TOKEN=${canary}; echo "token is $TOKEN"\n`);
		await t.waitOutput(new RegExp(`token is ${canary}`), 10000);
		t.send({ type: 'close' });
		await t.end(20000);
		const close = await auditRow(admin, `verb=ssm_session_close&session_id=${hello.sessionId}`);
		assert.ok(close.extra.transcript.includes(`export TOKEN=${canary}`), 'the close row keeps what the terminal showed');

		const logs = filesUnder(stack.runDir).filter((f) => f.endsWith('.log'));
		assert.ok(logs.some((f) => f.endsWith('periscope-wsbridge.log')), `the bridge's log file among ${logs.map((f) => path.basename(f))}`);
		const bridgeLog = stack.log('periscope-wsbridge');
		assert.match(bridgeLog, new RegExp(`"event":"ssm_session_close".*"session_id":"${hello.sessionId}"`), 'the close is on the bridge\'s log line, without its content');
		assert.equal(closeLine(stack, 'ssm_session_close', hello.sessionId).transcript, `(in audit row ${close.id})`);
		assert.deepEqual(leaks(stack, canary), [], 'no log (nor any other file) holds the token');
		// The bridge's info lines are not on websocketd's stderr, where each would be an ERROR.
		assert.doesNotMatch(stack.log('websocketd'), new RegExp(hello.sessionId));
	});

	it('keeps a token shown last in a session past the transcript cap in the close row\'s tail and in no log file', async () => {
		const hex = randomBytes(12).toString('hex');
		const canary = `canary-${hex}`;
		const t = await Terminal.open(stack, `/api/clusters/local/nodes/${NODES[0].name}/shell`, { cookie: `periscope_session=${admin.cookie()}` });
		t.resize(100, 30);
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(/\$ $/m, 20000);
		// About 14 KB of output, then the token: only the output spells it whole (the
		// echoed command line, at the head, does not).
		t.type(`seq 1 3000; printf 'token is %s-%s\\n' canary ${hex}\n`);
		await t.waitOutput(new RegExp(`token is ${canary}`), 30000);
		t.send({ type: 'close' });
		await t.end(20000);
		const close = await auditRow(admin, `verb=ssm_session_close&session_id=${hello.sessionId}`);
		assert.equal(close.extra.truncated, true, 'past the cap');
		assert.match(close.extra.transcript_tail, new RegExp(`token is ${canary}`), "the close row's tail keeps the token");
		assert.ok(!close.extra.transcript.includes(canary), 'the head does not');

		const line = closeLine(stack, 'ssm_session_close', hello.sessionId);
		assert.deepEqual([line.transcript, line.transcript_tail], [`(in audit row ${close.id})`, `(in audit row ${close.id})`]);
		assert.deepEqual(leaks(stack, canary), [], 'no log (nor any other file) holds the token');
	});

	it('keeps a token in a cluster shell\'s kubectl command in the close row and in no log file', async () => {
		const canary = `canary-${randomBytes(12).toString('hex')}`;
		const t = await Terminal.open(stack, '/api/clusters/local/shell', { cookie: `periscope_session=${admin.cookie()}` });
		t.resize(100, 30);
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(/[$#] $/m, 20000);
		t.type(`kubectl get configmap ${canary} --ignore-not-found -o name; echo DO""NE\r`);
		await t.waitOutput(/^DONE\r?$/m, 60000);
		t.send({ type: 'close' });
		await t.end(20000);
		const close = await auditRow(admin, `verb=cluster_shell_close&session_id=${hello.sessionId}`);
		assert.deepEqual(close.extra.commands.map((c) => c.argv.join(' ')), [`kubectl get configmap ${canary} --ignore-not-found -o name`], 'the close row keeps the command');

		assert.equal(closeLine(stack, 'cluster_shell_close', hello.sessionId).commands, `(in audit row ${close.id})`);
		assert.deepEqual(leaks(stack, canary), [], 'no log (nor any other file) holds the token');
	});
});
