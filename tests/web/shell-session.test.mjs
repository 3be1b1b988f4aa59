// The terminal client's protocol behaviour (web/js/shell-session.js) against a scripted
// WebSocket and a manual clock: what the user's session does on hello, output, pings,
// idle warnings, drops and refusals.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from '../lib/bounded-test.mjs';

import { ShellSession, base64ToBytes } from '../../web/js/shell-session.js';
import { describeClosed, describeWatchers } from '../../web/js/errors.js';

// The seeds' reconnect backoff (reference/periscope-node-shell.md: [0, 1000, 3000, 8000] ms,
// at most 4 attempts), written out: a changed constant in the product must fail here.
const SEED_RECONNECT_DELAYS = [0, 1000, 3000, 8000];

class FakeSocket {
	static all = [];

	constructor(url) {
		this.url = url;
		this.readyState = 0;
		this.sent = [];
		FakeSocket.all.push(this);
	}

	open() {
		this.readyState = 1;
	}

	frame(obj) {
		this.onmessage({ data: JSON.stringify(obj) });
	}

	drop() {
		this.readyState = 3;
		this.onclose({ code: 1006 });
	}

	send(text) {
		this.sent.push(JSON.parse(text));
	}

	close() {
		this.readyState = 3;
	}

	sentOf(type) {
		return this.sent.filter((f) => f.type === type);
	}
}

// Timers that run only when the test advances time.
class ManualClock {
	constructor() {
		this.t = 1_000_000;
		this.timers = new Map();
		this.nextId = 1;
	}

	now() {
		return this.t;
	}

	setTimeout(fn, ms) {
		const id = this.nextId++;
		this.timers.set(id, { fn, at: this.t + ms, every: 0 });
		return id;
	}

	setInterval(fn, ms) {
		const id = this.nextId++;
		this.timers.set(id, { fn, at: this.t + ms, every: ms });
		return id;
	}

	clearTimeout(id) {
		this.timers.delete(id);
	}

	clearInterval(id) {
		this.timers.delete(id);
	}

	advance(ms) {
		const end = this.t + ms;
		for (let guard = 0; guard < 10000; guard += 1) {
			const due = [...this.timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
			if (!due) break;
			const [id, timer] = due;
			this.t = timer.at;
			if (timer.every) timer.at += timer.every;
			else this.timers.delete(id);
			timer.fn();
		}
		this.t = end;
	}
}

const HELLO = { type: 'hello', sessionId: 's-1', kind: 'cluster_shell', cluster: 'local', tier: 'admin', idleSeconds: 60, idleWarnSeconds: 10, heartbeatSeconds: 20, maxDurationSeconds: 0 };
const flush = () => new Promise((r) => setImmediate(r));

function setup({ diagnose = async () => null } = {}) {
	FakeSocket.all = [];
	const clock = new ManualClock();
	const events = [];
	const s = new ShellSession({ url: 'ws://x/api/clusters/local/shell', WebSocketImpl: FakeSocket, clock, diagnose, onEvent: (e) => events.push(e) });
	return { s, clock, events, ws: () => FakeSocket.all.at(-1) };
}

describe('terminal session client', () => {
	let t;
	beforeEach(() => {
		t = setup();
	});

	it('connects, sends its size after hello, and decodes output', () => {
		const { s, events, ws } = t;
		s.connect();
		assert.equal(s.state, 'connecting');
		s.resize(100, 30);
		ws().open();
		assert.deepEqual(ws().sent, [], 'nothing before hello');
		ws().frame(HELLO);
		assert.equal(s.state, 'connected');
		assert.deepEqual(ws().sentOf('resize'), [{ type: 'resize', cols: 100, rows: 30 }]);
		ws().frame({ type: 'stdout', data: Buffer.from('héllo').toString('base64') });
		const out = events.find((e) => e.type === 'output');
		assert.equal(Buffer.from(out.bytes).toString('utf8'), 'héllo');
		s.resize(100, 30);
		s.resize(120, 40);
		assert.deepEqual(ws().sentOf('resize').at(-1), { type: 'resize', cols: 120, rows: 40 });
		assert.equal(ws().sentOf('resize').length, 2, 'an unchanged size is not sent again');
	});

	it('sends keystrokes as base64 UTF-8 in messages of at most 48 KiB', () => {
		const { s, ws } = t;
		s.connect();
		ws().open();
		ws().frame(HELLO);
		s.input('ls -l\r');
		assert.equal(Buffer.from(ws().sentOf('stdin')[0].data, 'base64').toString(), 'ls -l\r');
		s.input('x'.repeat(100 * 1024));
		const chunks = ws().sentOf('stdin').slice(1).map((f) => base64ToBytes(f.data).length);
		assert.deepEqual(chunks, [49152, 49152, 4096]);
	});

	it('pings every heartbeatSeconds from hello', () => {
		const { s, clock, ws } = t;
		s.connect();
		ws().open();
		ws().frame({ ...HELLO, heartbeatSeconds: 5 });
		clock.advance(4999);
		assert.equal(ws().sentOf('ping').length, 0);
		clock.advance(1);
		assert.equal(ws().sentOf('ping').length, 1);
		clock.advance(10000);
		assert.equal(ws().sentOf('ping').length, 3);
		assert.equal(typeof ws().sentOf('ping')[0].ts, 'number');
	});

	it('counts down to the idle cut and shows the warning until activity', () => {
		const { s, clock, events, ws } = t;
		s.connect();
		ws().open();
		ws().frame(HELLO);
		clock.advance(20000);
		assert.equal(s.idleSecondsLeft(), 40);
		ws().frame({ type: 'idle_warn', secondsRemaining: 10 });
		assert.ok(events.some((e) => e.type === 'idle_warn' && e.secondsRemaining === 10));
		clock.advance(3000);
		assert.equal(s.idleSecondsLeft(), 7);
		s.input('a');
		assert.ok(events.some((e) => e.type === 'idle_clear'));
		assert.equal(s.idleSecondsLeft(), 60);
	});

	it('counts down to the maximum-duration cut from what the hello says is left, activity or not', () => {
		const { s, clock, ws } = t;
		s.connect();
		ws().open();
		ws().frame({ ...HELLO, maxDurationSeconds: 600 });
		assert.equal(s.maxDurationSecondsLeft(), 600, 'an older server says only the limit');
		s.close();
		s.restart();
		ws().open();
		// The pod took 7 s to start: the server counts from before the hello.
		ws().frame({ ...HELLO, sessionId: 's-2', maxDurationSeconds: 600, maxDurationRemainingSeconds: 593 });
		assert.equal(s.maxDurationSecondsLeft(), 593);
		clock.advance(90500);
		s.input('ls\r');
		assert.equal(s.maxDurationSecondsLeft(), 503, 'typing does not move the cut');
		ws().frame({ ...HELLO, sessionId: 's-3', maxDurationSeconds: 0 });
		assert.equal(s.maxDurationSecondsLeft(), null, 'no limit, no countdown');
	});

	it('reconnects a dropped session with the seeds delays, each time as a new session', async () => {
		const { s, clock, events, ws } = t;
		s.connect();
		ws().open();
		ws().frame(HELLO);
		ws().drop();
		await flush();
		assert.equal(s.state, 'reconnecting');
		const seen = [];
		for (let i = 0; i < SEED_RECONNECT_DELAYS.length; i += 1) {
			const before = FakeSocket.all.length;
			clock.advance(SEED_RECONNECT_DELAYS[i] - 1);
			assert.equal(FakeSocket.all.length, before, `attempt ${i + 1} waits ${SEED_RECONNECT_DELAYS[i]} ms`);
			clock.advance(1);
			assert.equal(FakeSocket.all.length, before + 1);
			seen.push(events.filter((e) => e.type === 'reconnecting').at(-1).delayMs);
			ws().drop(); // refused before any frame; diagnose finds no gate
			await flush();
		}
		assert.deepEqual(seen, SEED_RECONNECT_DELAYS);
		assert.equal(s.state, 'error');
		assert.equal(events.at(-1).code, 'E_RECONNECT_FAILED');
	});

	it('says that a reconnect is a new session, naming both', async () => {
		const { s, clock, events, ws } = t;
		s.connect();
		ws().open();
		ws().frame(HELLO);
		ws().drop();
		await flush();
		clock.advance(0);
		ws().open();
		ws().frame({ ...HELLO, sessionId: 's-2' });
		const hello = events.filter((e) => e.type === 'hello');
		assert.equal(hello[0].reconnected, false);
		assert.equal(hello[1].reconnected, true);
		assert.equal(hello[1].previousSessionId, 's-1');
		assert.equal(hello[1].hello.sessionId, 's-2');
		// A good connection resets the schedule.
		ws().drop();
		await flush();
		assert.equal(events.filter((e) => e.type === 'reconnecting').at(-1).attempt, 1);
	});

	it('stops at a gate refusal found by the diagnosis and does not retry', async () => {
		t = setup({ diagnose: async () => ({ code: 'E_FORBIDDEN', message: 'your tier (read) may not open a cluster shell' }) });
		const { s, clock, events, ws } = t;
		s.connect();
		ws().drop();
		await flush();
		assert.equal(s.state, 'error');
		assert.equal(events.at(-1).code, 'E_FORBIDDEN');
		clock.advance(60000);
		assert.equal(FakeSocket.all.length, 1, 'no reconnect');
	});

	it('tells when audit admins start and stop watching, and who ended a session', async () => {
		const { s, events, ws } = t;
		s.connect();
		ws().open();
		ws().frame(HELLO);
		ws().frame({ type: 'watched', watchers: 1 });
		assert.deepEqual([events.at(-1).type, events.at(-1).watchers, s.watchers], ['watched', 1, 1]);
		ws().frame({ type: 'watched', watchers: 0 });
		assert.equal(events.at(-1).watchers, 0);
		ws().frame({ type: 'closed', reason: 'terminated', exitCode: -1, terminatedBy: 'admin@periscope.local' });
		assert.equal(events.at(-1).type, 'closed');
		assert.equal(events.at(-1).terminatedBy, 'admin@periscope.local');
		assert.equal(describeClosed(events.at(-1)), 'The session was ended by admin@periscope.local.');
		assert.equal(describeWatchers(1), 'An audit admin is watching this session live.');
		assert.equal(describeWatchers(2), '2 audit admins are watching this session live.');
		assert.equal(describeWatchers(0), 'Nobody is watching this session live any more.');
	});

	it('ends on closed or a fatal error frame without reconnecting; a non-fatal error is a warning', async () => {
		const { s, clock, events, ws } = t;
		s.connect();
		ws().open();
		ws().frame(HELLO);
		ws().frame({ type: 'error', code: 'E_BAD_FRAME', message: 'x', retryable: false, fatal: false });
		assert.equal(s.state, 'connected');
		assert.equal(events.at(-1).type, 'warning');
		ws().frame({ type: 'closed', reason: 'exit', exitCode: 0 });
		ws().drop();
		await flush();
		clock.advance(60000);
		assert.equal(s.state, 'closed');
		assert.equal(FakeSocket.all.length, 1);

		s.restart();
		assert.equal(FakeSocket.all.length, 2, 'the user may open a new session');
		ws().open();
		ws().frame({ type: 'error', code: 'E_SHELL_POD_FAILED', message: 'ImagePullBackOff', retryable: true });
		ws().drop();
		await flush();
		clock.advance(60000);
		assert.equal(s.state, 'error');
		assert.equal(FakeSocket.all.length, 2);
		assert.equal(events.at(-1).retryable, true);
	});

	it('sends close and stops reconnecting when the user closes the tab', async () => {
		const { s, clock, ws } = t;
		s.connect();
		ws().open();
		ws().frame(HELLO);
		const sock = ws();
		s.close();
		assert.deepEqual(sock.sent.at(-1), { type: 'close' });
		sock.onclose({ code: 1006 });
		await flush();
		clock.advance(60000);
		assert.equal(FakeSocket.all.length, 1);
		assert.equal(s.state, 'closed');
	});
});
