// A FastCGI client for one request per connection, as lighttpd and Apache speak it to
// periscope.fcgi (FastCGI 1.0, https://fastcgi-archives.github.io/FastCGI_Specification.html):
// BEGIN_REQUEST with the role, the CGI variables as PARAMS, an empty STDIN, then the
// application's STDOUT (a CGI response) until END_REQUEST. For tests that reach the
// authorizer without a web server in front, with whatever variables they choose.
import * as net from 'node:net';

import { AUTHORIZER, BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, record, recordReader } from './fcgi-echo.mjs';

const RESPONDER = 1;

function lengthBytes(n) {
	if (n < 128) return Buffer.from([n]);
	const b = Buffer.alloc(4);
	b.writeUInt32BE((n | 0x80000000) >>> 0);
	return b;
}

function encodeParams(params) {
	return Buffer.concat(Object.entries(params).flatMap(([k, v]) => {
		const name = Buffer.from(k, 'latin1');
		const value = Buffer.from(String(v), 'utf8');
		return [lengthBytes(name.length), lengthBytes(value.length), name, value];
	}));
}

// address: a Unix socket path or "HOST:PORT". Returns { status, headers, body, json }.
export function fcgiRequest(address, params, { role = 'AUTHORIZER', timeoutMs = 10000 } = {}) {
	const id = 1;
	const m = /^([\d.]+):(\d+)$/.exec(address);
	return new Promise((resolve, reject) => {
		const sock = m ? net.connect(Number(m[2]), m[1]) : net.connect(address);
		const timer = setTimeout(() => {
			sock.destroy();
			reject(new Error(`timed out waiting for periscope.fcgi to answer ${params.REQUEST_URI} at ${address}`));
		}, timeoutMs);
		const out = [];
		sock.on('error', (e) => {
			clearTimeout(timer);
			reject(e);
		});
		sock.on('connect', () => {
			const begin = Buffer.from([0, role === 'AUTHORIZER' ? AUTHORIZER : RESPONDER, 0, 0, 0, 0, 0, 0]);
			const body = encodeParams(params);
			const chunks = [];
			for (let i = 0; i < body.length; i += 65535) chunks.push(record(PARAMS, id, body.subarray(i, i + 65535)));
			sock.write(Buffer.concat([record(BEGIN_REQUEST, id, begin), ...chunks, record(PARAMS, id, Buffer.alloc(0)), record(STDIN, id, Buffer.alloc(0))]));
		});
		sock.on('data', recordReader((type, _id, content) => {
			if (type === STDOUT) out.push(Buffer.from(content));
			if (type !== END_REQUEST) return false;
			clearTimeout(timer);
			sock.destroy();
			resolve(parseCgiResponse(Buffer.concat(out).toString('utf8')));
			return true;
		}));
	});
}

function parseCgiResponse(text) {
	const end = text.indexOf('\r\n\r\n');
	const head = end < 0 ? text : text.slice(0, end);
	const body = end < 0 ? '' : text.slice(end + 4);
	const headers = {};
	for (const line of head.split('\r\n')) {
		const colon = line.indexOf(':');
		if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
	}
	let json;
	try {
		json = JSON.parse(body);
	} catch {
		json = undefined;
	}
	return { status: Number((headers.status ?? '200').split(' ')[0]), headers, body, json };
}
