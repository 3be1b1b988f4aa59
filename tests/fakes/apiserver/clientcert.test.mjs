// The apiserver fake's x509 authenticator, checked with the real kubectl: a client
// certificate from the cluster's client CA names the user (CN) and groups (O); one from
// another CA, or without clientAuth, authenticates nobody.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from '../../lib/bounded-test.mjs';
import { promisify } from 'node:util';

import { findKubectl } from './kubectl.mjs';
import { startApiserver } from './server.mjs';
import { makeClientCa } from './tls.mjs';

const run = promisify(execFile);

describe('apiserver fake: client certificates', () => {
	let api;
	let dir;
	let other;
	before(async () => {
		api = await startApiserver({ readyDelayMs: 50 });
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-clientcert-'));
		other = makeClientCa();
	});
	after(async () => {
		await api?.close();
		if (dir) fs.rmSync(dir, { recursive: true, force: true });
		if (other) fs.rmSync(other.dir, { recursive: true, force: true });
	});

	const kubectl = async (cert, args) => {
		const kc = path.join(dir, `kc-${Math.random().toString(36).slice(2)}.yaml`);
		fs.writeFileSync(kc, JSON.stringify({
			apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
			clusters: [{ name: 'c', cluster: { server: api.url, 'certificate-authority-data': Buffer.from(api.caPem).toString('base64') } }],
			users: [{ name: 'u', user: { 'client-certificate-data': Buffer.from(cert.certPem).toString('base64'), 'client-key-data': Buffer.from(cert.keyPem).toString('base64') } }],
			contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
		}));
		return run(findKubectl(), ['--kubeconfig', kc, ...args], { env: { PATH: process.env.PATH, HOME: dir } });
	};

	it('names the user and groups of a certificate the client CA signed', async () => {
		const { stdout } = await kubectl(api.issueClientCert({ cn: 'jane', groups: ['ops', 'dev'] }), ['auth', 'whoami', '-o', 'json']);
		const u = JSON.parse(stdout).status.userInfo;
		assert.equal(u.username, 'jane');
		assert.deepEqual(u.groups.sort(), ['dev', 'ops', 'system:authenticated']);
	});

	it('refuses a certificate from another CA', async () => {
		await assert.rejects(kubectl(other.issue({ cn: 'system:admin', groups: ['system:masters'] }), ['get', 'nodes']),
			/Unauthorized|provide credentials/);
	});
});
