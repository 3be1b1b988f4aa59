// hang-reporter.mjs and hang-dump.mjs as dev/test uses them: a test file that hangs is cut by
// the runner's --test-timeout, and the output names the test that was running and what the
// file's process still waited on.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from './bounded-test.mjs';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

// Runs the files with the runner's timeout at 3 s and the dump at 2 s; the whole output.
function runHanging(dir, files) {
	return new Promise((resolve) => {
		execFile(process.execPath, [
			'--import', path.join(HERE, 'hang-dump.mjs'), '--test',
			'--test-reporter=tap', '--test-reporter-destination=stdout',
			`--test-reporter=${path.join(HERE, 'hang-reporter.mjs')}`, '--test-reporter-destination=stdout',
			'--test-force-exit', '--test-timeout=3000', '--test-concurrency=2', ...files,
		], { cwd: dir, env: { PATH: process.env.PATH, PERISCOPE_HANG_DUMP_MS: '2000' }, timeout: 30000 },
		(error, stdout, stderr) => resolve(stdout + stderr));
	});
}

describe('the hang reporter', () => {
	let dir;
	before(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-hang-reporter-'));
		fs.writeFileSync(path.join(dir, 'in-test.test.mjs'), [
			"import { describe, it } from 'node:test';",
			"describe('outer', () => {",
			"  it('passes', () => {});",
			"  it('waits forever', async () => { setInterval(() => {}, 1000); await new Promise(() => {}); });",
			"  it('never runs', () => {});",
			'});',
		].join('\n'));
		fs.writeFileSync(path.join(dir, 'in-hook.test.mjs'), [
			"import { after, describe, it } from 'node:test';",
			"describe('stack', () => {",
			'  after(async () => { setInterval(() => {}, 1000); await new Promise(() => {}); });',
			"  it('first', () => {});",
			"  it('second', () => {});",
			'});',
		].join('\n'));
		fs.writeFileSync(path.join(dir, 'fine.test.mjs'), "import { it } from 'node:test';\nit('quick', () => {});\n");
	});
	after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

	it('names the test running when its file hit the timeout, and what the process waited on', async () => {
		const out = await runHanging(dir, ['in-test.test.mjs', 'in-hook.test.mjs', 'fine.test.mjs']);
		const hangs = out.split('\n').filter((l) => l.startsWith('HANG '));
		assert.deepEqual(hangs.map((l) => l.replace(/^HANG \S+\//, '').replace(/after \d+ms/, 'after Nms')).sort(), [
			'in-hook.test.mjs: test timed out after Nms, while running: "stack" (in a hook of this suite; the last test to end was "stack > second")',
			'in-test.test.mjs: test timed out after Nms, while running: "outer > waits forever"',
		], out);
		// The interval each hung test left running, with the line that made it.
		assert.match(out, /hang-dump: +open: 1 x Timeout made at TestContext\.<anonymous> \(file:\/\/\S+\/in-test\.test\.mjs:4:\d+\)/, out);
		assert.match(out, /hang-dump: +open: 1 x Timeout made at \S+ \(file:\/\/\S+\/in-hook\.test\.mjs:3:\d+\)/, out);
		assert.doesNotMatch(out, /HANG \S+fine\.test\.mjs/);
	});
});
