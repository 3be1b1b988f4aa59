// The RBAC manifest operators apply from docs/cluster-shell.md §3 is what the test stack
// gives periscope (tests/lib/cluster-rbac.mjs), so every stack test shows that the documented
// rights are enough. Applied here with the real kubectl 1.32, as an operator would.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from '../lib/bounded-test.mjs';

import { startApiserver } from '../fakes/apiserver/server.mjs';
import { findKubectl } from '../fakes/apiserver/kubectl.mjs';
import { provisionerRbac, tierBindings } from '../lib/cluster-rbac.mjs';
import { ROOT } from '../lib/stack.mjs';

const KUBECTL = findKubectl();

// The first yaml block of the section headed `heading`.
function manifestOf(doc, heading) {
	const section = doc.slice(doc.indexOf(heading));
	const m = /```yaml\n([\s\S]*?)```/.exec(section);
	assert.ok(m, `a yaml block under ${heading}`);
	return m[1];
}

describe('docs/cluster-shell.md §3', { skip: KUBECTL ? false : 'kubectl.1.32 not found' }, () => {
	it('creates, with kubectl, exactly the objects the test stack gives periscope', async (t) => {
		const api = await startApiserver({ readyDelayMs: 20, shellNamespace: 'default' });
		t.after(() => api.close());
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-rbac-docs-'));
		t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
		const doc = fs.readFileSync(path.join(ROOT, 'docs/cluster-shell.md'), 'utf8');
		fs.writeFileSync(path.join(dir, 'rbac.yaml'), manifestOf(doc, '## 3. RBAC objects per cluster'));
		fs.writeFileSync(path.join(dir, 'kubeconfig'), JSON.stringify({
			apiVersion: 'v1', kind: 'Config',
			clusters: [{ name: 'c', cluster: { server: api.url, 'certificate-authority-data': Buffer.from(api.caPem).toString('base64') } }],
			users: [{ name: 'u', user: { token: api.adminToken } }],
			contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
			'current-context': 'c',
		}));
		const r = await new Promise((resolve) => {
			execFile(KUBECTL, ['--kubeconfig', path.join(dir, 'kubeconfig'), '--cache-dir', path.join(dir, 'cache'), 'create', '--validate=false', '-f', path.join(dir, 'rbac.yaml')],
				{ env: { PATH: process.env.PATH, HOME: dir }, encoding: 'utf8' }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
		});
		assert.equal(r.code, 0, r.stderr);
		assert.deepEqual(r.stdout.trim().split('\n'), [
			'namespace/periscope-system created',
			'role.rbac.authorization.k8s.io/periscope-shell-provisioner created',
			'rolebinding.rbac.authorization.k8s.io/periscope-shell-provisioner created',
			'clusterrole.rbac.authorization.k8s.io/periscope-shell-provisioner created',
			'clusterrolebinding.rbac.authorization.k8s.io/periscope-shell-provisioner created',
			'clusterrolebinding.rbac.authorization.k8s.io/periscope-tier-admin created',
		]);
		const resourceOf = { Role: 'roles', RoleBinding: 'rolebindings', ClusterRole: 'clusterroles', ClusterRoleBinding: 'clusterrolebindings' };
		for (const want of [...provisionerRbac({ namespace: 'periscope-system', tiers: ['admin'] }), ...tierBindings({ admin: 'cluster-admin' })]) {
			const got = api.state.store.get(resourceOf[want.kind], want.metadata.namespace, want.metadata.name);
			for (const field of ['rules', 'roleRef', 'subjects']) {
				assert.deepEqual(got[field], want[field], `${want.kind} ${want.metadata.name}: ${field}`);
			}
		}
	});
});
