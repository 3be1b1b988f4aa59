// Terminal content stays in the database (issue 10): a node shell that shows a secret
// (`export TOKEN=canary-...`) leaves it in its close row's transcript and in no log file
// the stack writes; the bridge's own lines go to server.wsbridgeLog with their real level,
// so websocketd's log (which labels a child's stderr as ERROR) carries no bridge line of a
// session that went well.
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

describe(`secrets stay out of the logs through ${chooseServer()}`, () => {
	let stack;
	let admin;
	before(async () => {
		stack = await startStack();
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
		assert.match(bridgeLog, /"transcript":"\(in audit row \d+\)"/);
		// The stores of terminal content by design: the database and the session recordings.
		const store = (f) => /\.db(-wal)?$/.test(f) || path.relative(stack.runDir, f).startsWith(`recordings${path.sep}`);
		const leaks = filesUnder(stack.runDir).filter((f) => !store(f) && fs.readFileSync(f).includes(canary));
		assert.deepEqual(leaks.map((f) => path.relative(stack.runDir, f)), [], 'no log (nor any other file) holds the token');
		// The bridge's info lines are not on websocketd's stderr, where each would be an ERROR.
		assert.doesNotMatch(stack.log('websocketd'), new RegExp(hello.sessionId));
	});
});
