// The fakes' pty host (tests/fakes/common/ptyhost.c) as the fakes use it: keystrokes in,
// terminal output out, resizes on fd 3 ahead of the keystrokes sent after them, ^D at the
// end of stdin, the command's own exit status whatever SIGTERMs arrive while it exits, and
// nothing left running when its caller dies.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { describe, it } from '../../lib/bounded-test.mjs';
import { within } from '../../lib/deadline.mjs';
import { findPtyhost } from './ptyhost.mjs';

const PTYHOST = findPtyhost();
const DEADLINE_MS = 15000;
const SH = ['bash', '--norc', '--noprofile'];

// One ptyhost with its output collected; `closed` is its exit status once stdout drained.
function host(args, { ctl = true } = {}) {
	const child = spawn(PTYHOST, args, {
		env: { PATH: process.env.PATH, TERM: 'xterm', LANG: 'C.UTF-8', HOME: process.env.HOME ?? '/' },
		stdio: ['pipe', 'pipe', 'pipe', ctl ? 'pipe' : 'ignore'],
	});
	let out = '';
	let err = '';
	child.stdout.on('data', (d) => { out += d.toString('utf8'); });
	child.stderr.on('data', (d) => { err += d.toString('utf8'); });
	for (const s of [child.stdin, child.stdio[3]]) s?.on('error', () => {});
	const closed = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
	return {
		child,
		output: () => out,
		stderr: () => err,
		type: (s) => child.stdin.write(s),
		resize: (cols, rows) => child.stdio[3].write(`${cols} ${rows}\n`),
		async waitOutput(re, what) {
			const deadline = Date.now() + DEADLINE_MS;
			while (!re.test(out)) {
				if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${re}) in:\n${out}`);
				await new Promise((r) => child.stdout.once('data', r).once('close', r));
			}
		},
		end: () => within(`ptyhost (pid ${child.pid}) to exit`, closed, DEADLINE_MS),
	};
}

// Running: the pid exists and is not a zombie (a zombie has ended; only its parent's
// wait is missing, and an orphan's parent is whatever reaps orphans here).
function running(pid) {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
	} catch {
		return false;
	}
}

async function waitGone(pids, what) {
	const deadline = Date.now() + 5000;
	while (pids.some(running)) {
		if (Date.now() > deadline) throw new Error(`timed out after 5000 ms waiting for ${what} to end: ${pids.filter(running).join(', ')} still run`);
		await new Promise((r) => setTimeout(r, 20));
	}
}

describe('ptyhost', () => {
	it('runs the command in a terminal of the given size and exits with its status', async () => {
		const h = host(['--cols', '100', '--rows', '30', '--', ...SH, '-i']);
		h.type('test -t 0 && test -t 1 && echo "on a tty"; stty size; exit 3\n');
		await h.waitOutput(/^on a tty\r\n30 100\r\n/m, 'the tty check and the size');
		assert.deepEqual(await h.end(), { code: 3, signal: null });
		assert.equal(h.stderr(), '');
	});

	it('applies a resize before the keystrokes sent after it, and signals the command', async () => {
		const h = host(['--', ...SH, '-c', 'trap "echo WINCH" WINCH; echo ready; read line; stty size; read line']);
		await h.waitOutput(/ready\r\n/, 'the shell to start');
		h.resize(132, 43);
		h.type('\n');
		await h.waitOutput(/^43 132\r$/m, 'the new size, read right after the resize');
		await h.waitOutput(/WINCH/, 'SIGWINCH reaching the command');
		h.type('\n');
		assert.deepEqual(await h.end(), { code: 0, signal: null });
	});

	it('ignores resize lines that are not two sizes', async () => {
		const h = host(['--cols', '90', '--rows', '20', '--', ...SH, '-c', 'echo ready; read line; stty size']);
		await h.waitOutput(/ready\r\n/, 'the shell to start');
		h.resize('0', '10');
		h.child.stdio[3].write('abc def\n70\n70 20 1\n' + 'x'.repeat(500) + '\n');
		h.type('\n');
		await h.waitOutput(/^20 90\r$/m, 'the size given at the start');
		assert.deepEqual(await h.end(), { code: 0, signal: null });
	});

	it('turns the end of stdin into the terminal\'s EOF (^D)', async () => {
		const h = host(['--', 'cat']);
		h.type('one line\n');
		await h.waitOutput(/one line\r\none line\r\n/, 'the echo and cat\'s copy');
		h.child.stdin.end();
		assert.deepEqual(await h.end(), { code: 0, signal: null });
	});

	it('works without fd 3 (no resizes)', async () => {
		const h = host(['--', ...SH, '-c', 'stty size; exit 4'], { ctl: false });
		await h.waitOutput(/^24 80\r$/m, 'the default size');
		assert.deepEqual(await h.end(), { code: 4, signal: null });
	});

	it('delivers all of a large output in order', async () => {
		const h = host(['--', 'seq', '1', '200000']);
		assert.deepEqual(await h.end(), { code: 0, signal: null });
		const lines = h.output().split('\r\n');
		assert.equal(lines.length, 200001);
		assert.equal(lines[0], '1');
		assert.equal(lines[199999], '200000');
		assert.ok(lines.every((l, i) => i === 200000 ? l === '' : l === String(i + 1)), 'every line, in order');
	});

	it('exits 128+N when the command is killed by signal N, and 127 when it cannot be run', async () => {
		assert.deepEqual(await host(['--', 'sh', '-c', 'kill -9 $$']).end(), { code: 137, signal: null });
		const missing = host(['--', 'periscope-no-such-command']);
		assert.deepEqual(await missing.end(), { code: 127, signal: null });
		assert.match(missing.output(), /cannot run periscope-no-such-command: No such file or directory/);
	});

	it('refuses a command line without a command', async () => {
		const h = host(['--cols', 'wide', '--', 'true']);
		assert.deepEqual(await h.end(), { code: 2, signal: null });
		assert.match(h.stderr(), /^usage: ptyhost/);
		assert.deepEqual(await host(['--cols', '80']).end(), { code: 2, signal: null });
	});

	it('hangs the command up on SIGTERM; its own status stands however many SIGTERMs follow', async () => {
		// The fakes may send SIGTERM twice (a session ends both when its pod goes and when
		// its stream closes); they keep coming here until ptyhost has exited.
		const h = host(['--', ...SH, '-c', 'trap \'trap "" HUP; sleep 0.3; exit 5\' HUP; echo ready; while :; do sleep 0.05; done']);
		await h.waitOutput(/ready\r\n/, 'the shell to start');
		let exited = false;
		const storm = (async () => {
			while (!exited) {
				h.child.kill('SIGTERM');
				await new Promise((r) => setTimeout(r, 5));
			}
		})();
		const end = await h.end();
		exited = true;
		await storm;
		assert.deepEqual(end, { code: 5, signal: null });
	});

	it('a plain SIGTERM ends an interactive shell with SIGHUP\'s status', async () => {
		const h = host(['--', ...SH, '-i']);
		h.type('echo re""ady\n');
		await h.waitOutput(/ready\r\n/, 'the shell to start');
		h.child.kill('SIGTERM');
		assert.deepEqual(await h.end(), { code: 128 + 1, signal: null });
	});

	// Each command says "shell PID" once it is what the case names (the trap set).
	for (const [what, script] of [
		['an interactive shell', 'echo shell $$; exec bash --norc --noprofile -i'],
		['a shell that ignores the hangup', 'trap "" HUP; echo shell $$; while :; do sleep 0.05; done'],
	]) {
		it(`ends with its command when its caller is killed (${what})`, async () => {
			// The caller: a node process that starts ptyhost, reports both pids, and is then
			// killed with SIGKILL (no chance to end its children itself).
			const caller = spawn(process.execPath, ['-e', `
				const { spawn } = require('node:child_process');
				const h = spawn(${JSON.stringify(PTYHOST)}, ['--', 'bash', '--norc', '--noprofile', '-c', ${JSON.stringify(script)}], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
				h.stdout.on('data', (d) => { const m = /shell (\\d+)/.exec(d); if (m) console.log(JSON.stringify({ host: h.pid, shell: Number(m[1]) })); });
				setInterval(() => {}, 1000);
			`], { stdio: ['ignore', 'pipe', 'inherit'] });
			const pids = await within('the caller to report the pids', new Promise((resolve) => {
				let buf = '';
				caller.stdout.on('data', (d) => {
					buf += d;
					if (buf.includes('\n')) resolve(JSON.parse(buf.split('\n')[0]));
				});
			}), DEADLINE_MS);
			assert.ok(running(pids.host) && running(pids.shell), 'host and shell run before the caller dies');
			const callerGone = new Promise((r) => caller.on('close', r));
			caller.kill('SIGKILL');
			await within('the caller to die', callerGone, DEADLINE_MS);
			await waitGone([pids.host, pids.shell], `ptyhost ${pids.host} and its shell ${pids.shell}`);
		});
	}
});
