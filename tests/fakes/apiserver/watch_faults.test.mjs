// The apiserver fake's watch faults, read by the real kubectl: an ERROR event with 410 is
// decoded as the apiserver's Status (kubectl get --watch prints it: Failure, Expired, "too
// old resource version") and ends the watch; a 500 on the watch is an error.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from '../../lib/bounded-test.mjs';
import { promisify } from 'node:util';

import { findKubectl } from './kubectl.mjs';
import { startApiserver } from './server.mjs';

const run = promisify(execFile);

describe('apiserver fake: watch faults seen by kubectl', () => {
	let api;
	let dir;
	let kc;
	before(async () => {
		api = await startApiserver({ readyDelayMs: 50 });
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-watchfaults-'));
		kc = path.join(dir, 'kubeconfig');
		fs.writeFileSync(kc, JSON.stringify({
			apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
			clusters: [{ name: 'c', cluster: { server: api.url, 'certificate-authority-data': Buffer.from(api.caPem).toString('base64') } }],
			users: [{ name: 'u', user: { token: api.adminToken } }],
			contexts: [{ name: 'c', context: { cluster: 'c', user: 'u', namespace: 'default' } }],
		}));
	});
	after(async () => {
		await api?.close();
		if (dir) fs.rmSync(dir, { recursive: true, force: true });
	});

	const watch = () => run(findKubectl(), ['--kubeconfig', kc, 'get', 'configmaps', '--watch-only', '--request-timeout=20s'],
		{ env: { PATH: process.env.PATH, HOME: dir }, timeout: 30000 });

	it('an ERROR event with 410 Gone', async () => {
		api.addWatchFaults('configmaps', ['gone']);
		const { stdout } = await watch();
		assert.match(stdout, /^Failure\s+Expired\s+too old resource version: \d+$/m);
	});

	it('a 500 on the watch', async () => {
		api.addWatchFaults('configmaps', ['500']);
		await assert.rejects(watch(), (e) => /watch fault 500|InternalError|internal error/i.test(e.stderr));
	});
});
