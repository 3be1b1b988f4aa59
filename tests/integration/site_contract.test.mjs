// What the web server site (conf/lighttpd or conf/apache, per PERISCOPE_SERVER) hands a
// FastCGI application, seen from a stand-in application: the CGI variables of API
// requests, request bodies (chunked ones too), and the terminal gate's authorizer request
// and how its refusal reaches the client. periscope.fcgi relies on exactly this.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { startFcgiEcho } from '../lib/fcgi-echo.mjs';
import { ROOT, freePorts, listensOn, waitFor, within } from '../lib/stack.mjs';
import { chooseServer, fcgiAddress, fcgiApiSocket, webServerCommand } from '../lib/webserver.mjs';

const SERVER = chooseServer();
const PORT_ATTEMPTS = 8;

function request(port, pathname, { method = 'GET', headers = {}, body } = {}) {
	return new Promise((resolve, reject) => {
		const req = http.request({ host: '127.0.0.1', port, path: pathname, method, headers }, (res) => {
			let text = '';
			res.setEncoding('utf8');
			res.on('data', (c) => { text += c; });
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text, json: (() => { try { return JSON.parse(text); } catch { return undefined; } })() }));
		});
		req.on('error', reject);
		if (body !== undefined) for (const part of [].concat(body)) req.write(part);
		req.end();
	});
}

describe(`the ${SERVER} site's FastCGI contract`, () => {
	let runDir;
	let app;
	let web;
	let port;
	let gatePort; // under Apache: the TCP port the terminal gate asks
	before(async () => {
		runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-site-'));
		fs.mkdirSync(path.join(runDir, 'spool'));
		// Each port is bound by the program that serves it; one taken by another process
		// between our pick and that bind means starting again on new ones.
		for (let attempt = 1; ; attempt++) {
			let fcgiPort, wsPort, metricsPort, tunnelPort;
			[port, fcgiPort, wsPort, metricsPort, tunnelPort] = await freePorts(5);
			const fcgiAddr = fcgiAddress(SERVER, { runDir, fcgiPort });
			gatePort = fcgiPort;
			// Under Apache the API comes over a Unix socket, the terminal gate over TCP.
			const apiSocket = fcgiApiSocket(SERVER, { runDir });
			if (apiSocket) {
				fs.mkdirSync(path.dirname(apiSocket), { recursive: true, mode: 0o711 });
				fs.rmSync(apiSocket, { force: true });
			}
			try {
				app = await startFcgiEcho({
					listen: SERVER === 'apache' ? [{ host: '127.0.0.1', port: fcgiPort }, apiSocket] : fcgiAddr,
					decide: () => ({ status: 403, headers: { 'Content-Type': 'application/json', 'X-Gate': 'refused' }, body: '{"code":"E_TEST","message":"no"}' }),
				});
			} catch (e) {
				if (e.code === 'EADDRINUSE' && attempt < PORT_ATTEMPTS) continue;
				throw e;
			}
			// As root, Apache's workers run as nobody.
			if (apiSocket) fs.chmodSync(apiSocket, 0o666);
			const webRoot = path.join(ROOT, 'web');
			const env = { PATH: process.env.PATH, PERISCOPE_RUN_DIR: runDir, PERISCOPE_WEB_ROOT: webRoot, PERISCOPE_PORT: String(port), PERISCOPE_WS_PORT: String(wsPort), PERISCOPE_METRICS_PORT: String(metricsPort), PERISCOPE_TUNNEL_PORT: String(tunnelPort) };
			const cmd = webServerCommand(SERVER, { root: ROOT, runDir, port, wsPort, metricsPort, tunnelPort, fcgiAddr, webRoot, env });
			const logFile = path.join(runDir, `${cmd.name}.log`);
			const log = fs.openSync(logFile, 'w');
			web = spawn(cmd.cmd, cmd.args, { env: cmd.env, stdio: ['ignore', log, log], detached: true });
			fs.closeSync(log);
			const gone = () => web.exitCode !== null || web.signalCode !== null;
			await waitFor(`${SERVER} (pid ${web.pid}) to listen on ports ${port} and ${metricsPort}, or exit`,
				() => gone() || (listensOn(web.pid, port) && listensOn(web.pid, metricsPort)));
			if (!gone()) break;
			const said = fs.readFileSync(logFile, 'utf8');
			web = null; // it failed before forking anything: no group left to end
			await app.close();
			app = null;
			if (!/address already in use/i.test(said) || attempt >= PORT_ATTEMPTS) throw new Error(`${SERVER} exited: ${said.slice(-2000)}`);
		}
		await waitFor(`${SERVER} up`, async () => (await request(port, '/healthz')).status === 200);
	});
	after(async () => {
		if (web) {
			try { process.kill(-web.pid, 'SIGKILL'); } catch { /* gone */ }
		}
		if (app) await app.close();
		if (runDir) fs.rmSync(runDir, { recursive: true, force: true });
		const apiSocket = runDir && fcgiApiSocket(SERVER, { runDir });
		if (apiSocket) fs.rmSync(path.dirname(apiSocket), { recursive: true, force: true });
	});

	it('sets SCRIPT_NAME=/api and PATH_INFO (decoded), and passes REQUEST_URI and QUERY_STRING raw', async () => {
		const r = await request(port, '/api/clusters/a%20b/nodes?x=1&y=%20z');
		assert.equal(r.status, 200, r.text);
		const p = r.json.params;
		assert.equal(p.SCRIPT_NAME, '/api');
		assert.equal(p.PATH_INFO, '/clusters/a b/nodes');
		assert.equal(p.REQUEST_URI, '/api/clusters/a%20b/nodes?x=1&y=%20z');
		assert.equal(p.QUERY_STRING, 'x=1&y=%20z');
		assert.equal(p.REQUEST_METHOD, 'GET');
		assert.equal(p.FCGI_ROLE, 'RESPONDER');
		// Under Apache the API comes over the Unix socket (PERISCOPE_FCGI_SOCKET), not TCP.
		const came = app.seen.filter((x) => x.params.REQUEST_URI === '/api/clusters/a%20b/nodes?x=1&y=%20z');
		assert.equal(came.length, 1);
		assert.equal(came[0].via, fcgiApiSocket(SERVER, { runDir }) ?? fcgiAddress(SERVER, { runDir }));
		const h = await request(port, '/healthz');
		assert.equal(h.json.params.SCRIPT_NAME, '/healthz');
		assert.equal(h.json.params.REQUEST_URI, '/healthz');
	});

	it('passes the Authorization header and request bodies, chunked ones included', async () => {
		const r = await request(port, '/api/echo', { method: 'POST', headers: { authorization: 'Bearer t', 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, body: ['{"a":', '1}'] });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.body, '{"a":1}');
		assert.equal(r.json.params.HTTP_AUTHORIZATION, 'Bearer t');
		const fixed = await request(port, '/api/echo', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
		assert.equal(fixed.json.body, 'hello');
		assert.equal(fixed.json.params.CONTENT_LENGTH, '5');
	});

	it('asks the authorizer before a terminal upgrade and hands its refusal to the client', async () => {
		const before = app.seen.length;
		const r = await request(port, '/api/clusters/local/nodes/n1/shell', {
			headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', cookie: 'periscope_session=abc', origin: `http://127.0.0.1:${port}` },
		});
		assert.equal(r.status, 403);
		assert.deepEqual(r.json, { code: 'E_TEST', message: 'no' });
		assert.match(r.headers['content-type'], /^application\/json/);
		assert.equal(r.headers['x-gate'], 'refused');
		const asked = app.seen.slice(before).filter((s) => s.role === 'authorizer');
		assert.equal(asked.length, 1);
		const p = asked[0].params;
		assert.equal(p.FCGI_ROLE, 'AUTHORIZER');
		assert.equal(p.REQUEST_URI, '/api/clusters/local/nodes/n1/shell');
		assert.equal(p.HTTP_COOKIE, 'periscope_session=abc');
		assert.equal(p.HTTP_ORIGIN, `http://127.0.0.1:${port}`);
		if (SERVER === 'apache') assert.equal(p.FCGI_APACHE_ROLE, 'AUTHENTICATOR');
		// mod_authnz_fcgi speaks TCP only (conf/apache/periscope-routes.conf).
		if (SERVER === 'apache') assert.equal(asked[0].via.port, gatePort);
		const cs = await request(port, '/api/clusters/local/shell', { headers: { cookie: 'x=1' } });
		assert.equal(cs.status, 403, 'the cluster shell URL is gated too');
	});

	it('serves the UI for other paths, without asking the application', async () => {
		const before = app.seen.length;
		const r = await request(port, '/');
		assert.equal(r.status, 200);
		assert.match(r.text, /<title>periscope<\/title>/);
		assert.equal(r.headers['x-frame-options'], 'DENY');
		assert.equal(app.seen.length, before);
	});
});

// The site's port and its /metrics listener on one port: lighttpd would merge the two binds
// into one socket whose $SERVER["socket"] block maps only /metrics, so every /healthz would
// be a 404 with nothing in the error log. The site refuses to start instead, saying why
// (conf/lighttpd/periscope.conf); Apache refuses two Listen lines for one address itself.
describe(`the ${SERVER} site with PERISCOPE_METRICS_PORT equal to PERISCOPE_PORT`, () => {
	let runDir;
	before(() => {
		runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-site-'));
		fs.mkdirSync(path.join(runDir, 'spool'));
	});
	after(() => {
		if (runDir) fs.rmSync(runDir, { recursive: true, force: true });
	});

	it('does not start, and says why', async () => {
		const [port, fcgiPort, wsPort, tunnelPort] = await freePorts(4);
		const fcgiAddr = fcgiAddress(SERVER, { runDir, fcgiPort });
		const webRoot = path.join(ROOT, 'web');
		const env = { PATH: process.env.PATH, PERISCOPE_RUN_DIR: runDir, PERISCOPE_WEB_ROOT: webRoot, PERISCOPE_PORT: String(port), PERISCOPE_WS_PORT: String(wsPort), PERISCOPE_METRICS_PORT: String(port), PERISCOPE_TUNNEL_PORT: String(tunnelPort) };
		const cmd = webServerCommand(SERVER, { root: ROOT, runDir, port, wsPort, metricsPort: port, tunnelPort, fcgiAddr, webRoot, env });
		const logFile = path.join(runDir, `${cmd.name}.log`);
		const log = fs.openSync(logFile, 'w');
		const web = spawn(cmd.cmd, cmd.args, { env: cmd.env, stdio: ['ignore', log, log], detached: true });
		fs.closeSync(log);
		try {
			const code = await within(`${SERVER} to exit`, new Promise((resolve) => web.on('exit', (c) => resolve(c))), 15000);
			assert.notEqual(code, 0);
			const said = fs.readFileSync(logFile, 'utf8') + (SERVER === 'lighttpd' && fs.existsSync(path.join(runDir, 'lighttpd-error.log')) ? fs.readFileSync(path.join(runDir, 'lighttpd-error.log'), 'utf8') : '');
			assert.match(said, SERVER === 'lighttpd' ? /PERISCOPE_METRICS_PORT must differ from PERISCOPE_PORT/ : /Cannot define multiple Listeners on the same IP:port/);
		} finally {
			if (web.exitCode === null && web.signalCode === null) process.kill(-web.pid, 'SIGKILL');
		}
	});
});
