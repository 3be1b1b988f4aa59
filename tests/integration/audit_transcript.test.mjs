// The transcript keeps its head and its tail (issue 10): past nodeShell.transcriptMaxBytes
// the close row holds the first half of the cap and the last half, so the output of the
// last command of a long session is still there.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { NODES, startStack } from '../lib/stack.mjs';
import { auditRow, signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { chooseServer } from '../lib/webserver.mjs';

const CAP = 8192;

describe(`the transcript's head and tail through ${chooseServer()}`, () => {
	let stack;
	let admin;
	before(async () => {
		stack = await startStack({ config: { nodeShell: { transcriptMaxBytes: CAP } } });
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
});
