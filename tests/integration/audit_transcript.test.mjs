// The transcript keeps its head and its tail (issue 10): past nodeShell.transcriptMaxBytes
// the close row holds the first half of the cap and the last half, so the output of the
// last command of a long session is still there; the same for a cluster shell's command
// list past clusterShell.transcriptMaxBytes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { NODES, startStack } from '../lib/stack.mjs';
import { auditRow, signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { chooseServer } from '../lib/webserver.mjs';

const CAP = 8192;
const COMMANDS_CAP = 2048;

describe(`the transcript's head and tail through ${chooseServer()}`, () => {
	let stack;
	let admin;
	before(async () => {
		stack = await startStack({ config: { nodeShell: { transcriptMaxBytes: CAP }, clusterShell: { transcriptMaxBytes: COMMANDS_CAP } } });
		admin = await signIn(stack, 'admin');
	});
	after(async () => stack && (await stack.stop()));

	it('keeps the start of the session and the output of its last command past the cap', async () => {
		const t = await Terminal.open(stack, `/api/clusters/local/nodes/${NODES[0].name}/shell`, { cookie: `periscope_session=${admin.cookie()}` });
		t.resize(100, 30);
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(/\$ $/m, 20000);
		t.type('echo FIRST-""MARKER\n');
		await t.waitOutput(/^FIRST-MARKER\r?$/m, 10000);
		// About 14 KB: more than the cap on its own.
		t.type('seq 1 3000; echo LAST-""MARKER\n');
		await t.waitOutput(/^LAST-MARKER\r?$/m, 30000);
		t.send({ type: 'close' });
		await t.end(20000);
		const close = await auditRow(admin, `verb=ssm_session_close&session_id=${hello.sessionId}`);
		const x = close.extra;
		assert.equal(x.truncated, true);
		assert.ok(x.transcript_bytes > CAP, `more than the cap went by: ${x.transcript_bytes}`);
		assert.match(x.transcript, /^FIRST-MARKER\r?$/m, 'the head keeps the start');
		assert.match(x.transcript_tail, /^2999\r?\n3000\r?\nLAST-MARKER\r?$/m, 'the tail keeps the end');
		assert.doesNotMatch(x.transcript, /LAST-MARKER\r?$/m);
		// The split: half and half (the output is ASCII: bytes are characters), and offsets
		// that say what was left out in between.
		assert.equal(Buffer.byteLength(x.transcript), CAP / 2);
		assert.equal(Buffer.byteLength(x.transcript_tail), CAP / 2);
		assert.equal(x.truncated_at, CAP / 2);
		assert.equal(x.tail_from, x.transcript_bytes - CAP / 2);
	});

	it('keeps the first and the last commands of a cluster shell past the cap', async () => {
		const t = await Terminal.open(stack, '/api/clusters/local/shell', { cookie: `periscope_session=${admin.cookie()}` });
		t.resize(100, 30);
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(/[$#] $/m, 20000);
		// Each logged command is a JSON line of about 150 bytes: 40 of them overflow 2 KiB.
		t.type('kubectl version --client -o json >/dev/null; for i in $(seq 1 40); do kubectl version --client -o yaml >/dev/null; done; kubectl config view -o name; echo DO""NE\r');
		await t.waitOutput(/^DONE\r?$/m, 60000);
		t.send({ type: 'close' });
		await t.end(20000);
		const close = await auditRow(admin, `verb=cluster_shell_close&session_id=${hello.sessionId}`);
		const x = close.extra;
		assert.equal(x.commands_truncated, true);
		assert.ok(x.commands_log_bytes > COMMANDS_CAP && x.commands_omitted_bytes > 0, JSON.stringify({ bytes: x.commands_log_bytes, omitted: x.commands_omitted_bytes }));
		const argvs = x.commands.map((c) => c.argv.join(' '));
		assert.equal(argvs[0], 'kubectl version --client -o json', 'the first command');
		assert.equal(argvs.at(-1), 'kubectl config view -o name', 'the last command');
		assert.equal(x.commands_count, x.commands.length);
		assert.ok(x.commands.length < 42, `some commands in between are left out: ${x.commands.length}`);
	});
});
