// periscope-audit (audit/) on a test stack's configuration, as an operator runs it:
// `periscope-audit --config periscope.yaml verify|retention|...`.
//
// Asynchronous, unlike the bounded synchronous children of sync-child.mjs: a verify or a
// retention pass over 10,000 rows takes seconds on a loaded machine, and a test that held
// its event loop that long would send its next request down a kept-alive connection the
// web server has closed meanwhile (tests/lib/deadline.mjs, fetchWithin).
import { execFile } from 'node:child_process';
import * as path from 'node:path';

import { BUILD_DIR } from './stack.mjs';

export const AUDIT_CLI_TIMEOUT_MS = 60000;

// { status, stdout, stderr, json }: status is the exit status (null when killed, with
// signal); json the parsed stdout, when there is any. Rejects only when it could not run
// or ran past timeoutMs (named).
export function auditCli(stack, args, { timeoutMs = AUDIT_CLI_TIMEOUT_MS } = {}) {
	const program = path.join(BUILD_DIR, 'audit/periscope-audit');
	return new Promise((resolve, reject) => {
		execFile(program, ['--config', stack.configPath, ...args], {
			encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: timeoutMs, maxBuffer: 64 << 20,
		}, (error, stdout, stderr) => {
			if (error?.killed) return reject(new Error(`periscope-audit ${args.join(' ')} ran past ${timeoutMs} ms: ${stderr}`));
			if (error && typeof error.code !== 'number') return reject(error);
			resolve({ status: error ? error.code : 0, signal: error?.signal ?? null, stdout, stderr,
				json: stdout.trim() ? JSON.parse(stdout) : undefined });
		});
	});
}
