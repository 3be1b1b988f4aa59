// A FastCGI application for testing the web server sites: it answers responder requests
// with the CGI variables and the body it received (as JSON), and authorizer requests with
// whatever decide(params) returns. Enough of the protocol for one request per connection,
// which is how lighttpd and Apache talk to it here.
import * as net from 'node:net';

export const BEGIN_REQUEST = 1, END_REQUEST = 3, PARAMS = 4, STDIN = 5, STDOUT = 6;
export const AUTHORIZER = 2;

export function record(type, id, content) {
	const head = Buffer.from([1, type, id >> 8, id & 255, content.length >> 8, content.length & 255, 0, 0]);
	return Buffer.concat([head, content]);
}

// A 'data' listener that cuts the byte stream into FastCGI records and hands each to
// onRecord(type, requestId, content); onRecord returns true to stop reading.
export function recordReader(onRecord) {
	let buf = Buffer.alloc(0);
	return (d) => {
		buf = Buffer.concat([buf, d]);
		while (buf.length >= 8) {
			const type = buf[1];
			const len = buf.readUInt16BE(4);
			const pad = buf[6];
			if (buf.length < 8 + len + pad) return;
			const content = buf.subarray(8, 8 + len);
			const id = buf.readUInt16BE(2);
			buf = buf.subarray(8 + len + pad);
			if (onRecord(type, id, content)) return;
		}
	};
}

function decodeParams(buf, into) {
	const len = (i) => (buf[i] & 0x80 ? [buf.readUInt32BE(i) & 0x7fffffff, 4] : [buf[i], 1]);
	for (let i = 0; i < buf.length;) {
		const [nl, a] = len(i);
		const [vl, b] = len(i + a);
		i += a + b;
		into[buf.subarray(i, i + nl).toString('latin1')] = buf.subarray(i + nl, i + nl + vl).toString('utf8');
		i += nl + vl;
	}
}

function answer(sock, id, text) {
	const out = Buffer.from(text, 'utf8');
	const chunks = [];
	for (let i = 0; i < out.length; i += 65535) chunks.push(record(STDOUT, id, out.subarray(i, i + 65535)));
	sock.end(Buffer.concat([...chunks, record(STDOUT, id, Buffer.alloc(0)), record(END_REQUEST, id, Buffer.alloc(8))]));
}

// decide(params) -> { status, headers: {..}, body } for authorizer requests.
// listen: a Unix socket path, or { host, port } (port 0 picks one), or a list of them (one
// application on several sockets, as periscope.fcgi under Apache: the API's Unix socket and
// the terminal gate's TCP port).
export async function startFcgiEcho({ listen, decide }) {
	const seen = [];
	// via: the socket the request came in on, as given in listen.
	const serve = (via) => (sock) => {
		let role = 0;
		const params = {};
		const body = [];
		let paramsDone = false;
		sock.on('error', () => {});
		sock.on('data', recordReader((type, id, content) => {
			const len = content.length;
			// libfcgi shows the role to the application as FCGI_ROLE; so does this.
			if (type === BEGIN_REQUEST) {
				role = content.readUInt16BE(0);
				params.FCGI_ROLE = ['', 'RESPONDER', 'AUTHORIZER', 'FILTER'][role] ?? String(role);
			}
			else if (type === PARAMS && len) decodeParams(content, params);
			else if (type === PARAMS) paramsDone = true;
			else if (type === STDIN && len) body.push(Buffer.from(content));
			if (role === AUTHORIZER && paramsDone) {
				seen.push({ role: 'authorizer', params, via });
				const r = decide(params);
				const head = [`Status: ${r.status}`, ...Object.entries(r.headers || {}).map(([k, v]) => `${k}: ${v}`)];
				answer(sock, id, `${head.join('\r\n')}\r\n\r\n${r.body || ''}`);
				return true;
			}
			if (role !== AUTHORIZER && type === STDIN && !len) {
				const text = Buffer.concat(body).toString('utf8');
				seen.push({ role: 'responder', params, body: text, via });
				answer(sock, id, `Status: 200 OK\r\nContent-Type: application/json\r\n\r\n${JSON.stringify({ params, body: text })}`);
				return true;
			}
			return false;
		}));
	};
	const servers = [];
	const closeAll = () => Promise.all(servers.map((server) => new Promise((resolve) => server.close(() => resolve()))));
	try {
		for (const where of Array.isArray(listen) ? listen : [listen]) {
			const server = net.createServer(serve(where));
			await new Promise((resolve, reject) => {
				server.once('error', reject);
				if (typeof where === 'string') server.listen(where, resolve);
				else server.listen(where.port, where.host, resolve);
			});
			servers.push(server);
		}
	} catch (e) {
		await closeAll();
		throw e;
	}
	return {
		seen,
		address: servers[0].address(),
		close: closeAll,
	};
}
