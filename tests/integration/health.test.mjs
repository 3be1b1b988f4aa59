// Health that tells the truth, and where /metrics is (and is not), through the real web
// server (lighttpd or Apache, PERISCOPE_SERVER): /healthz is liveness; /readyz names the
// failing check when the database cannot be written and is ready again once it can;
// /metrics is not on the public site, is on the metrics listener, and periscope.fcgi itself
// refuses addresses outside metrics.allowedNetworks and scrapes without the bearer token.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { fcgiRequest } from '../lib/fcgi-client.mjs';
import { fetchWithin } from '../lib/deadline.mjs';
import { startPostgres } from '../lib/postgres.mjs';
import { startStack, waitFor } from '../lib/stack.mjs';
import { execBounded } from '../lib/sync-child.mjs';
import { chooseServer } from '../lib/webserver.mjs';

const EXPOSITION = 'text/plain; version=0.0.4; charset=utf-8';

async function get(url, headers = {}) {
	const { res, text } = await fetchWithin(url, { headers });
	let json;
	try { json = JSON.parse(text); } catch { json = undefined; }
	return { status: res.status, headers: res.headers, text, json };
}

// Makes the database file unwritable for a fresh connection. As root, file modes do not
// stop writes, so the immutable attribute does (chattr, CAP_LINUX_IMMUTABLE); otherwise
// mode 0444. Returns the function that undoes it.
function makeReadOnly(file) {
	if (process.getuid() === 0) {
		execBounded('chattr', ['+i', file]);
		return () => execBounded('chattr', ['-i', file]);
	}
	fs.chmodSync(file, 0o444);
	return () => fs.chmodSync(file, 0o600);
}

describe(`health and the metrics listener through ${chooseServer()}`, () => {
	let stack;
	before(async () => {
		stack = await startStack();
	});
	after(async () => stack && (await stack.stop()));

	it('/healthz says the process answers; /readyz lists every check, all passing', async () => {
		const h = await get(`${stack.url}/healthz`);
		assert.equal(h.status, 200);
		assert.deepEqual(h.json, { status: 'ok', database: 'reachable' });
		const r = await get(`${stack.url}/readyz`);
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.status, 'ready');
		assert.equal(r.json.failing, undefined);
		assert.deepEqual(Object.keys(r.json.checks).sort(), ['audit_budget', 'config', 'database', 'database_writable', 'migrations']);
		for (const [name, c] of Object.entries(r.json.checks)) assert.equal(c.ok, true, name);
		assert.equal(r.json.checks.migrations.version, r.json.checks.migrations.expected);
	});

	it('/readyz turns 503 naming database_writable while the database cannot be written, and ready again after', async () => {
		const restore = makeReadOnly(stack.config.audit.dbPath);
		try {
			const r = await get(`${stack.url}/readyz`);
			assert.equal(r.status, 503, r.text);
			assert.equal(r.json.status, 'not_ready');
			assert.equal(r.json.failing, 'database_writable');
			assert.equal(r.json.checks.database_writable.ok, false);
			assert.match(r.json.checks.database_writable.error, /not writable: (Operation not permitted|Permission denied)|readonly/);
			// Liveness is not readiness: the process still answers.
			assert.equal((await get(`${stack.url}/healthz`)).status, 200);
			const m = await get(stack.metricsUrl);
			assert.match(m.text, /^periscope_ready 0$/m);
		} finally {
			restore();
		}
		await waitFor('/readyz to answer ready again', async () => (await get(`${stack.url}/readyz`)).status === 200);
		assert.match((await get(stack.metricsUrl)).text, /^periscope_ready 1$/m);
	});

	it('/metrics is not on the public site but on the metrics listener, in the exposition format', async () => {
		const pub = await get(`${stack.url}/metrics`);
		assert.equal(pub.status, 404, pub.text);
		assert.doesNotMatch(pub.text, /periscope_build_info/);
		const m = await get(stack.metricsUrl);
		assert.equal(m.status, 200, m.text);
		assert.equal(m.headers.get('content-type'), EXPOSITION);
		assert.match(m.text, /^# TYPE periscope_build_info gauge$/m);
		assert.match(m.text, /^periscope_build_info\{version="\d+\.\d+\.\d+"\} 1$/m);
		assert.match(m.text, /^periscope_sessions_open\{kind="cluster_shell",cluster="local"\} 0$/m);
		// Nothing else of periscope's on the metrics listener.
		const api = await get(`http://127.0.0.1:${stack.metricsPort}/api/auth/config`);
		assert.notEqual(api.status, 200);
	});
});

// On PostgreSQL (issue 15: "health checks on /healthz that report database reachability"):
// while the server is down /healthz still answers 200 but says so, and /readyz is 503
// naming the database; once it is back, the same worker connects again and both recover.
describe(`health through ${chooseServer()} while its PostgreSQL is down`, () => {
	let pg, stack;
	before(async () => {
		pg = await startPostgres();
		if (pg) stack = await startStack({ db: 'postgres', pg });
	});
	after(async () => {
		if (stack) await stack.stop();
		if (pg) await pg.stop();
	});

	it('/healthz says the database is unreachable and /readyz fails on it; both recover when it is back', async (t) => {
		if (!pg) return t.skip('PostgreSQL is not installed');
		assert.deepEqual((await get(`${stack.url}/healthz`)).json, { status: 'ok', database: 'reachable' });
		await pg.down();
		try {
			const h = await get(`${stack.url}/healthz`);
			assert.equal(h.status, 200, h.text);
			assert.deepEqual(h.json, { status: 'ok', database: 'unreachable' });
			const r = await get(`${stack.url}/readyz`);
			assert.equal(r.status, 503, r.text);
			assert.equal(r.json.status, 'not_ready');
			assert.equal(r.json.failing, 'database');
			assert.equal(r.json.checks.database.ok, false);
		} finally {
			await pg.up();
		}
		await waitFor('/readyz to answer ready again after PostgreSQL is back', async () => (await get(`${stack.url}/readyz`)).status === 200);
		assert.deepEqual((await get(`${stack.url}/healthz`)).json, { status: 'ok', database: 'reachable' });
	});
});

describe(`the metrics' bearer token and networks through ${chooseServer()}`, () => {
	const TOKEN = 'scrape-token-0123456789abcdef';
	let stack, dir;
	before(async () => {
		// A token file, as an operator would keep it (metrics.bearerToken: "file:/path").
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-metrics-token-'));
		fs.writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
		stack = await startStack({ config: { metrics: { bearerToken: `file:${path.join(dir, 'token')}` } } });
	});
	after(async () => {
		if (stack) await stack.stop();
		if (dir) fs.rmSync(dir, { recursive: true, force: true });
	});

	it('answers 401 without the token or with a wrong one, 200 with it', async () => {
		const none = await get(stack.metricsUrl);
		assert.equal(none.status, 401, none.text);
		assert.equal(none.json.code, 'E_AUTH');
		assert.match(none.headers.get('www-authenticate'), /^Bearer /);
		const wrong = await get(stack.metricsUrl, { authorization: `Bearer ${TOKEN}x` });
		assert.equal(wrong.status, 401);
		const short = await get(stack.metricsUrl, { authorization: 'Bearer scrape' });
		assert.equal(short.status, 401);
		const right = await get(stack.metricsUrl, { authorization: `Bearer ${TOKEN}` });
		assert.equal(right.status, 200, right.text);
		assert.match(right.text, /^periscope_build_info\{/m);
		assert.doesNotMatch(right.text, new RegExp(TOKEN));
	});

	it('refuses an address outside metrics.allowedNetworks (default: loopback) with 403, token or not', async () => {
		const ask = (addr) => fcgiRequest(stack.fcgiAddress, {
			GATEWAY_INTERFACE: 'CGI/1.1', SERVER_PROTOCOL: 'HTTP/1.1', SERVER_NAME: '127.0.0.1',
			SERVER_PORT: String(stack.metricsPort), REMOTE_ADDR: addr, REQUEST_METHOD: 'GET',
			REQUEST_URI: '/metrics', SCRIPT_NAME: '/metrics', HTTP_AUTHORIZATION: `Bearer ${TOKEN}`,
		}, { role: 'RESPONDER' });
		const outside = await ask('192.0.2.10');
		assert.equal(outside.status, 403, outside.body);
		assert.equal(outside.json.code, 'E_FORBIDDEN');
		const mapped = await ask('::ffff:127.0.0.1');
		assert.equal(mapped.status, 200, mapped.body);
	});
});
