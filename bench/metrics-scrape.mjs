// Benchmark: the cost of one Prometheus scrape of GET /metrics, through the web server and
// periscope.fcgi as Prometheus does it, with 100 live terminals in the registry and a
// million audit rows, next to the same scrape on the fresh database, in the same run.
// Prints p50 / p90 / p99 / mean milliseconds per scrape and the body's size.
//
//   node bench/metrics-scrape.mjs [rows=1000000] [sessions=100] [scrapes=200]
//
// The rows go in through SQL (the sqlite3 program), not the product's writer: the audit
// triggers (the budget's usage row and the metrics counters) run for each as they would;
// the hash chain is beside the point here. The rows are younger than retentionDays (30), 2.5 s
// apart, so that the maintenance thread's retention does not delete them mid-run. The registry rows name this process (with its
// real start time and the host's boot id, heartbeating now) so the maintenance sweep
// keeps them as live. Not a test: nothing here passes or fails.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

import { startStack } from '../tests/lib/stack.mjs';

const rows = Number(process.argv[2] || 1000000);
const sessions = Number(process.argv[3] || 100);
const scrapes = Number(process.argv[4] || 200);

function sqlite(db, sql) {
	return execFileSync('sqlite3', [db], { input: sql, encoding: 'utf8', maxBuffer: 1 << 26 }).trim();
}

async function measure(url) {
	const times = [];
	let bytes = 0;
	// Warm up; the first may fail on a kept-alive connection the web server closed while
	// the rows went in (fetch then opens a new one).
	for (let i = 0; i < 10; i++) await fetch(url).then((r) => r.text(), () => null);
	for (let i = 0; i < scrapes; i++) {
		const t0 = process.hrtime.bigint();
		const res = await fetch(url);
		const body = await res.text();
		times.push(Number(process.hrtime.bigint() - t0) / 1e6);
		if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${body}`);
		bytes = body.length;
	}
	times.sort((a, b) => a - b);
	const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
	return { p50: at(0.5), p90: at(0.9), p99: at(0.99), mean: times.reduce((a, b) => a + b, 0) / times.length, bytes };
}

const fmt = (r) => `p50 ${r.p50.toFixed(2)} ms, p90 ${r.p90.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, mean ${r.mean.toFixed(2)} ms, body ${r.bytes} bytes`;

const stack = await startStack();
try {
	const db = stack.config.audit.dbPath;
	const empty = await measure(stack.metricsUrl);
	console.log(`fresh database:            ${fmt(empty)}`);

	const t0 = Date.now();
	sqlite(db, `PRAGMA busy_timeout = 10000;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows})
INSERT INTO audit_events (ts_unix_nano, actor_sub, verb, outcome, cluster, reason, extra)
SELECT ${Date.now()}000000 - i * 2500000000, 'user-' || (i % 50),
       CASE i % 4 WHEN 0 THEN 'login' WHEN 1 THEN 'cluster_shell_open'
                  WHEN 2 THEN 'cluster_shell_close' ELSE 'ssm_session_open' END,
       'success', 'local', CASE i % 4 WHEN 2 THEN 'client_closed' END,
       CASE i % 4 WHEN 2 THEN '{"bytes_in":120,"bytes_out":4096}' END
  FROM n;
COMMIT;`);
	const filled = Date.now() - t0;
	const stat = fs.readFileSync('/proc/self/stat', 'utf8');
	const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
	const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
	const now = Date.now();
	sqlite(db, `PRAGMA busy_timeout = 10000;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${sessions})
INSERT INTO shell_sessions (id, kind, actor_sub, cluster, pid, pid_start_ticks, started_at_ms, boot_id, heartbeat_at_ms)
SELECT 'bench-' || i, CASE i % 2 WHEN 0 THEN 'cluster_shell' ELSE 'node_shell' END, 'user-' || i,
       CASE i % 3 WHEN 0 THEN 'prod-eu' ELSE 'local' END, ${process.pid}, ${startTicks}, ${now}, '${bootId}', ${now}
  FROM n;
COMMIT;`);
	const counted = sqlite(db, 'SELECT rows FROM audit_usage; SELECT count(*) FROM shell_sessions;').split('\n');
	console.log(`filled ${counted[0]} audit rows in ${(filled / 1000).toFixed(1)} s; ${counted[1]} live sessions in the registry`);
	// A heartbeat now and then, as the bridges would, so the sweep keeps the rows.
	const beat = setInterval(() => sqlite(db, `PRAGMA busy_timeout = 10000; UPDATE shell_sessions SET heartbeat_at_ms = ${Date.now()} WHERE id LIKE 'bench-%';`), 5000);
	try {
		const full = await measure(stack.metricsUrl);
		const body = await (await fetch(stack.metricsUrl)).text();
		const open = body.split('\n').filter((l) => l.startsWith('periscope_sessions_open{')).reduce((a, l) => a + Number(l.split(' ').pop()), 0);
		console.log(`${rows} rows, ${open} sessions open: ${fmt(full)}`);
		console.log(`ratio p50 full/fresh: ${(full.p50 / empty.p50).toFixed(2)}`);
	} finally {
		clearInterval(beat);
	}
} finally {
	await stack.stop();
}
