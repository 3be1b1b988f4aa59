// The fakes' pty host (tests/fakes/common/ptyhost.c) as the fakes use it, both as one
// process per terminal (`ptyhost -- COMMAND`, resizes on fd 3) and through one server per
// process (spawnPty, `ptyhost --serve`, resizes framed with the keystrokes): keystrokes
// in, terminal output out, a resize ahead of the keystrokes sent after it, ^D at the end
// of stdin, the command's own exit status whatever SIGTERMs arrive while it exits, and
// nothing left running when its caller dies.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

import { describe, it } from '../../lib/bounded-test.mjs';
import { within } from '../../lib/deadline.mjs';
import { findPtyhost, ptyServerPid, spawnPty } from './ptyhost.mjs';

const PTYHOST = findPtyhost();
const DEADLINE_MS = 15000;
const SH = ['bash', '--norc', '--noprofile'];

const ENV = { PATH: process.env.PATH, TERM: 'xterm', LANG: 'C.UTF-8', HOME: process.env.HOME ?? '/' };

// ptyhost's own command line, as `ptyhost [--cols N] [--rows N] -- COMMAND...` takes it.
function parse(args) {
	const i = args.indexOf('--');
	const opts = {};
	for (let j = 0; j < i; j += 2) opts[args[j].slice(2)] = Number(args[j + 1]);
	return { argv: args.slice(i + 1), cols: opts.cols ?? 80, rows: opts.rows ?? 24 };
}

// One terminal with its output collected, through a process of its own ('process') or
// the server ('served'); `end()` is its exit status once the output drained.
function host(mode, args, { ctl = true } = {}) {
	let child;
	if (mode === 'process') {
		child = spawn(PTYHOST, args, { env: ENV, stdio: ['pipe', 'pipe', 'pipe', ctl ? 'pipe' : 'ignore'] });
	} else {
		const { argv, cols, rows } = parse(args);
		child = spawnPty(argv, { cols, rows, env: ENV });
	}
	let out = '';
	let err = '';
	child.stdout.on('data', (d) => { out += d.toString('utf8'); });
	child.stderr?.on('data', (d) => { err += d.toString('utf8'); });
	for (const s of [child.stdin, child.stdio[3]]) s?.on('error', () => {});
	const closed = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
	// A resize line as the caller sends it: on fd 3, or framed with the keystrokes.
	const resizeText = (text) => (mode === 'process' ? child.stdio[3].write(`${text}\n`) : child.stdin.write({ resize: text }));
	return {
		child,
		output: () => out,
		stderr: () => err,
		type: (s) => child.stdin.write(s),
		resize: (cols, rows) => resizeText(`${cols} ${rows}`),
		resizeText,
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

for (const mode of ['process', 'served']) describe(`ptyhost (${mode})`, () => {
	it('runs the command in a terminal of the given size and exits with its status', async () => {
		const h = host(mode, ['--cols', '100', '--rows', '30', '--', ...SH, '-i']);
		h.type('test -t 0 && test -t 1 && echo "on a tty"; stty size; exit 3\n');
		await h.waitOutput(/^on a tty\r\n30 100\r\n/m, 'the tty check and the size');
		assert.deepEqual(await h.end(), { code: 3, signal: null });
		assert.equal(h.stderr(), '');
	});

	it('applies a resize before the keystrokes sent after it, and signals the command', async () => {
		const h = host(mode, ['--', ...SH, '-c', 'trap "echo WINCH" WINCH; echo ready; read line; stty size; read line']);
		await h.waitOutput(/ready\r\n/, 'the shell to start');
		h.resize(132, 43);
		h.type('\n');
		await h.waitOutput(/^43 132\r$/m, 'the new size, read right after the resize');
		await h.waitOutput(/WINCH/, 'SIGWINCH reaching the command');
		h.type('\n');
		assert.deepEqual(await h.end(), { code: 0, signal: null });
	});

	it('ignores resize lines that are not two sizes', async () => {
		const h = host(mode, ['--cols', '90', '--rows', '20', '--', ...SH, '-c', 'echo ready; read line; stty size']);
		await h.waitOutput(/ready\r\n/, 'the shell to start');
		for (const line of ['0 10', 'abc def', '70', '70 20 1', 'x'.repeat(500)]) h.resizeText(line);
		h.type('\n');
		await h.waitOutput(/^20 90\r$/m, 'the size given at the start');
		assert.deepEqual(await h.end(), { code: 0, signal: null });
	});

	it('turns the end of stdin into the terminal\'s EOF (^D)', async () => {
		const h = host(mode, ['--', 'cat']);
		h.type('one line\n');
		await h.waitOutput(/one line\r\none line\r\n/, 'the echo and cat\'s copy');
		h.child.stdin.end();
		assert.deepEqual(await h.end(), { code: 0, signal: null });
	});

	if (mode === 'process') it('works without fd 3 (no resizes)', async () => {
		const h = host(mode, ['--', ...SH, '-c', 'stty size; exit 4'], { ctl: false });
		await h.waitOutput(/^24 80\r$/m, 'the default size');
		assert.deepEqual(await h.end(), { code: 4, signal: null });
	});

	it('delivers all of a large output in order', async () => {
		const h = host(mode, ['--', 'seq', '1', '200000']);
		assert.deepEqual(await h.end(), { code: 0, signal: null });
		const lines = h.output().split('\r\n');
		assert.equal(lines.length, 200001);
		assert.equal(lines[0], '1');
		assert.equal(lines[199999], '200000');
		assert.ok(lines.every((l, i) => i === 200000 ? l === '' : l === String(i + 1)), 'every line, in order');
	});

	it('exits 128+N when the command is killed by signal N, and 127 when it cannot be run', async () => {
		assert.deepEqual(await host(mode, ['--', 'sh', '-c', 'kill -9 $$']).end(), { code: 137, signal: null });
		const missing = host(mode, ['--', 'periscope-no-such-command']);
		assert.deepEqual(await missing.end(), { code: 127, signal: null });
		assert.match(missing.output(), /cannot run periscope-no-such-command: No such file or directory/);
	});

	if (mode === 'process') it('refuses a command line without a command', async () => {
		const h = host(mode, ['--cols', 'wide', '--', 'true']);
		assert.deepEqual(await h.end(), { code: 2, signal: null });
		assert.match(h.stderr(), /^usage: ptyhost/);
		assert.deepEqual(await host(mode, ['--cols', '80']).end(), { code: 2, signal: null });
	});

	it('hangs the command up on SIGTERM; its own status stands however many SIGTERMs follow', async () => {
		// The fakes may send SIGTERM twice (a session ends both when its pod goes and when
		// its stream closes); they keep coming here until ptyhost has exited.
		const h = host(mode, ['--', ...SH, '-c', 'trap \'trap "" HUP; sleep 0.3; exit 5\' HUP; echo ready; while :; do sleep 0.05; done']);
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

	// Not an interactive bash: a SIGHUP that lands while it sets up readline for the
	// next line is lost (bash 5.2 goes on reading; the fakes SIGKILL after a grace).
	it('a SIGTERM ends the command with SIGHUP\'s status', async () => {
		const h = host(mode, ['--', ...SH, '-c', 'echo ready; while :; do sleep 0.05; done']);
		await h.waitOutput(/ready\r\n/, 'the shell to start');
		h.child.kill('SIGTERM');
		assert.deepEqual(await h.end(), { code: 128 + 1, signal: null });
	});

	// Each command says "shell PID" once it is what the case names (the trap set).
	for (const [what, script] of [
		['an interactive shell', 'echo shell $$; exec bash --norc --noprofile -i'],
		['a shell that ignores the hangup', 'trap "" HUP; echo shell $$; while :; do sleep 0.05; done'],
	]) {
		it(`ends with its command when its caller is killed (${what})`, async (t) => {
			// The caller: a node process that starts ptyhost (and its server), reports the
			// pids, and is then killed with SIGKILL (no chance to end its children itself).
			const caller = spawn(process.execPath, ['--input-type=module', '-e', mode === 'process' ? `
				import { spawn } from 'node:child_process';
				const h = spawn(${JSON.stringify(PTYHOST)}, ['--', 'bash', '--norc', '--noprofile', '-c', ${JSON.stringify(script)}], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
				h.stdout.on('data', (d) => { const m = /shell (\\d+)/.exec(d); if (m) console.log(JSON.stringify({ hosts: [h.pid], shell: Number(m[1]) })); });
				setInterval(() => {}, 1000);
			` : `
				import { ptyServerDir, ptyServerPid, spawnPty } from ${JSON.stringify(new URL('./ptyhost.mjs', import.meta.url).href)};
				const h = spawnPty(['bash', '--norc', '--noprofile', '-c', ${JSON.stringify(script)}], { env: { PATH: process.env.PATH } });
				// The output may come before the server's line naming the host's pid.
				const report = (shell) => console.log(JSON.stringify({ hosts: [h.pid, ptyServerPid()], shell, dir: ptyServerDir() }));
				h.stdout.on('data', (d) => {
					const m = /shell (\\d+)/.exec(d);
					if (m && h.pid !== undefined) report(Number(m[1]));
					else if (m) h.once('spawn', () => report(Number(m[1])));
				});
				setInterval(() => {}, 1000);
			`], { stdio: ['ignore', 'pipe', 'inherit'] });
			t.after(() => caller.kill('SIGKILL')); // also when an assertion fails first
			const pids = await within('the caller to report the pids', new Promise((resolve) => {
				let buf = '';
				caller.stdout.on('data', (d) => {
					buf += d;
					if (buf.includes('\n')) resolve(JSON.parse(buf.split('\n')[0]));
				});
			}), DEADLINE_MS);
			assert.ok([...pids.hosts, pids.shell].every(running), 'host(s) and shell run before the caller dies');
			const callerGone = new Promise((r) => caller.on('close', r));
			caller.kill('SIGKILL');
			await within('the caller to die', callerGone, DEADLINE_MS);
			await waitGone([...pids.hosts, pids.shell], `ptyhost ${pids.hosts.join(' and ')} and its shell ${pids.shell}`);
			// The server removes its socket and directory on the way out.
			if (pids.dir) assert.equal(existsSync(pids.dir), false, `${pids.dir} removed`);
		});
	}
});

describe('ptyhost (served) keystrokes', () => {
	// A command that never reads fills the terminal's input queue, then the connection; the
	// host killed then, the keystrokes still waiting fail with the terminal instead of
	// waiting for a 'drain' that never comes (the fake would buffer every later keystroke).
	it('keystrokes held up by a full connection fail when the host ends', async () => {
		const h = host('served', ['--', 'sleep', '30']);
		await within('the host to start', new Promise((r) => h.child.once('spawn', r)), DEADLINE_MS);
		const written = new Promise((resolve) => h.child.stdin.write(Buffer.alloc(4 << 20, 0x61), resolve));
		h.child.kill('SIGKILL');
		const err = await within('the held-up write to end', written, DEADLINE_MS);
		assert.match(String(err?.message), /the terminal has ended/);
		assert.deepEqual(await h.end(), { code: null, signal: 'SIGKILL' });
	});
});
