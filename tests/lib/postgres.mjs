// A throwaway PostgreSQL 15 for a test file (tests/lib/pg-cluster.sh does the work, shared
// with the C unit tests): initdb into a fresh temporary directory, a unix socket there only,
// run as an unprivileged user (postgres refuses root). `start` resolves to
// { dir, url, restart, down, up, stop }; url is a libpq connection string, for `database.url`. Without the
// server binaries it resolves to null (the caller skips), except under CI=true, where it
// throws: CI must never skip the PostgreSQL tests.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { within } from './deadline.mjs';

const run = promisify(execFile);
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pg-cluster.sh');
const START_DEADLINE_MS = 120000;

export async function startPostgres() {
	let stdout;
	try {
		({ stdout } = await within('a PostgreSQL test cluster to start (tests/lib/pg-cluster.sh start)',
			run(SCRIPT, ['start']), START_DEADLINE_MS));
	} catch (e) {
		if (e.code === 77 && process.env.CI !== 'true') return null;
		throw new Error(`cannot start a PostgreSQL test cluster: ${e.stderr || e.message}`);
	}
	const [dir, url] = stdout.trim().split('\n');
	let stopped = false;
	return {
		dir,
		url,
		// Stops the server (fast shutdown: every connection is cut) and starts it again on the
		// same socket, as a restart or a failover looks to its clients.
		async restart() {
			await within(`the PostgreSQL test cluster in ${dir} to restart`, run(SCRIPT, ['restart', dir]), START_DEADLINE_MS);
		},
		// Stops the server and leaves it down (an outage) until up().
		async down() {
			await within(`the PostgreSQL test cluster in ${dir} to stop`, run(SCRIPT, ['down', dir]), START_DEADLINE_MS);
		},
		async up() {
			await within(`the PostgreSQL test cluster in ${dir} to start again`, run(SCRIPT, ['up', dir]), START_DEADLINE_MS);
		},
		async stop() {
			if (stopped) return;
			stopped = true;
			await within(`the PostgreSQL test cluster in ${dir} to stop`, run(SCRIPT, ['stop', dir]), START_DEADLINE_MS);
		},
	};
}
