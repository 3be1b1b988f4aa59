// One request to the stack exactly as written (path unnormalised, any header, any body),
// over http or https as the stack serves, its answer read to the end: { status, headers,
// text, json } (json undefined when the body is not JSON). agent: as node:http takes it
// (false: a connection of its own, closed after the answer).
import * as http from 'node:http';
import * as https from 'node:https';

export function rawRequest(stack, path, { method = 'GET', headers = {}, body, agent } = {}) {
	const url = new URL(stack.url);
	const mod = url.protocol === 'https:' ? https : http;
	return new Promise((resolve, reject) => {
		const req = mod.request({ host: url.hostname, port: url.port, path, method, headers, ca: stack.ca, ...(agent !== undefined ? { agent } : {}) }, (res) => {
			let text = '';
			res.setEncoding('utf8');
			res.on('data', (c) => { text += c; });
			res.on('end', () => {
				let json;
				try { json = JSON.parse(text); } catch { json = undefined; }
				resolve({ status: res.statusCode, headers: res.headers, text, json });
			});
			res.on('error', reject);
		});
		req.on('error', reject);
		if (body !== undefined) req.write(body);
		req.end();
	});
}
