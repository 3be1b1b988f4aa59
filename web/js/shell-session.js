// One terminal session as the user sees it: the frame protocol of docs/frames.md over a
// WebSocket, with the seeds' client behaviour. No DOM here (the panel draws it), so the
// node tests drive it with a fake WebSocket and fake timers.
//
//   connecting -> connected (hello) -> closed (closed frame) | error (fatal error frame)
//   a drop without a last frame -> reconnecting -> (a NEW session) connected ...
//
// Each reconnect opens a new server session: the server never resumes one. After
// RECONNECT_DELAYS.length failed attempts the session ends with E_RECONNECT_FAILED.

export const RECONNECT_DELAYS = [0, 1000, 3000, 8000];
export const MAX_STDIN_BYTES = 48 * 1024;

const encoder = new TextEncoder();

// Timers and time, injectable so the tests can run the reconnect schedule instantly.
const realClock = {
	now: () => Date.now(),
	setTimeout: (fn, ms) => setTimeout(fn, ms),
	clearTimeout: (t) => clearTimeout(t),
	setInterval: (fn, ms) => setInterval(fn, ms),
	clearInterval: (t) => clearInterval(t),
};

export function bytesToBase64(bytes) {
	let bin = '';
	for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
	return btoa(bin);
}

export function base64ToBytes(b64) {
	const bin = atob(b64);
	const out = new Uint8Array(bin.length);
	for (let i = 0; i < bin.length; i += 1) out[i] = bin.charCodeAt(i);
	return out;
}

export class ShellSession {
	// url: ws(s):// address of the shell. onEvent(event) receives every change (see emit
	// calls). diagnose(): resolves to the server's {code,message} when it refuses this shell
	// over plain HTTP (a browser cannot read a refused upgrade's body), else null.
	constructor({ url, onEvent = () => {}, diagnose = async () => null, WebSocketImpl = globalThis.WebSocket, clock = realClock }) {
		this.url = url;
		this.onEvent = onEvent;
		this.diagnose = diagnose;
		this.WebSocketImpl = WebSocketImpl;
		this.clock = clock;
		this.state = 'idle';
		this.hello = null;
		this.lastSessionId = null;
		this.sessions = 0; // server sessions this panel has had (1 + reconnects that got a hello)
		this.attempt = 0; // failed reconnect attempts in a row
		this.size = null;
		this.lastActivity = 0;
		this.connectedAt = 0;
		this.idleWarnUntil = 0;
		this.endsAt = 0; // when the server's maximum-duration cut falls, 0 when none
		this.lastPongRtt = null;
		this.ws = null;
		this.pingTimer = null;
		this.retryTimer = null;
		this.userClosed = false;
	}

	emit(type, detail = {}) {
		this.onEvent({ type, ...detail });
	}

	setState(state) {
		if (this.state === state) return;
		this.state = state;
		this.emit('state', { state });
	}

	connect() {
		this.userClosed = false;
		this.hello = null;
		this.idleWarnUntil = 0;
		this.endsAt = 0;
		this.setState(this.sessions > 0 || this.attempt > 0 ? 'reconnecting' : 'connecting');
		let ws;
		try {
			ws = new this.WebSocketImpl(this.url);
		} catch (e) {
			this.finish('error', { code: 'E_TRANSPORT', message: String(e.message || e), retryable: true });
			return;
		}
		this.ws = ws;
		const attempt = { frames: 0, ended: false };
		ws.onmessage = (ev) => {
			if (this.ws !== ws) return;
			attempt.frames += 1;
			this.onFrame(ev.data, attempt);
		};
		ws.onclose = () => {
			if (this.ws !== ws) return;
			this.ws = null;
			this.stopPing();
			if (attempt.ended || this.userClosed) return;
			this.dropped(attempt.frames === 0);
		};
		ws.onerror = () => {}; // onclose follows and decides
	}

	onFrame(data, attempt) {
		let f;
		try {
			f = JSON.parse(data);
		} catch {
			return;
		}
		if (!f || typeof f !== 'object') return;
		switch (f.type) {
		case 'hello':
			this.onHello(f);
			break;
		case 'stdout':
			if (typeof f.data !== 'string') return;
			this.activity();
			this.emit('output', { bytes: base64ToBytes(f.data) });
			break;
		case 'pong':
			if (typeof f.ts === 'number') this.lastPongRtt = this.now() - f.ts;
			this.emit('pong', { rtt: this.lastPongRtt });
			break;
		case 'idle_warn':
			this.idleWarnUntil = this.now() + Math.max(0, Number(f.secondsRemaining) || 0) * 1000;
			this.emit('idle_warn', { secondsRemaining: f.secondsRemaining });
			break;
		case 'watched':
			// An audit admin started or stopped watching this session live.
			this.watchers = Math.max(0, Number(f.watchers) || 0);
			this.emit('watched', { watchers: this.watchers });
			break;
		case 'closed':
			attempt.ended = true;
			this.finish('closed', { reason: f.reason, exitCode: f.exitCode, terminatedBy: typeof f.terminatedBy === 'string' ? f.terminatedBy : undefined });
			break;
		case 'error':
			if (f.fatal === false) {
				this.emit('warning', { code: f.code, message: f.message });
				break;
			}
			attempt.ended = true;
			this.finish('error', { code: f.code, message: f.message, retryable: f.retryable === true });
			break;
		default:
			break;
		}
	}

	onHello(hello) {
		const reconnected = this.sessions > 0;
		this.hello = hello;
		this.sessions += 1;
		this.attempt = 0;
		this.connectedAt = this.now();
		this.lastActivity = this.connectedAt;
		// The cut counts from the server's start of the session, before the shell was ready:
		// what is left comes with the hello (maxDurationSeconds alone from older servers).
		const max = Number(hello.maxDurationSeconds) || 0;
		const left = Number(hello.maxDurationRemainingSeconds);
		this.endsAt = max > 0 ? this.connectedAt + (Number.isFinite(left) && left >= 0 ? left : max) * 1000 : 0;
		this.setState('connected');
		this.emit('hello', { hello, reconnected, previousSessionId: this.lastSessionId });
		this.lastSessionId = hello.sessionId;
		if (this.size) this.send({ type: 'resize', cols: this.size.cols, rows: this.size.rows });
		this.startPing(hello.heartbeatSeconds);
	}

	now() {
		return this.clock.now();
	}

	activity() {
		this.lastActivity = this.now();
		if (this.idleWarnUntil) {
			this.idleWarnUntil = 0;
			this.emit('idle_clear');
		}
	}

	startPing(seconds) {
		this.stopPing();
		const ms = Math.max(1, Number(seconds) || 20) * 1000;
		this.pingTimer = this.clock.setInterval(() => this.send({ type: 'ping', ts: this.now() }), ms);
	}

	stopPing() {
		if (this.pingTimer !== null) this.clock.clearInterval(this.pingTimer);
		this.pingTimer = null;
	}

	// The connection went away without a last frame. A refusal before any frame may be a
	// gate (signed out, forbidden, cap...): ask the server in plain HTTP before retrying.
	async dropped(beforeAnyFrame) {
		const lostSession = this.state === 'connected';
		this.setState('reconnecting');
		if (beforeAnyFrame) {
			let refusal = null;
			try {
				refusal = await this.diagnose();
			} catch {
				refusal = null;
			}
			if (this.userClosed) return;
			if (refusal && refusal.code) {
				this.finish('error', { code: refusal.code, message: refusal.message, retryable: false, refused: true });
				return;
			}
		}
		if (this.attempt >= RECONNECT_DELAYS.length) {
			this.finish('error', { code: 'E_RECONNECT_FAILED', message: `gave up after ${RECONNECT_DELAYS.length} attempts`, retryable: true });
			return;
		}
		const delayMs = RECONNECT_DELAYS[this.attempt];
		this.attempt += 1;
		this.emit('reconnecting', { attempt: this.attempt, of: RECONNECT_DELAYS.length, delayMs, lostSession });
		this.retryTimer = this.clock.setTimeout(() => {
			this.retryTimer = null;
			if (!this.userClosed) this.connect();
		}, delayMs);
	}

	finish(state, detail) {
		this.stopPing();
		if (this.retryTimer !== null) this.clock.clearTimeout(this.retryTimer);
		this.retryTimer = null;
		this.idleWarnUntil = 0;
		this.setState(state);
		this.emit(state === 'closed' ? 'closed' : 'error', detail);
	}

	// A new session after the last one ended (the user pressed Reconnect).
	restart() {
		if (this.ws) return;
		this.attempt = 0;
		this.connect();
	}

	send(obj) {
		if (!this.ws || this.ws.readyState !== 1) return false;
		this.ws.send(JSON.stringify(obj));
		return true;
	}

	// Keystrokes or a paste (a string): UTF-8, in messages of at most MAX_STDIN_BYTES.
	input(text) {
		if (this.state !== 'connected') return;
		const bytes = typeof text === 'string' ? encoder.encode(text) : text;
		for (let i = 0; i < bytes.length; i += MAX_STDIN_BYTES) {
			this.send({ type: 'stdin', data: bytesToBase64(bytes.subarray(i, i + MAX_STDIN_BYTES)) });
		}
		this.activity();
	}

	resize(cols, rows) {
		if (!(cols >= 1 && rows >= 1)) return;
		const c = Math.min(1000, Math.floor(cols));
		const r = Math.min(1000, Math.floor(rows));
		if (this.size && this.size.cols === c && this.size.rows === r) return;
		this.size = { cols: c, rows: r };
		if (this.state === 'connected') this.send({ type: 'resize', cols: c, rows: r });
	}

	// The user closed the tab: end the server session and stop reconnecting.
	close() {
		this.userClosed = true;
		this.stopPing();
		if (this.retryTimer !== null) this.clock.clearTimeout(this.retryTimer);
		this.retryTimer = null;
		const ws = this.ws;
		this.ws = null;
		if (ws) {
			if (ws.readyState === 1) ws.send(JSON.stringify({ type: 'close' }));
			try {
				ws.close(1000, 'client close');
			} catch {
				// already closing
			}
		}
		if (this.state !== 'closed' && this.state !== 'error') this.setState('closed');
	}

	// Seconds until the server's idle cut: the warning's countdown when one came, else
	// idleSeconds after the last terminal byte either way. null when not connected.
	idleSecondsLeft() {
		if (this.state !== 'connected' || !this.hello) return null;
		const now = this.now();
		if (this.idleWarnUntil) return Math.max(0, Math.ceil((this.idleWarnUntil - now) / 1000));
		const idle = Number(this.hello.idleSeconds) || 0;
		if (idle <= 0) return null;
		return Math.max(0, Math.ceil(idle - (now - this.lastActivity) / 1000));
	}

	// Seconds until the server's maximum-duration cut; null when not connected or unlimited.
	maxDurationSecondsLeft() {
		if (this.state !== 'connected' || !this.endsAt) return null;
		return Math.max(0, Math.ceil((this.endsAt - this.now()) / 1000));
	}

	uptimeSeconds() {
		return this.state === 'connected' ? Math.floor((this.now() - this.connectedAt) / 1000) : 0;
	}
}
