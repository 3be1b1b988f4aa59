// fetchWithin's one retry: a request sent down a kept-alive connection that the server
// closed while this process held its event loop (and so had not seen the close) is sent
// again, as a browser does, for an idempotent method only; a server that closes every
// connection still fails the request, naming the cause.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { after, before, describe, it } from './bounded-test.mjs';

import { fetchWithin } from './deadline.mjs';

const KEEP_ALIVE_MS = 1000;

// Holds this thread (and its event loop) for ms, as a synchronous child or a long loop does.
function holdEventLoop(ms) {
	Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// Lines written to stderr while fn runs, kept from the real stderr (dev/test would list
// these RETRIED lines as if a stack test had held its event loop).
async function stderrOf(fn) {
	const lines = [];
	const write = process.stderr.write;
	process.stderr.write = (chunk, ...rest) => {
		lines.push(String(chunk));
		const done = rest.find((a) => typeof a === 'function');
		if (done) process.nextTick(done);
		return true;
	};
	try {
		return { result: await fn().catch((e) => e), lines: lines.join('') };
	} finally {
		process.stderr.write = write;
	}
}

// The server runs on a thread of its own, as a web server is another process, and closes
// an idle kept-alive connection as Apache and lighttpd do (KeepAliveTimeout, 5 s there):
// a FIN, then it reads and drops what still comes and closes (Apache's lingering close,
// server/connection.c ap_lingering_close). Its answers carry no Keep-Alive header (lighttpd
// sends none), so undici would keep the connection 4 s: it is the held event loop that
// keeps this process from seeing the FIN before its next request goes down it.
const SERVER = `
const net = require('node:net');
const { parentPort } = require('node:worker_threads');
const server = net.createServer((socket) => {
	let idle;
	let buffered = '';
	let closing = false;
	const answer = (head) => {
		const [method, url] = head.split(' ');
		parentPort.postMessage(method + ' ' + url);
		if (url === '/drop') return socket.destroy();
		if (url === '/cut') return socket.end('HTTP/1.1 200 OK\\r\\nContent-Length: 100\\r\\n\\r\\nfine', () => socket.destroy());
		socket.write('HTTP/1.1 200 OK\\r\\nContent-Length: 4\\r\\n\\r\\nfine');
		clearTimeout(idle);
		idle = setTimeout(() => {
			closing = true;
			socket.end();
		}, ${KEEP_ALIVE_MS});
	};
	socket.on('data', (chunk) => {
		if (closing) return socket.destroy();
		buffered += chunk;
		// A request ends with its head (GET) or its 1-byte body (POST).
		for (let end; (end = buffered.indexOf('\\r\\n\\r\\n')) >= 0;) {
			const head = buffered.slice(0, end);
			const length = Number(/content-length: *(\\d+)/i.exec(head)?.[1] ?? 0);
			if (buffered.length < end + 4 + length) break;
			buffered = buffered.slice(end + 4 + length);
			answer(head);
		}
	});
	socket.on('error', () => {});
	socket.on('close', () => clearTimeout(idle));
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
parentPort.on('message', () => server.close(() => parentPort.close()));
`;

describe('fetchWithin on a kept-alive connection the server closed', () => {
	let worker;
	let base;
	const seen = [];
	before(async () => {
		worker = new Worker(SERVER, { eval: true });
		const [port] = await once(worker, 'message');
		worker.on('message', (m) => seen.push(m));
		base = `http://127.0.0.1:${port}`;
	});
	after(async () => {
		worker.postMessage('stop');
		await once(worker, 'exit');
	});
	// What the server was asked, once its messages have arrived.
	const asked = async () => {
		await new Promise((r) => setImmediate(r));
		return seen.splice(0);
	};

	it('sends a GET again on a new connection, and says so', async () => {
		assert.equal((await fetchWithin(`${base}/one`)).text, 'fine');
		await asked();
		holdEventLoop(KEEP_ALIVE_MS + 400);
		const { result, lines } = await stderrOf(() => fetchWithin(`${base}/two`));
		assert.equal(result.text, 'fine', result.message);
		assert.deepEqual(await asked(), ['GET /two'], 'the first try never reached the server; the second did');
		assert.match(lines, /^RETRIED .*: GET http:\/\/127\.0\.0\.1:\d+\/two after (UND_ERR_SOCKET|ECONNRESET|EPIPE): /m);
	});

	it('does not send a POST again', async () => {
		assert.equal((await fetchWithin(`${base}/one`)).text, 'fine');
		await asked();
		holdEventLoop(KEEP_ALIVE_MS + 400);
		const { result, lines } = await stderrOf(() => fetchWithin(`${base}/post`, { method: 'POST', body: 'x' }));
		assert.ok(result instanceof Error, 'the POST failed');
		assert.match(result.message, /^fetch failed: POST http:\/\/127\.0\.0\.1:\d+\/post: (UND_ERR_SOCKET|ECONNRESET|EPIPE): /);
		assert.deepEqual(await asked(), []);
		assert.doesNotMatch(lines, /RETRIED/);
	});

	it('sends nothing again when told the server is to drop it', async () => {
		await asked();
		const { result, lines } = await stderrOf(() => fetchWithin(`${base}/drop`, {}, 5000, { resendOnClose: false }));
		assert.ok(result instanceof Error, 'the GET failed');
		assert.deepEqual(await asked(), ['GET /drop']);
		assert.doesNotMatch(lines, /RETRIED/);
	});

	it('does not send a GET again whose answer was cut short after its headers', async () => {
		await asked();
		const { result, lines } = await stderrOf(() => fetchWithin(`${base}/cut`));
		assert.ok(result instanceof Error, 'the GET failed');
		assert.deepEqual(await asked(), ['GET /cut']);
		assert.doesNotMatch(lines, /RETRIED/);
	});

	it('fails a GET whose server closes every connection, after one retry, naming the cause', async () => {
		await asked();
		const { result } = await stderrOf(() => fetchWithin(`${base}/drop`));
		assert.ok(result instanceof Error, 'the GET failed');
		assert.match(result.message, /^fetch failed: GET http:\/\/127\.0\.0\.1:\d+\/drop: (UND_ERR_SOCKET|ECONNRESET): /);
		assert.deepEqual(await asked(), ['GET /drop', 'GET /drop']);
	});
});
