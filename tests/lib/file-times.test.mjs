// file-times.mjs as dev/test uses it: one line per test file with its wall time, hooks
// included; and the NEAR-DEADLINE line of tests/lib/deadline.mjs in the runner's TAP for a
// wait that succeeded past half of its deadline, none for one that did not.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from './bounded-test.mjs';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function run(dir, files) {
	return new Promise((resolve, reject) => {
		execFile(process.execPath, [
			'--test', '--test-reporter=tap', '--test-reporter-destination=stdout',
			`--test-reporter=${path.join(HERE, 'file-times.mjs')}`, '--test-reporter-destination=times.out',
			'--test-concurrency=2', ...files,
		], { cwd: dir, env: { PATH: process.env.PATH }, timeout: 30000 }, (error, stdout, stderr) => {
			if (error && error.killed) reject(new Error(`the runner did not end within 30 s: ${stdout}${stderr}`));
			else resolve({ tap: stdout, times: fs.readFileSync(path.join(dir, 'times.out'), 'utf8') });
		});
	});
}

describe('the file-times reporter and NEAR-DEADLINE lines', () => {
	let dir;
	before(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-file-times-'));
		const deadline = JSON.stringify(path.join(HERE, 'deadline.mjs'));
		// 1.2 s in a before hook and a 1.5 s wait with a 2.5 s deadline (late), then a 100 ms
		// one with the same deadline (not late).
		fs.writeFileSync(path.join(dir, 'slow.test.mjs'), [
			"import { before, describe, it } from 'node:test';",
			`import { within } from ${deadline};`,
			"const sleep = (ms) => new Promise((r) => setTimeout(r, ms));",
			"describe('slow', () => {",
			'  before(() => sleep(1200));',
			"  it('late', () => within('the slow thing', sleep(1500), 2500));",
			"  it('in time', () => within('the quick thing', sleep(100), 2500));",
			'});',
		].join('\n'));
		fs.writeFileSync(path.join(dir, 'quick.test.mjs'), "import { it } from 'node:test';\nit('quick', () => {});\n");
	});
	after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

	it('writes each file\'s wall time with its hooks, and one NEAR-DEADLINE line for the late wait', async () => {
		const { tap, times } = await run(dir, ['slow.test.mjs', 'quick.test.mjs']);
		const lines = times.trim().split('\n').map((l) => l.split(' '));
		assert.deepEqual(lines.map(([, f]) => f).sort(), ['quick.test.mjs', 'slow.test.mjs'], times);
		const slow = Number(lines.find(([, f]) => f === 'slow.test.mjs')[0]);
		assert.ok(slow >= 2.8 && slow < 20, `slow.test.mjs took 1.2 + 1.5 + 0.1 s and its process: ${slow} s`);
		const late = tap.split('\n').filter((l) => l.includes('NEAR-DEADLINE'));
		assert.equal(late.length, 1, tap);
		assert.match(late[0], /^# NEAR-DEADLINE slow\.test\.mjs: the slow thing took 1\d{3} of 2500 ms$/);
	});
});
