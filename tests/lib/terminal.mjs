// A terminal client speaking the frame protocol of docs/frames.md over a real WebSocket,
// as the web UI does: one JSON object per text message, terminal bytes base64 in data.
import WebSocket from 'ws';

import { noteIfLate, within } from './deadline.mjs';

export class Terminal {
	constructor(ws) {
		this.ws = ws;
		this.frames = [];
		this.output = '';
		this.raw = []; // the terminal bytes as received, one Buffer a stdout frame
		this.waiters = [];
		this.closed = new Promise((resolve) => {
			ws.on('close', (code) => resolve(code));
		});
		ws.on('message', (data) => {
			const frame = JSON.parse(data.toString());
			this.frames.push(frame);
			if (frame.type === 'stdout') {
				const bytes = Buffer.from(frame.data, 'base64');
				this.raw.push(bytes);
				this.output += bytes.toString('utf8');
			}
			this.wake();
		});
		ws.on('close', () => this.wake());
	}

	// Opens path (e.g. /api/clusters/local/shell) with the browser's cookie and origin (null:
	// no Origin header at all). The upgrade must be answered within timeoutMs. localAddress:
	// the loopback address to connect from (the client address the web server sees).
	static async open(stack, path, { cookie, origin = stack.url, headers = {}, timeoutMs = 30000, localAddress } = {}) {
		const ws = new WebSocket(`${stack.wsUrl}${path}`, {
			headers: { ...(cookie ? { cookie } : {}), ...headers },
			origin,
			...(localAddress ? { localAddress } : {}),
			...(stack.ca ? { ca: stack.ca } : {}),
		});
		// Listening before the upgrade completes: a frame that arrives with the 101 (a
		// refusal wsbridge sends at once) is emitted in the same tick as 'open', before an
		// await on 'open' returns; a listener added after it missed the frame (3 in 10
		// refusals under Apache, the test saw a bare close).
		const terminal = new Terminal(ws);
		await within(`the upgrade of ${path}`, new Promise((resolve, reject) => {
			ws.once('open', resolve);
			ws.once('unexpected-response', (req, res) => {
				let body = '';
				res.on('data', (c) => { body += c; });
				res.on('end', () => {
					const err = new Error(`upgrade refused: HTTP ${res.statusCode} ${body}`);
					err.status = res.statusCode;
					try { err.body = JSON.parse(body); } catch { err.body = body; }
					reject(err);
				});
			});
			ws.once('error', reject);
		}), timeoutMs).catch((e) => {
			ws.terminate();
			throw e;
		});
		return terminal;
	}

	wake() {
		for (const w of this.waiters.splice(0)) w();
	}

	// Resolves when predicate() holds; rejects after timeoutMs with what was seen.
	async until(what, predicate, timeoutMs = 15000) {
		const startedAt = Date.now();
		const deadline = startedAt + timeoutMs;
		for (;;) {
			const v = predicate();
			if (v) {
				noteIfLate(what, startedAt, timeoutMs);
				return v;
			}
			if (Date.now() > deadline || this.ws.readyState === WebSocket.CLOSED && !predicate()) {
				if (Date.now() <= deadline && this.ws.readyState === WebSocket.CLOSED) {
					const again = predicate();
					if (again) {
						noteIfLate(what, startedAt, timeoutMs);
						return again;
					}
				}
				const recent = this.frames.slice(-6).map((f) => (f.type === 'stdout' ? 'stdout' : JSON.stringify(f)));
				throw new Error(`timed out waiting for ${what}; last frames: ${recent.join(', ')}; output tail: ${JSON.stringify(this.output.slice(-300))}`);
			}
			await new Promise((resolve) => {
				const t = setTimeout(resolve, Math.max(1, Math.min(200, deadline - Date.now())));
				this.waiters.push(() => {
					clearTimeout(t);
					resolve();
				});
			});
		}
	}

	frame(type) {
		return this.frames.find((f) => f.type === type);
	}

	waitFrame(type, timeoutMs) {
		return this.until(`a ${type} frame`, () => this.frame(type), timeoutMs);
	}

	waitOutput(re, timeoutMs) {
		return this.until(`output matching ${re}`, () => re.test(this.output) && this.output, timeoutMs);
	}

	send(obj) {
		this.ws.send(JSON.stringify(obj));
	}

	type(text) {
		this.send({ type: 'stdin', data: Buffer.from(text).toString('base64') });
	}

	resize(cols, rows) {
		this.send({ type: 'resize', cols, rows });
	}

	ping(ts) {
		this.send({ type: 'ping', ts });
	}

	// The session's last frame (closed or a fatal error).
	async end(timeoutMs = 20000) {
		return this.until('the session end', () => this.frames.find((f) => f.type === 'closed' || (f.type === 'error' && f.fatal !== false)), timeoutMs);
	}

	close() {
		this.ws.close();
	}

	terminate() {
		this.ws.terminate();
	}
}
