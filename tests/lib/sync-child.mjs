// Synchronous children for tests, each bounded. A synchronous child blocks the test
// process's event loop, and with it every deadline bounded-test.mjs sets and the timer of
// hang-dump.mjs: one that never exits would hold its file, silently, to the runner's
// timeout. With a bound it fails instead, naming the command (execFileSync's error says
// "spawnSync <file> ETIMEDOUT"). A caller that expects a longer run passes its own timeout.
import { execFileSync, spawnSync } from 'node:child_process';

export const SYNC_CHILD_TIMEOUT_MS = 60000;

// execFileSync with a bound: throws on a non-zero exit, a signal or the timeout.
export function execBounded(file, args = [], opts = {}) {
	return execFileSync(file, args, { timeout: SYNC_CHILD_TIMEOUT_MS, ...opts });
}

// spawnSync with a bound: never throws; a timeout shows as r.error (ETIMEDOUT) and r.signal.
export function spawnBounded(file, args = [], opts = {}) {
	return spawnSync(file, args, { timeout: SYNC_CHILD_TIMEOUT_MS, ...opts });
}
