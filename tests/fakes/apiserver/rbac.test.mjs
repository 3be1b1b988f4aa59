// The fake apiserver refuses what a real one refuses, shown with the real kubectl 1.32:
// impersonation authorized attribute by attribute, RBAC evaluated from the objects created
// through it (and the bootstrap roles), the escalation checks on roles and bindings, bound
// and shortened ServiceAccount tokens, kube-root-ca.crt in every namespace, the clock, and
// Secret volumes that follow their Secret like the kubelet's.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from '../../lib/bounded-test.mjs';
import assert from 'node:assert/strict';

import { startApiserver } from './server.mjs';
import {
  NO_KUBECTL, NS, call, createServiceAccount, kubeconfig, kubectl, scratch, sessionRbac, waitFor,
} from './test-helpers.mjs';

const RBAC = 'rbac.authorization.k8s.io';
const SID = '5f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f';
const OTHER_SID = '00000000-0000-4000-8000-000000000000';

async function create(api, path, body, token = api.adminToken) {
  const r = await call(api, 'POST', path, { body, token });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

const clusterRole = (name, rules) => ({ metadata: { name }, rules });
const clusterBinding = (name, role, subjects) => ({ metadata: { name }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role }, subjects });

async function tokenFor(api, sa, body = { spec: { expirationSeconds: 3600 } }) {
  const r = await call(api, 'POST', `/api/v1/namespaces/${NS}/serviceaccounts/${sa}/token`, { body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r;
}

// A kubeconfig for a ServiceAccount token that impersonates like a shell session does.
function sessionKubeconfig(api, token, { user = 'alice', group = 'periscope-tier:read', sessionId = SID } = {}) {
  return kubeconfig(api, {
    token, as: user, 'as-groups': [group],
    'as-user-extra': { 'audit.periscope.io/session-id': [sessionId], 'audit.periscope.io/actor': [user] },
  });
}

describe('impersonation and RBAC, with kubectl 1.32', { skip: NO_KUBECTL }, () => {
  let api;
  let sessionToken;
  let wildToken;
  before(async () => {
    api = await startApiserver({ readyDelayMs: 20 });
    await create(api, '/api/v1/namespaces/default/secrets', { metadata: { name: 'db-password' }, stringData: { password: 'hunter2' } });
    await create(api, '/api/v1/namespaces/default/pods', { metadata: { name: 'web' }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } });
    // The read tier may read what `view` allows, as an operator would bind it.
    await create(api, `/apis/${RBAC}/v1/clusterrolebindings`, clusterBinding('periscope-tier-read', 'view', [{ kind: 'Group', name: 'periscope-tier:read' }]));
    // A session's credential: impersonates alice, periscope-tier:read and this session only.
    await createServiceAccount(api, 'session-sa');
    await sessionRbac(api, { sa: 'session-sa', user: 'alice', group: 'periscope-tier:read', sessionId: SID });
    sessionToken = (await tokenFor(api, 'session-sa')).body.status.token;
    // The old per-tier credential: any user name.
    await createServiceAccount(api, 'wild-sa');
    await create(api, `/apis/${RBAC}/v1/clusterroles`, clusterRole('wild', [
      { apiGroups: [''], resources: ['users'], verbs: ['impersonate'] },
      { apiGroups: [''], resources: ['groups'], verbs: ['impersonate'], resourceNames: ['periscope-tier:read'] },
    ]));
    await create(api, `/apis/${RBAC}/v1/clusterrolebindings`, clusterBinding('wild', 'wild', [{ kind: 'ServiceAccount', name: 'wild-sa', namespace: NS }]));
    wildToken = (await tokenFor(api, 'wild-sa')).body.status.token;
  });
  after(() => api.close());

  test('a rule on users without resourceNames reaches system:kube-controller-manager, whose bootstrap role lists every secret', async (t) => {
    const r = await kubectl(scratch(t), kubeconfig(api, { token: wildToken }), ['--as=system:kube-controller-manager', 'get', 'secrets', '-A']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /default\s+db-password\s+Opaque\s+1/);
  });

  test('the session credential is this user, this group and these extras: kubectl get pods works, RBAC-evaluated as alice in the read tier', async (t) => {
    const dir = scratch(t);
    const r = await kubectl(dir, sessionKubeconfig(api, sessionToken), ['get', 'pods', '-n', 'default']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^web\s+1\/1\s+Running/m);
    const who = await kubectl(dir, sessionKubeconfig(api, sessionToken), ['auth', 'whoami', '-o', 'json']);
    assert.equal(who.code, 0, who.stderr);
    assert.deepEqual(JSON.parse(who.stdout).status.userInfo, {
      username: 'alice', groups: ['periscope-tier:read', 'system:authenticated'],
      extra: { 'audit.periscope.io/session-id': [SID], 'audit.periscope.io/actor': ['alice'] },
    });
    // `view` has no secrets: the impersonated user's own RBAC decides.
    const secrets = await kubectl(dir, sessionKubeconfig(api, sessionToken), ['get', 'secrets', '-n', 'default']);
    assert.notEqual(secrets.code, 0);
    assert.match(secrets.stderr, /secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" in the namespace "default"/);
  });

  test('each impersonated attribute is authorized on its own: another user, group or extra value is Forbidden', async (t) => {
    const dir = scratch(t);
    const kc = sessionKubeconfig(api, sessionToken);
    const caller = `system:serviceaccount:${NS}:session-sa`;
    // As in a shell, kubectl has discovered the API before (a denied discovery request
    // only says "Forbidden: unknown": client-go reads discovery answers raw).
    assert.equal((await kubectl(dir, kc, ['get', 'pods'])).code, 0);
    let r = await kubectl(dir, kc, ['--as=system:kube-controller-manager', 'get', 'secrets', '-A']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`users "system:kube-controller-manager" is forbidden: User "${caller}" cannot impersonate resource "users" in API group "" at the cluster scope`));
    r = await kubectl(dir, kc, ['--as=other-user', 'get', 'pods']);
    assert.match(r.stderr, new RegExp(`users "other-user" is forbidden: User "${caller}" cannot impersonate resource "users"`));
    r = await kubectl(dir, kc, ['--as-group=system:masters', 'get', 'pods']);
    assert.match(r.stderr, new RegExp(`groups "system:masters" is forbidden: User "${caller}" cannot impersonate resource "groups" in API group ""`));
    r = await kubectl(dir, sessionKubeconfig(api, sessionToken, { sessionId: OTHER_SID }), ['get', 'pods']);
    assert.match(r.stderr, new RegExp(`userextras.authentication.k8s.io "${OTHER_SID}" is forbidden: User "${caller}" cannot impersonate resource "userextras/audit.periscope.io/session-id" in API group "authentication.k8s.io" at the cluster scope`));
    r = await kubectl(dir, kc, ['--as-uid=1234', 'get', 'pods']);
    assert.match(r.stderr, /uids.authentication.k8s.io "1234" is forbidden/);
    // Used without impersonation, the token may discover the API and nothing else.
    r = await kubectl(dir, kubeconfig(api, { token: sessionToken }), ['get', 'pods']);
    assert.match(r.stderr, new RegExp(`pods is forbidden: User "${caller}" cannot list resource "pods" in API group "" in the namespace "default"`));
  });

  test('Role and RoleBinding: verbs, resourceNames and the namespace of the binding count', async (t) => {
    const api2 = await startApiserver({ readyDelayMs: 20, users: [{ username: 'bob', token: 'bob-token' }] });
    t.after(() => api2.close());
    for (const n of ['one', 'two']) await create(api2, `/api/v1/namespaces/${NS}/configmaps`, { metadata: { name: n }, data: { k: n } });
    await create(api2, `/apis/${RBAC}/v1/namespaces/${NS}/roles`, { metadata: { name: 'read-one' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: ['one'] }] });
    await create(api2, `/apis/${RBAC}/v1/namespaces/${NS}/rolebindings`, { metadata: { name: 'bob-read-one' }, roleRef: { apiGroup: RBAC, kind: 'Role', name: 'read-one' }, subjects: [{ kind: 'User', name: 'bob' }] });
    const dir = scratch(t);
    const bob = kubeconfig(api2, { token: 'bob-token' });
    let r = await kubectl(dir, bob, ['get', 'configmap', 'one', '-n', NS, '-o', 'jsonpath={.data.k}']);
    assert.deepEqual([r.code, r.stdout], [0, 'one'], r.stderr);
    r = await kubectl(dir, bob, ['get', 'configmap', 'two', '-n', NS]);
    assert.match(r.stderr, /configmaps "two" is forbidden: User "bob" cannot get resource "configmaps" in API group "" in the namespace "periscope-system"/);
    r = await kubectl(dir, bob, ['get', 'configmaps', '-n', NS]);
    assert.match(r.stderr, /cannot list resource "configmaps"/);
    r = await kubectl(dir, bob, ['get', 'configmap', 'kube-root-ca.crt', '-n', 'default']);
    assert.match(r.stderr, /cannot get resource "configmaps" in API group "" in the namespace "default"/);
    r = await kubectl(dir, bob, ['auth', 'whoami']);
    assert.equal(r.code, 0, 'discovery and self-review come from the bootstrap roles of system:authenticated');
    r = await kubectl(dir, bob, ['get', '--raw', '/metrics']);
    assert.match(r.stderr, /forbidden: User "bob" cannot get path "\/metrics"/);
  });
});

describe('escalation checks on roles and bindings, with kubectl 1.32', { skip: NO_KUBECTL }, () => {
  let api;
  const bob = (a) => kubeconfig(a, { token: 'bob-token' });
  before(async () => {
    api = await startApiserver({ readyDelayMs: 20, users: [{ username: 'bob', token: 'bob-token' }] });
    await create(api, `/apis/${RBAC}/v1/clusterroles`, clusterRole('rbac-writer', [{ apiGroups: [RBAC], resources: ['clusterroles', 'clusterrolebindings'], verbs: ['create', 'delete', 'list'] }]));
    await create(api, `/apis/${RBAC}/v1/clusterrolebindings`, clusterBinding('bob-rbac-writer', 'rbac-writer', [{ kind: 'User', name: 'bob' }]));
  });
  after(() => api.close());

  function manifest(dir, name, obj) {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(obj));
    return file;
  }
  const impersonator = (name) => ({ apiVersion: `${RBAC}/v1`, kind: 'ClusterRole', metadata: { name }, rules: [{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'], resourceNames: ['alice'] }] });

  test('a role with rights its creator does not hold is Forbidden; once held, or with escalate, it is created', async (t) => {
    const dir = scratch(t);
    let r = await kubectl(dir, bob(api), ['create', '--validate=false', '-f', manifest(dir, 'r1', impersonator('imp-alice'))]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /clusterroles.rbac.authorization.k8s.io "imp-alice" is forbidden: user "bob" \(groups=\["system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\[""\], Resources:\["users"\], ResourceNames:\["alice"\], Verbs:\["impersonate"\]\}/);
    // Holding a wider right covers the narrower one.
    await create(api, `/apis/${RBAC}/v1/clusterroles`, clusterRole('imp-any', [{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'] }]));
    await create(api, `/apis/${RBAC}/v1/clusterrolebindings`, clusterBinding('bob-imp-any', 'imp-any', [{ kind: 'User', name: 'bob' }]));
    r = await kubectl(dir, bob(api), ['create', '--validate=false', '-f', manifest(dir, 'r2', impersonator('imp-alice'))]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /clusterrole.rbac.authorization.k8s.io\/imp-alice created/);
    // A right bob does not hold at all, but `escalate` on clusterroles lets him.
    const secretsReader = { apiVersion: `${RBAC}/v1`, kind: 'ClusterRole', metadata: { name: 'secrets-reader' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] };
    r = await kubectl(dir, bob(api), ['create', '--validate=false', '-f', manifest(dir, 'r3', secretsReader)]);
    assert.match(r.stderr, /is attempting to grant RBAC permissions not currently held/);
    await create(api, `/apis/${RBAC}/v1/clusterroles`, clusterRole('escalator', [{ apiGroups: [RBAC], resources: ['clusterroles'], verbs: ['escalate'] }]));
    await create(api, `/apis/${RBAC}/v1/clusterrolebindings`, clusterBinding('bob-escalator', 'escalator', [{ kind: 'User', name: 'bob' }]));
    r = await kubectl(dir, bob(api), ['create', '--validate=false', '-f', manifest(dir, 'r4', secretsReader)]);
    assert.equal(r.code, 0, r.stderr);
  });

  test('a binding to a role with rights the binder does not hold is Forbidden unless the binder may bind that role', async (t) => {
    const dir = scratch(t);
    const toAdmin = { apiVersion: `${RBAC}/v1`, kind: 'ClusterRoleBinding', metadata: { name: 'bob-admin' }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'User', name: 'bob' }] };
    let r = await kubectl(dir, bob(api), ['create', '--validate=false', '-f', manifest(dir, 'b1', toAdmin)]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /clusterrolebindings.rbac.authorization.k8s.io "bob-admin" is forbidden: user "bob" .* is attempting to grant RBAC permissions not currently held/);
    const toMissing = { ...toAdmin, metadata: { name: 'bob-missing' }, roleRef: { ...toAdmin.roleRef, name: 'no-such-role' } };
    r = await kubectl(dir, bob(api), ['create', '--validate=false', '-f', manifest(dir, 'b2', toMissing)]);
    assert.match(r.stderr, /clusterroles.rbac.authorization.k8s.io "no-such-role" not found/);
    await create(api, `/apis/${RBAC}/v1/clusterroles`, clusterRole('binder', [{ apiGroups: [RBAC], resources: ['clusterroles'], verbs: ['bind'], resourceNames: ['view'] }]));
    await create(api, `/apis/${RBAC}/v1/clusterrolebindings`, clusterBinding('bob-binder', 'binder', [{ kind: 'User', name: 'bob' }]));
    const toView = { ...toAdmin, metadata: { name: 'bob-view' }, roleRef: { ...toAdmin.roleRef, name: 'view' } };
    r = await kubectl(dir, bob(api), ['create', '--validate=false', '-f', manifest(dir, 'b3', toView)]);
    assert.equal(r.code, 0, r.stderr);
    r = await kubectl(dir, bob(api), ['create', '--validate=false', '-f', manifest(dir, 'b4', toAdmin)]);
    assert.match(r.stderr, /is attempting to grant RBAC permissions not currently held/, 'bind on view is not bind on cluster-admin');
  });
});

describe('ServiceAccount tokens, kube-root-ca.crt and the clock, with kubectl 1.32', { skip: NO_KUBECTL }, () => {
  test('a token bound to a pod is refused (401) once the pod is deleted; one bound to a Secret once the Secret is', async (t) => {
    const api = await startApiserver({ readyDelayMs: 20 });
    t.after(() => api.close());
    await createServiceAccount(api, 'bound-sa');
    const pod = await create(api, `/api/v1/namespaces/${NS}/pods`, { metadata: { name: 'holder' }, spec: { serviceAccountName: 'bound-sa', containers: [{ name: 'c', image: 'x:1' }] } });
    const secret = await create(api, `/api/v1/namespaces/${NS}/secrets`, { metadata: { name: 'holder' }, stringData: { a: 'b' } });
    const podToken = (await tokenFor(api, 'bound-sa', { spec: { expirationSeconds: 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'holder', uid: pod.metadata.uid } } })).body.status.token;
    const secretToken = (await tokenFor(api, 'bound-sa', { spec: { expirationSeconds: 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Secret', name: 'holder', uid: secret.metadata.uid } } })).body.status.token;
    const dir = scratch(t);
    let r = await kubectl(dir, kubeconfig(api, { token: podToken }), ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.extra.authentication\\.kubernetes\\.io/pod-name}']);
    assert.deepEqual([r.code, r.stdout], [0, '["holder"]'], r.stderr);
    await call(api, 'DELETE', `/api/v1/namespaces/${NS}/pods/holder`);
    r = await kubectl(dir, kubeconfig(api, { token: podToken }), ['auth', 'whoami']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /error: You must be logged in to the server \(Unauthorized\)/);
    r = await kubectl(dir, kubeconfig(api, { token: secretToken }), ['auth', 'whoami']);
    assert.equal(r.code, 0, r.stderr);
    await call(api, 'DELETE', `/api/v1/namespaces/${NS}/secrets/holder`);
    r = await kubectl(dir, kubeconfig(api, { token: secretToken }), ['auth', 'whoami']);
    assert.match(r.stderr, /Unauthorized/);
    // A token for an object that is not a Pod or a Secret, or another pod's account, is refused.
    const other = await call(api, 'POST', `/api/v1/namespaces/${NS}/serviceaccounts/bound-sa/token`, { body: { spec: { boundObjectRef: { apiVersion: 'v1', kind: 'ConfigMap', name: 'kube-root-ca.crt' } } } });
    assert.deepEqual([other.status, other.body.message], [400, 'cannot bind token to object of type v1, Kind=ConfigMap']);
  });

  test('above the maximum, expirationSeconds is shortened with a warning, and the token dies at the shortened expiry on the fake clock', async (t) => {
    const api = await startApiserver({ readyDelayMs: 20, maxTokenExpirationSeconds: 600 });
    t.after(() => api.close());
    await createServiceAccount(api, 'short-sa');
    const dir = scratch(t);
    const body = join(dir, 'request.json');
    writeFileSync(body, JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 7200 } }));
    const r = await kubectl(dir, kubeconfig(api, { token: api.adminToken }), ['create', '--raw', `/api/v1/namespaces/${NS}/serviceaccounts/short-sa/token`, '-f', body]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Warning: requested expiration of 7200 seconds shortened to 600 seconds/);
    const answer = JSON.parse(r.stdout);
    assert.equal(answer.spec.expirationSeconds, 600);
    const date = Date.parse((await call(api, 'GET', '/version')).headers.date);
    const lifetime = (Date.parse(answer.status.expirationTimestamp) - date) / 1000;
    assert.ok(lifetime > 595 && lifetime <= 601, `expires ${lifetime} s after the apiserver's Date`);
    const token = answer.status.token;
    assert.equal((await kubectl(dir, kubeconfig(api, { token }), ['auth', 'whoami'])).code, 0);
    const moved = await call(api, 'POST', '/__test/clock', { body: { advanceSeconds: 540 } });
    assert.equal(moved.status, 200);
    assert.equal((await kubectl(dir, kubeconfig(api, { token }), ['auth', 'whoami'])).code, 0, 'still valid 60 s before its expiry');
    await call(api, 'POST', '/__test/clock', { body: { advanceSeconds: 61 } });
    const late = await kubectl(dir, kubeconfig(api, { token }), ['auth', 'whoami']);
    assert.match(late.stderr, /Unauthorized/);
  });

  test('only an administrator moves the clock, and the Date header follows it', async (t) => {
    const api = await startApiserver({ readyDelayMs: 20, users: [{ username: 'bob', token: 'bob-token' }] });
    t.after(() => api.close());
    assert.equal((await call(api, 'POST', '/__test/clock', { token: null, body: { advanceSeconds: 5 } })).status, 401);
    const bobs = await call(api, 'POST', '/__test/clock', { token: 'bob-token', body: { advanceSeconds: 5 } });
    assert.deepEqual([bobs.status, bobs.body.message], [403, 'forbidden: User "bob" cannot post path "/__test/clock"']);
    const before_ = Date.parse((await call(api, 'GET', '/version')).headers.date);
    assert.equal((await call(api, 'POST', '/__test/clock', { body: { advanceSeconds: 3600 } })).body.offsetSeconds, 3600);
    const after_ = Date.parse((await call(api, 'GET', '/version')).headers.date);
    assert.ok(after_ - before_ >= 3600 * 1000 && after_ - before_ < 3700 * 1000, `Date moved by ${(after_ - before_) / 1000} s`);
  });

  test('every namespace, a new one too, has kube-root-ca.crt with the CA of the in-cluster endpoint (not the front route\'s)', async (t) => {
    const api = await startApiserver({ readyDelayMs: 20 });
    t.after(() => api.close());
    const dir = scratch(t);
    const admin = kubeconfig(api, { token: api.adminToken });
    writeFileSync(join(dir, 'ns.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } }));
    assert.equal((await kubectl(dir, admin, ['create', '--validate=false', '-f', join(dir, 'ns.json')])).code, 0);
    const r = await kubectl(dir, admin, ['get', 'configmaps', '-A', '--field-selector', 'metadata.name=kube-root-ca.crt', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}{" "}{end}']);
    assert.equal(r.stdout.trim(), 'default kube-node-lease kube-public kube-system periscope-system team-a');
    const ca = await kubectl(dir, admin, ['get', 'configmap', 'kube-root-ca.crt', '-n', 'team-a', '-o', 'jsonpath={.data.ca\\.crt}']);
    assert.equal(ca.stdout, api.clusterCaPem);
    assert.notEqual(api.clusterCaPem, api.caPem);
    const inCluster = await kubectl(dir, kubeconfig(api, { token: api.adminToken }, { server: api.clusterUrl, caPem: ca.stdout }), ['get', 'namespace', 'team-a', '-o', 'name']);
    assert.deepEqual([inCluster.code, inCluster.stdout.trim()], [0, 'namespace/team-a'], inCluster.stderr);
    const wrongCa = await kubectl(dir, kubeconfig(api, { token: api.adminToken }, { server: api.clusterUrl, caPem: api.caPem }), ['get', 'namespace', 'team-a']);
    assert.match(wrongCa.stderr, /certificate signed by unknown authority/);
  });
});

describe('pod volumes, like the kubelet\'s', () => {
  test('a projected Secret and ConfigMap volume waits for the Secret, then follows its updates', async (t) => {
    const api = await startApiserver({ readyDelayMs: 20, volumeSyncMs: 100 });
    t.after(() => api.close());
    const spec = {
      metadata: { name: 'vol' },
      spec: {
        containers: [{ name: 'c', image: 'x:1', volumeMounts: [{ name: 'v', mountPath: '/etc/periscope', readOnly: true }] }],
        volumes: [{ name: 'v', projected: { sources: [{ secret: { name: 'vol', items: [{ key: 'kubeconfig', path: 'kubeconfig' }] } }, { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }] } }],
      },
    };
    const waitingFor = async (pod) => (await call(api, 'GET', `/api/v1/namespaces/${NS}/pods/${pod}`)).body.status.containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerCreating';
    const phase = async (pod) => (await call(api, 'GET', `/api/v1/namespaces/${NS}/pods/${pod}`)).body.status.phase;
    // Two pods, each waiting for its own Secret.
    await create(api, `/api/v1/namespaces/${NS}/pods`, spec);
    const other = structuredClone(spec);
    other.metadata.name = 'vol2';
    other.spec.volumes[0].projected.sources[0].secret.name = 'vol2';
    await create(api, `/api/v1/namespaces/${NS}/pods`, other);
    await waitFor(async () => (await waitingFor('vol')) && waitingFor('vol2'), 5000, 'both pods in ContainerCreating');
    const secret = await create(api, `/api/v1/namespaces/${NS}/secrets`, { metadata: { name: 'vol' }, stringData: { kubeconfig: 'first' } });
    await waitFor(async () => (await phase('vol')) === 'Running', 5000, 'Running');
    assert.equal(await phase('vol2'), 'Pending', 'the other pod still waits for its Secret');
    await create(api, `/api/v1/namespaces/${NS}/secrets`, { metadata: { name: 'vol2' }, stringData: { kubeconfig: 'x' } });
    await waitFor(async () => (await phase('vol2')) === 'Running', 5000, 'the other pod Running');
    const read = (file) => readFileSync(api.podPath(NS, 'vol', `/etc/periscope/${file}`), 'utf8');
    assert.equal(read('kubeconfig'), 'first');
    assert.equal(read('ca.crt'), api.clusterCaPem);
    const updated = { ...secret, data: { kubeconfig: Buffer.from('second').toString('base64') } };
    assert.equal((await call(api, 'PUT', `/api/v1/namespaces/${NS}/secrets/vol`, { body: updated })).status, 200);
    await waitFor(() => read('kubeconfig') === 'second', 5000, 'the updated Secret in the pod');
  });
});
