// Session recordings (issue 13, docs/recordings.md): every terminal of both kinds is
// recorded by its bridge as it relays, in asciicast v2. The file holds exactly the output
// the browser received, the resizes it sent, and is complete up to a SIGKILL; Debian's
// asciinema CLI (a real client of the format) prints the commands' output from it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { NODES, startStack, waitFor } from '../lib/stack.mjs';
import { auditRow, signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { chooseServer } from '../lib/webserver.mjs';
import { stackSql } from '../lib/stack_sql.mjs';

const CLUSTER = '/api/clusters/local/shell';
const NODE = `/api/clusters/local/nodes/${NODES[0].name}/shell`;
const KINDS = [['cluster shell', CLUSTER, 'cluster_shell_close'], ['node shell', NODE, 'ssm_session_close']];

function castPath(stack, sessionId) {
	return path.join(stack.runDir, 'recordings', `${sessionId}.cast`);
}

// The file as asciicast v2 readers take it: a header line, then one event array a line.
function parseCast(text) {
	const lines = text.split('\n');
	assert.equal(lines.pop(), '', 'the file ends with a newline');
	const [header, ...events] = lines.map((l, i) => {
		try { return JSON.parse(l); } catch (e) { throw new Error(`line ${i + 1} is not JSON: ${l.slice(0, 120)}`); }
	});
	for (const e of events) {
		assert.ok(Array.isArray(e) && e.length === 3 && typeof e[0] === 'number' && typeof e[2] === 'string', `an event: ${JSON.stringify(e)}`);
		assert.ok(['o', 'i', 'r', 'm'].includes(e[1]), `a known event type: ${e[1]}`);
	}
	for (let i = 1; i < events.length; i++) assert.ok(events[i][0] >= events[i - 1][0], 'event times never go back');
	return { header, events };
}

// `asciinema cat` reads its controlling terminal (it opens /dev/tty), so it runs under
// script(1) with a pseudo-terminal; that terminal adds a \r before every \n, dropped here.
// No skip: asciinema is in dev/apt-packages.txt, so a missing one is a broken set-up.
function asciinemaCat(file) {
	assert.match(file, /^[\w/.-]+$/, 'a path that needs no shell quoting');
	const out = execFileSync('script', ['-qec', `asciinema cat ${file}`, '/dev/null'], { encoding: 'utf8', timeout: 20000 });
	return out.replace(/\r/g, '');
}

function registry(stack, sql) {
	return stackSql(stack, sql);
}

describe(`session recordings through ${chooseServer()}`, () => {
	let stack;
	let admin;
	before(async () => {
		stack = await startStack();
		admin = await signIn(stack, 'admin');
	});
	after(async () => stack && (await stack.stop()));

	for (const [kind, p, closeVerb] of KINDS) {
		it(`records a ${kind}: the browser's output, the resizes sent, readable by asciinema cat`, async () => {
			const t = await Terminal.open(stack, p, { cookie: `periscope_session=${admin.cookie()}` });
			t.resize(100, 30);
			const hello = await t.waitFrame('hello', 30000);
			await t.waitOutput(/[$#] $/m, 20000);
			t.type("echo REC-\"\"ONE; printf 'caf\\303\\251 \\342\\234\\223\\n'\n");
			await t.waitOutput(/^café ✓\r?$/m, 10000);
			t.resize(120, 40);
			t.resize(90, 20);
			t.type('echo REC-""TWO\n');
			await t.waitOutput(/^REC-TWO\r?$/m, 10000);
			t.send({ type: 'close' });
			await t.end(20000);
			const close = await auditRow(admin, `verb=${closeVerb}&session_id=${hello.sessionId}`);

			const file = castPath(stack, hello.sessionId);
			const st = fs.statSync(file);
			assert.equal(st.mode & 0o777, 0o600, 'only the server reads recordings');
			const bytes = fs.readFileSync(file);
			const { header, events } = parseCast(bytes.toString('utf8'));
			assert.equal(header.version, 2);
			assert.deepEqual([header.width, header.height], [100, 30], 'the size the browser first sent');
			assert.equal(header.env.TERM, 'xterm-256color');
			assert.ok(Math.abs(header.timestamp - Date.now() / 1000) < 600, `a unix timestamp: ${header.timestamp}`);
			assert.match(header.title, kind === 'node shell' ? new RegExp(`node shell local/${NODES[0].name}`) : /cluster shell local/);
			const output = events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
			assert.equal(output, Buffer.concat(t.raw).toString('utf8'), 'the o events are the bytes the browser received');
			assert.deepEqual(events.filter((e) => e[1] === 'r').map((e) => e[2]), ['120x40', '90x20']);
			assert.equal(events.filter((e) => e[1] === 'i').length, 0, 'keystrokes are not recorded by default');

			const rec = close.extra.recording;
			assert.equal(rec.bytes, bytes.length, 'the close row has the size of the file');
			assert.equal(rec.sha256, createHash('sha256').update(bytes).digest('hex'), 'and its SHA-256');
			assert.equal(rec.truncated, false);

			const shown = asciinemaCat(file);
			assert.match(shown, /REC-ONE$/m);
			assert.match(shown, /^café ✓$/m, "the UTF-8 output as the browser showed it");
			assert.match(shown, /REC-TWO$/m);
		});
	}

	it('keeps a SIGKILLed session\'s recording, readable up to the kill', async () => {
		const t = await Terminal.open(stack, NODE, { cookie: `periscope_session=${admin.cookie()}` });
		t.resize(100, 30);
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(/[$#] $/m, 20000);
		t.type('echo KILL-""MARK\n');
		await t.waitOutput(/^KILL-MARK\r?$/m, 10000);
		const file = castPath(stack, hello.sessionId);
		// Flushed within a second of the output (docs/recordings.md): waited for, not slept.
		await waitFor('the recording on disk to hold the echo', () => fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('KILL-MARK'), { timeoutMs: 5000, intervalMs: 100 });
		const pid = Number(registry(stack, `SELECT pid FROM shell_sessions WHERE id = '${hello.sessionId}'`));
		assert.ok(pid > 0, 'the bridge is registered');
		process.kill(pid, 'SIGKILL');
		await t.until('the socket to close after the kill', () => t.ws.readyState === t.ws.CLOSED, 20000);
		const { events } = parseCast(fs.readFileSync(file, 'utf8'));
		const output = events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
		assert.ok(Buffer.concat(t.raw).toString('utf8').startsWith(output), 'what was recorded is what the browser got, up to the kill');
		assert.match(asciinemaCat(file), /KILL-MARK$/m);
	});
});

describe(`a recording past recording.maxBytes through ${chooseServer()}`, () => {
	const CAP = 16384;
	let stack;
	let admin;
	before(async () => {
		stack = await startStack({ config: { recording: { maxBytes: CAP } } });
		admin = await signIn(stack, 'admin');
	});
	after(async () => stack && (await stack.stop()));

	it('keeps the head and the tail, with a marker between', async () => {
		const t = await Terminal.open(stack, NODE, { cookie: `periscope_session=${admin.cookie()}` });
		t.resize(100, 30);
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(/[$#] $/m, 20000);
		t.type('echo FIRST-""MARKER\n');
		await t.waitOutput(/^FIRST-MARKER\r?$/m, 10000);
		t.type('seq 1 20000; echo LAST-""MARKER\n');
		await t.waitOutput(/^LAST-MARKER\r?$/m, 30000);
		t.send({ type: 'close' });
		await t.end(20000);
		const close = await auditRow(admin, `verb=ssm_session_close&session_id=${hello.sessionId}`);
		const file = castPath(stack, hello.sessionId);
		const bytes = fs.readFileSync(file);
		assert.ok(bytes.length <= CAP, `the file stays within the cap: ${bytes.length}`);
		const { events } = parseCast(bytes.toString('utf8'));
		const markers = events.map((e, i) => [e, i]).filter(([e]) => e[1] === 'm');
		assert.equal(markers.length, 1, 'one marker');
		const [[marker, at]] = markers;
		assert.match(marker[2], /recording cut: \d+ bytes of events left out/);
		const head = events.slice(0, at).filter((e) => e[1] === 'o').map((e) => e[2]).join('');
		const tail = events.slice(at + 1).filter((e) => e[1] === 'o').map((e) => e[2]).join('');
		assert.match(head, /^FIRST-MARKER\r?$/m, 'the head keeps the start');
		assert.match(tail, /^19999\r?\n20000\r?\nLAST-MARKER\r?$/m, 'the tail keeps the end');
		assert.doesNotMatch(head + tail, /^10000\r?$/m, 'the middle was left out');
		assert.equal(close.extra.recording.truncated, true);
		assert.ok(close.extra.recording.left_out > 0);
		assert.equal(close.extra.recording.bytes, bytes.length);
		assert.match(asciinemaCat(file), /LAST-MARKER/);
	});
});

describe(`recordings go with their audit rows through ${chooseServer()}`, () => {
	let stack;
	let admin;
	before(async () => {
		// The audit upkeep at every maintenance pass, keeping a day of rows; a pass every 2 s
		// (database.sweepInterval; 15 s by default), which this stack's one test waits for.
		stack = await startStack({ config: { audit: { retentionDays: 1, vacuumInterval: '1s' }, database: { sweepInterval: '2s' } } });
		admin = await signIn(stack, 'admin');
	});
	after(async () => stack && (await stack.stop()));

	async function session(text) {
		const t = await Terminal.open(stack, NODE, { cookie: `periscope_session=${admin.cookie()}` });
		t.resize(100, 30);
		const hello = await t.waitFrame('hello', 30000);
		await t.waitOutput(/[$#] $/m, 20000);
		t.type(`echo ${text}\n`);
		await t.waitOutput(new RegExp(`^${text.replace('""', '')}\\r?$`, 'm'), 10000);
		t.send({ type: 'close' });
		await t.end(20000);
		const close = await auditRow(admin, `verb=ssm_session_close&session_id=${hello.sessionId}`);
		return { id: hello.sessionId, closeId: close.id, file: castPath(stack, hello.sessionId) };
	}

	it('deletes a recording when retention deletes its session\'s close row, and keeps the others', async () => {
		const old = await session('OLD-""ONE');
		const young = await session('YOUNG-""ONE');
		// Two days pass for the first session's rows and everything before them (retention
		// deletes the oldest run of rows), and for both files (younger ones are left alone).
		const twoDaysAgoNs = BigInt(Date.now() - 2 * 86400000) * 1000000n;
		registry(stack, `UPDATE audit_events SET ts_unix_nano = ${twoDaysAgoNs} WHERE id <= ${old.closeId}`);
		const twoDaysAgo = new Date(Date.now() - 2 * 86400000);
		for (const f of [old.file, young.file]) fs.utimesSync(f, twoDaysAgo, twoDaysAgo);
		await waitFor('the retention pass to delete the old session\'s recording', () => !fs.existsSync(old.file), { timeoutMs: 45000, intervalMs: 500 });
		assert.equal(registry(stack, `SELECT count(*) FROM audit_events WHERE session_id = '${old.id}'`), '0', 'its rows went first');
		assert.ok(fs.existsSync(young.file), 'a recording whose rows are kept stays');
		const r = await admin.get(`/api/sessions/${old.id}/recording`);
		assert.deepEqual([r.status, r.json.code], [404, 'E_NOT_FOUND']);
		assert.equal((await admin.get(`/api/sessions/${young.id}/recording`)).status, 200);
	});
});
