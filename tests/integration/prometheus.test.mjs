// The metrics as an operator's Prometheus sees them, through the real stack (lighttpd or
// Apache, PERISCOPE_SERVER): Debian's prometheus server, started here on loopback, scrapes
// the stack's metrics listener every second while a scripted run happens (sign-ins, two
// terminals of each kind, a refusal of each code, one bridge killed with SIGKILL); then the
// test asks Prometheus' HTTP API for the counters, the open-latency histogram's counts and
// the lost bridge. Without the prometheus package the file skips, except under CI=true.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { fetchWithin } from '../lib/deadline.mjs';
import { anonymous, signIn } from '../lib/session.mjs';
import { EKS_CLUSTER, EKS_NAME, NODES, spawnOnFreePort, startStack, waitFor } from '../lib/stack.mjs';
import { stackSql } from '../lib/stack_sql.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { chooseServer } from '../lib/webserver.mjs';

const PROMETHEUS = '/usr/bin/prometheus';
const CLUSTER = '/api/clusters/local/shell';
const NODE = `/api/clusters/local/nodes/${NODES[0].name}/shell`;
const LOST_WITHIN_MS = 60000;
const missing = !fs.existsSync(PROMETHEUS);
if (missing && process.env.CI === 'true') throw new Error(`${PROMETHEUS} is missing (dev/apt-packages.txt lists prometheus)`);

// Prometheus on loopback, scraping the stack's /metrics every second.
async function startPrometheus(stack) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-prometheus-'));
	fs.writeFileSync(path.join(dir, 'prometheus.yml'), [
		'global:',
		'  scrape_interval: 1s',
		'  evaluation_interval: 1s',
		'scrape_configs:',
		'  - job_name: periscope',
		'    scrape_interval: 1s',
		'    scrape_timeout: 1s',
		'    static_configs:',
		`      - targets: ["127.0.0.1:${stack.metricsPort}"]`,
		'',
	].join('\n'));
	// On a port Prometheus itself listens on (started again on another when a port is
	// taken between our pick and its bind).
	const logFile = path.join(dir, 'prometheus.log');
	const { child, port } = await spawnOnFreePort('prometheus', (p) => {
		const log = fs.openSync(logFile, 'w');
		const c = spawn(PROMETHEUS, [
			`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
			`--web.listen-address=127.0.0.1:${p}`, '--storage.tsdb.retention.time=1h',
		], { stdio: ['ignore', log, log] });
		fs.closeSync(log);
		return { child: c, output: () => fs.readFileSync(logFile, 'utf8') };
	}, { timeoutMs: 30000 });
	const exited = new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', resolve)));
	const url = `http://127.0.0.1:${port}`;
	const stop = async () => {
		if (child.exitCode === null) child.kill('SIGTERM');
		await Promise.race([exited, new Promise((r) => setTimeout(r, 10000))]);
		if (child.exitCode === null) child.kill('SIGKILL');
		fs.rmSync(dir, { recursive: true, force: true });
	};
	try {
		await waitFor('prometheus to be ready', async () => {
			if (child.exitCode !== null) throw new Error(`prometheus exited: ${fs.readFileSync(path.join(dir, 'prometheus.log'), 'utf8')}`);
			try {
				return (await fetchWithin(`${url}/-/ready`, {}, 2000)).res.status === 200;
			} catch {
				return false;
			}
		}, { timeoutMs: 30000, intervalMs: 200 });
	} catch (e) {
		await stop();
		throw e;
	}
	return { url, stop };
}

// One instant query: { 'label=value,...': number } over the result's series.
async function query(prom, q) {
	const { res, text } = await fetchWithin(`${prom.url}/api/v1/query?query=${encodeURIComponent(q)}`);
	assert.equal(res.status, 200, text);
	const body = JSON.parse(text);
	assert.equal(body.status, 'success', text);
	return Object.fromEntries(body.data.result.map((r) => {
		const { __name__: _, job: _j, instance: _i, ...labels } = r.metric;
		return [Object.entries(labels).sort().map(([k, v]) => `${k}=${v}`).join(','), Number(r.value[1])];
	}));
}

// Waits until Prometheus has scraped the value the run must have produced.
async function expectValue(prom, q, want) {
	const sorted = (o) => JSON.stringify(Object.entries(o).sort());
	let got;
	await waitFor(`Prometheus to see ${q} = ${JSON.stringify(want)}`, async () => {
		got = await query(prom, q);
		return sorted(got) === sorted(want);
	}, { timeoutMs: 20000, intervalMs: 500 }).catch((e) => {
		e.message += `; last answer ${JSON.stringify(got)}`;
		throw e;
	});
}

async function openTerminal(stack, browser, p) {
	const t = await Terminal.open(stack, p, { cookie: `periscope_session=${browser.cookie()}` });
	t.resize(100, 30);
	await t.until('hello', () => t.frames.find((f) => f.type === 'hello'), 60000);
	await t.waitOutput(/[$#] $/m, 30000);
	t.type('echo metrics-$((6*7))\n');
	await t.waitOutput(/metrics-42/, 15000);
	return t;
}

// A terminal that must be refused: the status of the refused upgrade or the error frame.
async function refusedCode(stack, p, { cookie, origin = stack.url } = {}) {
	let t;
	try {
		t = await Terminal.open(stack, p, { cookie, origin });
	} catch (e) {
		if (!e.status) throw e;
		return e.body?.code;
	}
	const frame = await t.until('the refusal frame', () => t.frames.find((f) => f.type === 'error'));
	t.terminate();
	return frame.code;
}

describe(`Prometheus scraping the stack through ${chooseServer()}`, { skip: missing && `${PROMETHEUS} is not installed` }, () => {
	let stack, prom;
	before(async () => {
		// websocketd's own Origin check off, so that periscope's (authorizer or bridge) counts
		// the foreign origin's refusal under both servers.
		// An eks cluster too, reached with the server's own identity (eks:DescribeCluster).
		stack = await startStack({
			websocketdOrigin: false,
			config: {
				clusters: [{ name: 'local', backend: 'kubeconfig', kubeconfigPath: '@KUBECONFIG@', region: 'eu-west-1' }, EKS_CLUSTER],
				// Two cluster shells fill the cluster: a third user is refused E_CAP_CLUSTER.
				clusterShell: { maxSessionsTotal: 2 },
				// The lost bridge's close row is the maintenance pass's: one every 2 s
				// (database.sweepInterval; 15 s by default).
				database: { sweepInterval: '2s' },
			},
		});
		prom = await startPrometheus(stack);
	});
	after(async () => {
		if (prom) await prom.stop();
		if (stack) await stack.stop();
	});

	it('finds the run in the counters: sign-ins, opens, closes, refusals by code, the histogram, the lost bridge, upstreams', async () => {
		await expectValue(prom, 'up{job="periscope"}', { '': 1 });
		// Sign-ins: three that succeed, one callback that does not belong to any attempt.
		const admin = await signIn(stack, 'admin');
		const viewer = await signIn(stack, 'viewer');
		const ops = await signIn(stack, 'ops');
		assert.equal((await anonymous(stack, '/api/auth/callback?code=x&state=forged')).status >= 400, true);

		// Two terminals of each kind; the node shells and one cluster shell close normally.
		// The eks cluster's nodes: DescribeCluster, then the apiserver with an EKS token.
		assert.equal((await admin.get(`/api/clusters/${EKS_NAME}/nodes`)).status, 200);
		const clusters = [await openTerminal(stack, admin, CLUSTER), await openTerminal(stack, admin, CLUSTER)];
		const nodes = [await openTerminal(stack, admin, NODE), await openTerminal(stack, admin, NODE)];
		// A refusal of each code the gates give in this stack.
		const cookie = `periscope_session=${admin.cookie()}`;
		assert.equal(await refusedCode(stack, CLUSTER, { cookie }), 'E_CAP_USER');
		assert.equal(await refusedCode(stack, CLUSTER, { cookie: `periscope_session=${ops.cookie()}` }), 'E_CAP_CLUSTER');
		assert.equal(await refusedCode(stack, CLUSTER), 'E_AUTH');
		assert.equal(await refusedCode(stack, CLUSTER, { cookie: `periscope_session=${viewer.cookie()}` }), 'E_FORBIDDEN');
		assert.equal(await refusedCode(stack, '/api/clusters/no-such-cluster/shell', { cookie }), 'E_NOT_FOUND');
		for (const t of nodes) {
			t.send({ type: 'close' });
			assert.equal((await t.end(30000)).reason, 'client_closed');
		}
		assert.equal(await refusedCode(stack, NODE, { cookie, origin: 'https://evil.example' }), 'E_ORIGIN');
		clusters[0].send({ type: 'close' });
		assert.equal((await clusters[0].end(30000)).reason, 'client_closed');
		// The other cluster shell's bridge dies without a word; the sweep closes it as lost.
		const hello = clusters[1].frames.find((f) => f.type === 'hello');
		const pid = Number(stackSql(stack, `SELECT pid FROM shell_sessions WHERE id = '${hello.sessionId}'`));
		assert.ok(pid > 0, 'the bridge is registered');
		process.kill(pid, 'SIGKILL');
		await waitFor('the lost close row', async () => {
			const r = await admin.get(`/api/audit?session_id=${hello.sessionId}&limit=10`);
			return r.json.items.some((x) => x.reason === 'lost');
		}, { timeoutMs: LOST_WITHIN_MS, intervalMs: 500 });
		clusters[1].terminate();

		await expectValue(prom, 'periscope_signins_total', { 'outcome=failure': 1, 'outcome=success': 3 });
		// Every configured cluster has its series from the start (at 0 when unused).
		await expectValue(prom, 'periscope_shell_opens_total', {
			'cluster=local,kind=cluster_shell': 2, 'cluster=local,kind=node_shell': 2,
			[`cluster=${EKS_NAME},kind=cluster_shell`]: 0, [`cluster=${EKS_NAME},kind=node_shell`]: 0 });
		await expectValue(prom, 'periscope_shell_closes_total', {
			'cluster=local,kind=cluster_shell,reason=client_closed': 1,
			'cluster=local,kind=cluster_shell,reason=lost': 1,
			'cluster=local,kind=node_shell,reason=client_closed': 2 });
		await expectValue(prom, 'periscope_bridges_lost_total > 0', { 'cluster=local,kind=cluster_shell': 1 });
		// The first loss is an increase, since the series was there at 0 before it.
		await expectValue(prom, '(increase(periscope_bridges_lost_total[5m]) > 0.5) * 0 + 1', { 'cluster=local,kind=cluster_shell': 1 });
		// An unknown cluster's name never becomes a label value: its cluster label is empty,
		// which Prometheus stores as no label.
		await expectValue(prom, 'periscope_shell_refusals_total', {
			'code=E_NOT_FOUND,kind=cluster_shell': 1,
			'cluster=local,code=E_AUTH,kind=cluster_shell': 1,
			'cluster=local,code=E_CAP_CLUSTER,kind=cluster_shell': 1,
			'cluster=local,code=E_CAP_USER,kind=cluster_shell': 1,
			'cluster=local,code=E_FORBIDDEN,kind=cluster_shell': 1,
			'cluster=local,code=E_ORIGIN,kind=node_shell': 1 });
		await expectValue(prom, 'periscope_shell_open_seconds_count', {
			'kind=cluster_shell,stage=first_output': 2, 'kind=cluster_shell,stage=hello': 2,
			'kind=node_shell,stage=first_output': 2, 'kind=node_shell,stage=hello': 2 });
		await expectValue(prom, 'periscope_shell_open_seconds_bucket{le="+Inf",stage="hello"}', {
			'kind=cluster_shell,le=+Inf,stage=hello': 2, 'kind=node_shell,le=+Inf,stage=hello': 2 });
		await expectValue(prom, 'sum(periscope_sessions_open)', { '': 0 });
		// Bytes: counted by the bridges at each heartbeat and before their close row, they
		// add up to exactly what the close rows report (the lost one's: its last heartbeat).
		const bytes = {};
		for (const [verb, kind] of [['cluster_shell_close', 'cluster_shell'], ['ssm_session_close', 'node_shell']]) {
			const rows = (await admin.get(`/api/audit?verb=${verb}&limit=100`)).json.items;
			assert.equal(rows.length, 2, `${verb} rows`);
			bytes[`direction=in,kind=${kind}`] = rows.reduce((a, r) => a + r.extra.bytes_in, 0);
			bytes[`direction=out,kind=${kind}`] = rows.reduce((a, r) => a + r.extra.bytes_out, 0);
		}
		for (const v of Object.values(bytes)) assert.ok(v > 0, JSON.stringify(bytes));
		await expectValue(prom, 'periscope_shell_bytes_total', bytes);
		// Upstreams: every service the run used answered, each counted by status class.
		await expectValue(prom, 'sum by (service) (periscope_upstream_requests_total{class=~"1xx|2xx"}) > bool 0', {
			'service=apiserver': 1, 'service=eks': 1, 'service=idp': 1, 'service=ssm': 1, 'service=ssmmessages': 1, 'service=sts': 1 });
		await expectValue(prom, 'periscope_upstream_requests_total{service="ssmmessages"}', { 'class=1xx,service=ssmmessages': 2 });
		const p95 = await query(prom, 'histogram_quantile(0.95, sum by (le, kind) (periscope_shell_open_seconds_bucket{stage="hello"}))');
		for (const kind of ['cluster_shell', 'node_shell']) assert.ok(p95[`kind=${kind}`] > 0, `a p95 for ${kind}: ${JSON.stringify(p95)}`);
	});
});
