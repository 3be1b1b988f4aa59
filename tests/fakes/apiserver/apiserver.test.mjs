// The fake apiserver checked against real clients: kubectl 1.32 (REST, auth whoami, exec
// with and without a tty, run under a real pty) and the ws WebSocket client (protocol
// negotiation, v4, the v5 close signal), plus the REST semantics periscope relies on.
import { execFile, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from '../../lib/bounded-test.mjs';
import assert from 'node:assert/strict';
import WebSocket from 'ws';

import { startApiserver } from './server.mjs';
import { V4, V5 } from './exec.mjs';
import {
  BUILD_DIR, KUBECTL, NO_KUBECTL, NS, call, createServiceAccount, kubeconfig, kubectl, kubectlInPty, scratch, sessionRbac, waitFor,
} from './test-helpers.mjs';
import { within } from '../../lib/deadline.mjs';

const NO_WRAPPER = existsSync(join(BUILD_DIR, 'shell/periscope-audit-exec')) ? false : `no ${BUILD_DIR}/shell/periscope-audit-exec (build first)`;

// A pod like the shell's: with `secret`, one projected volume at /etc/periscope holding the
// Secret's kubeconfig beside the cluster's CA from kube-root-ca.crt.
const podSpec = (name, { image = 'periscope-shell:dev', env = [], secret, serviceAccount = 'default' } = {}) => ({
  metadata: { name, labels: { 'app.kubernetes.io/name': 'periscope-shell', 'periscope.io/session-id': name } },
  spec: {
    restartPolicy: 'Never', serviceAccountName: serviceAccount, automountServiceAccountToken: false,
    containers: [{
      name: 'shell', image, stdin: true, tty: true, env,
      volumeMounts: secret ? [{ name: 'kubeconfig', mountPath: '/etc/periscope', readOnly: true }] : [],
    }],
    volumes: secret ? [{
      name: 'kubeconfig',
      projected: {
        defaultMode: 0o440,
        sources: [
          { secret: { name: secret, items: [{ key: 'kubeconfig', path: 'kubeconfig' }] } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        ],
      },
    }] : [],
  },
});

const podPhase = async (api, name) => (await call(api, 'GET', `/api/v1/namespaces/${NS}/pods/${name}`)).body.status.phase;

async function createRunningPod(api, name, opts) {
  const r = await call(api, 'POST', `/api/v1/namespaces/${NS}/pods`, { body: podSpec(name, opts) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await waitFor(async () => (await podPhase(api, name)) === 'Running', 10000, `${name} Running`);
  return r.body;
}

// Opens an exec WebSocket the way a client library does; collects frames per channel.
function openExec(api, path, protocols) {
  const ws = new WebSocket(api.url.replace('https', 'wss') + path, protocols, { ca: api.caPem, headers: { Authorization: `Bearer ${api.adminToken}` } });
  const channels = { 1: '', 2: '', 3: '' };
  let closeCode = null;
  ws.on('message', (d) => { if (d.length > 1) channels[d[0]] = (channels[d[0]] ?? '') + d.subarray(1).toString('utf8'); });
  const closed = new Promise((r) => ws.on('close', (code) => { closeCode = code; r(code); }));
  const opened = new Promise((ok, fail) => { ws.on('open', ok); ws.on('error', fail); ws.on('unexpected-response', (req, res) => fail(new Error(`HTTP ${res.statusCode}`))); });
  return { ws, channels, closed, opened, closeCode: () => closeCode };
}

describe('REST semantics', () => {
  let api;
  before(async () => { api = await startApiserver({ readyDelayMs: 50 }); });
  after(() => api.close());

  test('create, get, conflict, not found, delete, with real Status bodies', async () => {
    const secret = { metadata: { name: 's1', labels: { 'periscope.io/session-id': 'a' } }, stringData: { kubeconfig: 'x: 1\n' } };
    const created = await call(api, 'POST', `/api/v1/namespaces/${NS}/secrets`, { body: secret });
    assert.equal(created.status, 201);
    assert.equal(created.body.data.kubeconfig, Buffer.from('x: 1\n').toString('base64'));
    assert.ok(created.body.metadata.uid);
    const again = await call(api, 'POST', `/api/v1/namespaces/${NS}/secrets`, { body: secret });
    assert.equal(again.status, 409);
    assert.deepEqual([again.body.kind, again.body.reason, again.body.message], ['Status', 'AlreadyExists', 'secrets "s1" already exists']);
    assert.equal((await call(api, 'DELETE', `/api/v1/namespaces/${NS}/secrets/s1`)).body.status, 'Success');
    const gone = await call(api, 'GET', `/api/v1/namespaces/${NS}/secrets/s1`);
    assert.equal(gone.status, 404);
    assert.deepEqual([gone.body.reason, gone.body.message, gone.body.details.kind], ['NotFound', 'secrets "s1" not found', 'secrets']);
  });

  test('invalid objects get 422 with causes; unknown tokens get 401', async () => {
    const bad = await call(api, 'POST', `/api/v1/namespaces/${NS}/pods`, { body: { metadata: { name: 'p' }, spec: { containers: [] } } });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.reason, 'Invalid');
    assert.equal(bad.body.details.causes[0].field, 'spec.containers');
    const short = await call(api, 'POST', `/api/v1/namespaces/${NS}/serviceaccounts/default/token`, { body: { spec: { expirationSeconds: 300 } } });
    assert.equal(short.status, 422);
    assert.match(short.body.message, /may not specify a duration less than 10 minutes/);
    const anon = await call(api, 'GET', '/api/v1/namespaces', { token: 'made-up' });
    assert.deepEqual([anon.status, anon.body.reason], [401, 'Unauthorized']);
    const noSa = await call(api, 'POST', `/api/v1/namespaces/${NS}/serviceaccounts/nobody/token`, { body: { spec: {} } });
    assert.equal(noSa.status, 404);
  });

  test('labelSelector narrows list and deletecollection', async () => {
    for (const [name, sid] of [['a1', 'one'], ['a2', 'one'], ['b1', 'two']]) {
      assert.equal((await call(api, 'POST', `/api/v1/namespaces/${NS}/configmaps`, { body: { metadata: { name, labels: { sid } }, data: {} } })).status, 201);
    }
    const one = await call(api, 'GET', `/api/v1/namespaces/${NS}/configmaps?labelSelector=sid%3Done`);
    assert.deepEqual(one.body.items.map((i) => i.metadata.name), ['a1', 'a2']);
    assert.equal(one.body.kind, 'ConfigMapList');
    await call(api, 'DELETE', `/api/v1/namespaces/${NS}/configmaps?labelSelector=sid%20in%20(one)`);
    const left = await call(api, 'GET', `/api/v1/namespaces/${NS}/configmaps?labelSelector=sid`);
    assert.deepEqual(left.body.items.map((i) => i.metadata.name), ['b1']);
  });

  test('a dry-run deletion answers as the deletion would and removes nothing; an unknown dryRun value is 422', async () => {
    const secret = { metadata: { name: 'dry1' }, stringData: { k: 'v' } };
    assert.equal((await call(api, 'POST', `/api/v1/namespaces/${NS}/secrets`, { body: secret })).status, 201);
    const viaBody = await call(api, 'DELETE', `/api/v1/namespaces/${NS}/secrets/dry1`, { body: { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['All'] } });
    assert.deepEqual([viaBody.status, viaBody.body.status, viaBody.body.details.name], [200, 'Success', 'dry1']);
    const viaQuery = await call(api, 'DELETE', `/api/v1/namespaces/${NS}/secrets/dry1?dryRun=All`);
    assert.deepEqual([viaQuery.status, viaQuery.body.status], [200, 'Success']);
    const listed = await call(api, 'DELETE', `/api/v1/namespaces/${NS}/secrets?dryRun=All`);
    assert.ok(listed.body.items.some((i) => i.metadata.name === 'dry1'), 'the collection shows what it would delete');
    assert.equal((await call(api, 'GET', `/api/v1/namespaces/${NS}/secrets/dry1`)).status, 200, 'still there');
    const bad = await call(api, 'DELETE', `/api/v1/namespaces/${NS}/secrets/dry1`, { body: { dryRun: ['Sure'] } });
    assert.deepEqual([bad.status, bad.body.reason, bad.body.message], [422, 'Invalid', 'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Sure"}: supported values: "All"']);
    assert.equal((await call(api, 'GET', `/api/v1/namespaces/${NS}/secrets/dry1`)).status, 200, 'a refused deletion removes nothing');
    assert.equal((await call(api, 'DELETE', `/api/v1/namespaces/${NS}/secrets/dry1`)).body.status, 'Success');
    assert.equal((await call(api, 'GET', `/api/v1/namespaces/${NS}/secrets/dry1`)).status, 404);
  });

  // Accept as client-go's metadata client sends it (k8s.io/client-go/metadata, JSON clause)
  // and as the sweep of lib/k8s/cluster_shell_sweep.c does (a plain JSON fallback after it).
  test('a list asked as PartialObjectMetadataList is its items\' metadata, typed meta.k8s.io; a single object is 406', async () => {
    const META_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json';
    const created = await call(api, 'POST', `/api/v1/namespaces/${NS}/secrets`, { body: { metadata: { name: 'pm1', labels: { pm: 'yes' } }, stringData: { token: 'not-in-metadata' } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const list = await call(api, 'GET', `/api/v1/namespaces/${NS}/secrets?labelSelector=pm%3Dyes`, { headers: { Accept: META_LIST } });
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.equal(list.body.kind, 'PartialObjectMetadataList');
    assert.equal(list.body.apiVersion, 'meta.k8s.io/v1');
    assert.match(list.body.metadata.resourceVersion, /^\d+$/);
    assert.equal(list.body.items.length, 1);
    const [item] = list.body.items;
    assert.deepEqual(Object.keys(item).sort(), ['apiVersion', 'kind', 'metadata']);
    assert.deepEqual([item.kind, item.apiVersion], ['PartialObjectMetadata', 'meta.k8s.io/v1']);
    assert.deepEqual([item.metadata.name, item.metadata.namespace, item.metadata.labels], ['pm1', NS, { pm: 'yes' }]);
    assert.equal(item.metadata.uid, created.body.metadata.uid);
    assert.ok(!JSON.stringify(list.body).includes('not-in-metadata'), 'no data, only metadata');
    // One object asked as a list, a list asked as one object: NotAcceptable.
    const one = await call(api, 'GET', `/api/v1/namespaces/${NS}/secrets/pm1`, { headers: { Accept: META_LIST } });
    assert.deepEqual([one.status, one.body.reason, one.body.message],
      [406, 'NotAcceptable', 'you requested PartialObjectMetadataList, but the requested object is not a list (*core.Secret)']);
    const asOne = await call(api, 'GET', `/api/v1/namespaces/${NS}/secrets`, { headers: { Accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1' } });
    assert.deepEqual([asOne.status, asOne.body.reason, asOne.body.message],
      [406, 'NotAcceptable', 'you requested PartialObjectMetadata, but the requested object is a list (*core.SecretList)']);
    const single = await call(api, 'GET', `/api/v1/namespaces/${NS}/secrets/pm1`, { headers: { Accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1' } });
    assert.deepEqual([single.status, single.body.kind, single.body.apiVersion, single.body.metadata.name], [200, 'PartialObjectMetadata', 'meta.k8s.io/v1beta1', 'pm1']);
    assert.equal(single.body.data, undefined);
    // A conversion the endpoint does not offer is passed over: the next clause's plain list,
    // and with no clause left, NotAcceptable (negotiation/negotiate.go NegotiateOutputMediaType).
    const plain = await call(api, 'GET', `/api/v1/namespaces/${NS}/secrets?labelSelector=pm%3Dyes`, { headers: { Accept: 'application/json;as=PartialObjectMetadataList;g=apps;v=v1, application/json' } });
    assert.deepEqual([plain.status, plain.body.kind, plain.body.items[0].data.token], [200, 'SecretList', Buffer.from('not-in-metadata').toString('base64')]);
    const none = await call(api, 'GET', `/api/v1/namespaces/${NS}/secrets?labelSelector=pm%3Dyes`, { headers: { Accept: 'application/json;as=PartialObjectMetadataList;g=apps;v=v1' } });
    assert.deepEqual([none.status, none.body.reason, none.body.message],
      [406, 'NotAcceptable', 'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf']);
    assert.ok(!JSON.stringify(none.body).includes('not-in-metadata'), 'a refused list carries no object');
  });

  // The Table goes through the same negotiation (negotiation/negotiate.go; handlers/response.go
  // asTable: typed as the meta.k8s.io version asked for, its rows' metadata too).
  test('a Table is served for meta.k8s.io v1beta1 typed so; a Table clause of another group is passed over', async () => {
    const created = await call(api, 'POST', `/api/v1/namespaces/${NS}/configmaps`, { body: { metadata: { name: 'tb1', labels: { tb: 'yes' } }, data: { k: 'v' } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const beta = await call(api, 'GET', `/api/v1/namespaces/${NS}/configmaps?labelSelector=tb%3Dyes`, { headers: { Accept: 'application/json;as=Table;g=meta.k8s.io;v=v1beta1' } });
    assert.deepEqual([beta.status, beta.body.kind, beta.body.apiVersion, beta.body.rows.length, beta.body.rows[0].object.apiVersion, beta.body.rows[0].cells[0]],
      [200, 'Table', 'meta.k8s.io/v1beta1', 1, 'meta.k8s.io/v1beta1', 'tb1']);
    const other = await call(api, 'GET', `/api/v1/namespaces/${NS}/configmaps/tb1`, { headers: { Accept: 'application/json;as=Table;g=apps;v=v1, application/json' } });
    assert.deepEqual([other.status, other.body.kind, other.body.data], [200, 'ConfigMap', { k: 'v' }]);
  });

  test('a pod goes Pending -> Running with Ready, and its watch shows both', async () => {
    const events = [];
    const req = https.request(`${api.url}/api/v1/namespaces/${NS}/pods?watch=true&fieldSelector=metadata.name%3Dw1&timeoutSeconds=10`,
      { ca: api.caPem, headers: { Authorization: `Bearer ${api.adminToken}` } }, (res) => {
        let buf = '';
        res.on('data', (c) => {
          buf += c;
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            events.push(JSON.parse(buf.slice(0, i)));
            buf = buf.slice(i + 1);
          }
        });
      });
    req.end();
    assert.equal((await call(api, 'POST', `/api/v1/namespaces/${NS}/pods`, { body: podSpec('w1') })).status, 201);
    await waitFor(() => events.some((e) => e.object.status.phase === 'Running'), 10000, 'Running event');
    req.destroy();
    assert.equal(events[0].type, 'ADDED');
    assert.equal(events[0].object.status.phase, 'Pending');
    const running = events.find((e) => e.object.status.phase === 'Running').object;
    assert.equal(running.status.conditions.find((c) => c.type === 'Ready').status, 'True');
    assert.equal(running.status.containerStatuses[0].ready, true);
  });

  test('an image named never-ready stays Pending with ImagePullBackOff', async () => {
    assert.equal((await call(api, 'POST', `/api/v1/namespaces/${NS}/pods`, { body: podSpec('nr1', { image: 'example/never-ready:1' }) })).status, 201);
    const pod = await waitFor(async () => {
      const p = (await call(api, 'GET', `/api/v1/namespaces/${NS}/pods/nr1`)).body;
      return p.status.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff' && p;
    }, 10000, 'ImagePullBackOff');
    assert.equal(pod.status.phase, 'Pending');
  });

  test('exec without an upgrade is refused as the apiserver does', async () => {
    await createRunningPod(api, 'x1');
    const r = await call(api, 'GET', `/api/v1/namespaces/${NS}/pods/x1/exec?command=true&stdout=true`);
    assert.deepEqual([r.status, r.body.message], [400, 'Upgrade request required']);
  });
});

describe('kubectl 1.32 against the fake', { skip: NO_KUBECTL }, () => {
  let api;
  before(async () => { api = await startApiserver({ readyDelayMs: 50 }); });
  after(() => api.close());

  test('kubectl get pods lists the pods created in periscope-system', async (t) => {
    await createRunningPod(api, 'periscope-shell-get1');
    const r = await kubectl(scratch(t), kubeconfig(api, { token: api.adminToken }), ['get', 'pods', '-n', NS]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
    assert.match(r.stdout, /periscope-shell-get1\s+1\/1\s+Running\s+0/);
  });

  test('kubectl delete --dry-run=server says deleted and leaves the objects, by name and by label', async (t) => {
    await createRunningPod(api, 'dryrun-pod');
    const cfg = kubeconfig(api, { token: api.adminToken });
    const byName = await kubectl(scratch(t), cfg, ['delete', 'pod', 'dryrun-pod', '-n', NS, '--dry-run=server']);
    assert.equal(byName.code, 0, byName.stderr);
    assert.match(byName.stdout, /pod "dryrun-pod" deleted \(server dry run\)/);
    const byLabel = await kubectl(scratch(t), cfg, ['delete', 'pods', '-n', NS, '-l', 'periscope.io/session-id=dryrun-pod', '--dry-run=server']);
    assert.equal(byLabel.code, 0, byLabel.stderr);
    assert.match(byLabel.stdout, /pod "dryrun-pod" deleted \(server dry run\)/);
    const pod = await call(api, 'GET', `/api/v1/namespaces/${NS}/pods/dryrun-pod`);
    assert.equal(pod.status, 200);
    assert.equal(pod.body.metadata.deletionTimestamp, undefined, 'not terminating either');
    assert.equal(pod.body.status.phase, 'Running');
  });

  test('kubectl wait sees the pod become Ready', async (t) => {
    assert.equal((await call(api, 'POST', `/api/v1/namespaces/${NS}/pods`, { body: podSpec('wait1') })).status, 201);
    const r = await kubectl(scratch(t), kubeconfig(api, { token: api.adminToken }), ['wait', '-n', NS, '--for=condition=Ready', 'pod/wait1', '--timeout=20s']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /pod\/wait1 condition met/);
  });

  test('an unknown token is Unauthorized', async (t) => {
    const r = await kubectl(scratch(t), kubeconfig(api, { token: 'not-minted-here' }), ['get', 'pods', '-n', NS]);
    assert.notEqual(r.code, 0);
    // kubectl's wording for a 401 during discovery.
    assert.match(r.stderr, /error: You must be logged in to the server/);
    assert.ok(api.state.requests.some((q) => q.status === 401 && q.path === '/api'));
  });

  test('kubectl auth whoami --as/--as-group reports the impersonated identity, and the headers are recorded', async (t) => {
    await call(api, 'POST', '/__test/reset', { token: null });
    const r = await kubectl(scratch(t), kubeconfig(api, { token: api.adminToken }), ['auth', 'whoami', '--as', 'alice@example.com', '--as-group', 'devs', '--as-group', 'periscope-tier:admin']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Username\s+alice@example\.com/);
    assert.match(r.stdout, /Groups\s+\[devs periscope-tier:admin system:authenticated\]/);
    const { body } = await call(api, 'GET', '/__test/requests', { token: null });
    const review = body.requests.find((q) => q.path.endsWith('/selfsubjectreviews'));
    assert.equal(review.user.username, 'periscope-admin');
    assert.deepEqual(review.impersonation.groups, ['devs', 'periscope-tier:admin']);
    assert.equal(review.impersonation.user, 'alice@example.com');
    assert.ok(!JSON.stringify(body).includes(api.adminToken), 'tokens are not recorded');
  });

  test('kubectl exec -it runs in the pod pty, and exit 3 is kubectl\'s exit code', async (t) => {
    await createRunningPod(api, 'tty1');
    const term = kubectlInPty(scratch(t), kubeconfig(api, { token: api.adminToken }), ['exec', '-it', '-n', NS, 'tty1', '--', 'sh']);
    t.after(() => term.kill());
    term.type('echo "sum=$((40+2)) tty=$(tty)"\r');
    await term.expect(/sum=42 tty=\/dev\/pts\//);
    term.type('exit 3\r');
    assert.equal(await within('kubectl exec to exit', term.exited, 20000), 3);
    assert.match(term.output(), /command terminated with exit code 3/);
    const ex = api.state.execs.find((e) => e.pod === 'tty1');
    assert.equal(ex.protocol, V5);
    assert.deepEqual(ex.resizes[0], { Width: 100, Height: 30 });
  });

  test('non-tty kubectl exec passes stdin through to EOF and separates stderr', async (t) => {
    await createRunningPod(api, 'pipe1');
    const dir = scratch(t);
    const file = join(dir, 'kubeconfig');
    writeFileSync(file, kubeconfig(api, { token: api.adminToken }));
    const child = spawn(KUBECTL, ['--kubeconfig', file, '--cache-dir', join(dir, 'cache'), 'exec', '-i', '-n', NS, 'pipe1', '--', 'sh', '-c', 'tr a-z A-Z; echo oops >&2'],
      { env: { PATH: process.env.PATH, HOME: dir } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.stdin.end('hello pod\n');
    assert.equal(await new Promise((r) => child.on('close', r)), 0);
    assert.equal(out, 'HELLO POD\n');
    assert.equal(err, 'oops\n');
  });

  test('the shell pod end to end, made in periscope\'s order: kubectl typed in its bash comes back with the Secret\'s kubeconfig and the cluster CA, and is audited', { skip: NO_WRAPPER }, async (t) => {
    const sid = '0b7c9e4e-1f5e-4f7a-9d1e-6a4c2b8d9e01';
    const name = `periscope-shell-${sid}`;
    await createServiceAccount(api, name);
    await sessionRbac(api, { sa: name, user: 'alice@example.com', group: 'periscope-tier:admin', sessionId: sid });
    const tier = { metadata: { name: 'periscope-tier-admin' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'Group', name: 'periscope-tier:admin' }] };
    assert.equal((await call(api, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', { body: tier })).status, 201);
    // The pod first: like the kubelet, the fake does not start it before its Secret exists.
    const created = await call(api, 'POST', `/api/v1/namespaces/${NS}/pods`, {
      body: podSpec(name, {
        secret: name, serviceAccount: name,
        env: [
          { name: 'PERISCOPE_SHELL_SESSION_ID', value: sid }, { name: 'PERISCOPE_SHELL_MODE', value: 'bash' },
          { name: 'PERISCOPE_SHELL_AUDIT_FILE', value: '/tmp/periscope-shell/audit.jsonl' }, { name: 'KUBECONFIG', value: '/etc/periscope/kubeconfig' },
        ],
      }),
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const waiting = await waitFor(async () => {
      const p = (await call(api, 'GET', `/api/v1/namespaces/${NS}/pods/${name}`)).body;
      return p.status.containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerCreating' && p;
    }, 10000, 'the pod waiting for its Secret');
    assert.equal(waiting.status.phase, 'Pending');
    const tok = await call(api, 'POST', `/api/v1/namespaces/${NS}/serviceaccounts/${name}/token`, {
      body: { spec: { expirationSeconds: 1200, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name, uid: created.body.metadata.uid } } },
    });
    assert.equal(tok.status, 201, JSON.stringify(tok.body));
    const sessionKc = JSON.stringify({
      apiVersion: 'v1', kind: 'Config',
      clusters: [{ name: 'in-cluster', cluster: { server: 'https://kubernetes.default.svc', 'certificate-authority': 'ca.crt' } }],
      users: [{
        name: 'session',
        user: {
          token: tok.body.status.token, as: 'alice@example.com', 'as-groups': ['periscope-tier:admin'],
          'as-user-extra': { 'audit.periscope.io/session-id': [sid], 'audit.periscope.io/actor': ['alice@example.com'] },
        },
      }],
      contexts: [{ name: sid, context: { cluster: 'in-cluster', user: 'session' } }],
      'current-context': sid,
    });
    assert.equal((await call(api, 'POST', `/api/v1/namespaces/${NS}/secrets`, { body: { metadata: { name }, data: { kubeconfig: Buffer.from(sessionKc).toString('base64') } } })).status, 201);
    await waitFor(async () => (await podPhase(api, name)) === 'Running', 10000, `${name} Running`);
    await call(api, 'POST', '/__test/reset', { token: null });
    const admin = kubeconfig(api, { token: api.adminToken });
    const term = kubectlInPty(scratch(t), admin, ['exec', '-it', '-n', NS, name, '--', '/bin/bash', '--login']);
    t.after(() => term.kill());
    term.type(`kubectl get pods -n ${NS}\r`);
    await term.expect(new RegExp(`${name}\\s+1/1\\s+Running`));
    term.type('exit\r');
    assert.equal(await within('kubectl exec to exit', term.exited, 20000), 0);

    const inPod = api.state.requests.find((q) => q.path === `/api/v1/namespaces/${NS}/pods` && q.user?.username.startsWith('system:serviceaccount:'));
    assert.equal(inPod.user.username, `system:serviceaccount:${NS}:${name}`);
    assert.deepEqual(inPod.impersonation, {
      user: 'alice@example.com', uid: undefined, groups: ['periscope-tier:admin'],
      extra: { 'audit.periscope.io/session-id': [sid], 'audit.periscope.io/actor': ['alice@example.com'] },
    });

    // The teardown readback: a non-tty exec of cat on the command log.
    const r = await kubectl(scratch(t), admin, ['exec', '-n', NS, name, '--', 'cat', '/tmp/periscope-shell/audit.jsonl']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 1);
    assert.deepEqual(lines[0].argv.slice(1), ['get', 'pods', '-n', NS]);
    assert.match(lines[0].ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    // Deleting the pod removes it and its filesystem, and its token is refused from then on.
    assert.equal((await call(api, 'DELETE', `/api/v1/namespaces/${NS}/pods/${name}`)).status, 200);
    assert.equal((await call(api, 'GET', `/api/v1/namespaces/${NS}/pods/${name}`)).status, 404);
    assert.equal((await call(api, 'GET', '/api', { token: tok.body.status.token })).status, 401);
  });
});

describe('exec subprotocols', () => {
  test('v5 is chosen when offered, and the close signal ends stdin', async (t) => {
    const api = await startApiserver({ readyDelayMs: 20 });
    t.after(() => api.close());
    await createRunningPod(api, 'v5pod');
    const e = openExec(api, `/api/v1/namespaces/${NS}/pods/v5pod/exec?command=cat&stdin=true&stdout=true&stderr=true`, [V5, V4]);
    await e.opened;
    assert.equal(e.ws.protocol, V5);
    e.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('through cat\n')]));
    e.ws.send(Buffer.from([255, 0]));
    await e.closed;
    assert.equal(e.channels[1], 'through cat\n');
    assert.deepEqual(JSON.parse(e.channels[3]), { metadata: {}, status: 'Success' });
    assert.equal(e.closeCode(), 1000);
  });

  test('a v4-only server is picked by a client offering v5 and v4, with exit codes on channel 3', async (t) => {
    const api = await startApiserver({ readyDelayMs: 20, execProtocols: [V4] });
    t.after(() => api.close());
    await createRunningPod(api, 'v4pod');
    const e = openExec(api, `/api/v1/namespaces/${NS}/pods/v4pod/exec?command=sh&command=-c&command=echo+out%3B+echo+err+%3E%262%3B+exit+2&stdout=true&stderr=true`, [V5, V4]);
    await e.opened;
    assert.equal(e.ws.protocol, V4);
    await e.closed;
    assert.equal(e.channels[1], 'out\n');
    assert.equal(e.channels[2], 'err\n');
    const st = JSON.parse(e.channels[3]);
    assert.equal(st.reason, 'NonZeroExitCode');
    assert.deepEqual(st.details.causes, [{ reason: 'ExitCode', message: '2' }]);
  });

  test('kubectl 1.32 offers only v5: against a v4-only server it falls back to SPDY and is told so', { skip: NO_KUBECTL }, async (t) => {
    const api = await startApiserver({ readyDelayMs: 20, execProtocols: [V4] });
    t.after(() => api.close());
    await createRunningPod(api, 'v4only');
    const r = await kubectl(scratch(t), kubeconfig(api, { token: api.adminToken }), ['exec', '-n', NS, 'v4only', '--', 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /only WebSocket exec is served \(SPDY is not\)/);
    const spdy = api.state.requests.find((q) => q.method === 'POST' && q.path.endsWith('/exec'));
    assert.ok(spdy, 'kubectl retried with a POST (SPDY)');
  });

  test('a command that is not in the pod is an InternalError status, as from containerd', async (t) => {
    const api = await startApiserver({ readyDelayMs: 20 });
    t.after(() => api.close());
    await createRunningPod(api, 'nocmd');
    const e = openExec(api, `/api/v1/namespaces/${NS}/pods/nocmd/exec?command=no-such-shell&stdout=true`, [V5]);
    await e.opened;
    await e.closed;
    const st = JSON.parse(e.channels[3]);
    assert.equal(st.reason, 'InternalError');
    assert.match(st.message, /exec: "no-such-shell": executable file not found/);
  });

  test('deleting the pod ends its exec session', async (t) => {
    const api = await startApiserver({ readyDelayMs: 20 });
    t.after(() => api.close());
    await createRunningPod(api, 'killme');
    const e = openExec(api, `/api/v1/namespaces/${NS}/pods/killme/exec?command=sleep&command=60&stdout=true`, [V5]);
    await e.opened;
    await waitFor(() => api.state.execs.length === 1, 5000, 'exec started');
    assert.equal((await call(api, 'DELETE', `/api/v1/namespaces/${NS}/pods/killme`)).status, 200);
    await e.closed;
    assert.notEqual(api.state.execs[0].exitCode, 0);
  });
});

// --anonymous-auth (auth.mjs Authenticator.authenticate, after anonymous.go), asked as
// kubeadm's discovery and periscope's agent backend ask it: a request without any
// credential (curl here; kubectl would prompt for a password instead), then kubectl with a
// token that is not one.
describe('anonymous requests (anonymousAuth)', { skip: NO_KUBECTL }, () => {
  const curl = (api, dir, path) => new Promise((ok) => {
    const ca = join(dir, 'ca.crt');
    writeFileSync(ca, api.caPem);
    execFile('curl', ['-sS', '--cacert', ca, '-w', '\n%{http_code}', `${api.url}${path}`], { encoding: 'utf8', timeout: 20000 },
      (err, stdout) => {
        const lines = stdout.trimEnd().split('\n');
        ok({ status: Number(lines.pop()), body: lines.join('\n') });
      });
  });
  test('no credentials is system:anonymous, held to RBAC; a bad token is still 401', async (t) => {
    const api = await startApiserver({ readyDelayMs: 20, anonymousAuth: true });
    t.after(() => api.close());
    const RBAC = 'rbac.authorization.k8s.io';
    api.createObjects([
      { apiVersion: `${RBAC}/v1`, kind: 'Role', metadata: { name: 'kubeadm:bootstrap-signer-clusterinfo', namespace: 'kube-public' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['cluster-info'], verbs: ['get'] }] },
      { apiVersion: `${RBAC}/v1`, kind: 'RoleBinding', metadata: { name: 'kubeadm:bootstrap-signer-clusterinfo', namespace: 'kube-public' },
        roleRef: { apiGroup: RBAC, kind: 'Role', name: 'kubeadm:bootstrap-signer-clusterinfo' },
        subjects: [{ kind: 'User', apiGroup: RBAC, name: 'system:anonymous' }] },
    ]);
    const dir = scratch(t);
    const got = await curl(api, dir, '/api/v1/namespaces/kube-public/configmaps/cluster-info');
    assert.equal(got.status, 200, got.body);
    assert.match(JSON.parse(got.body).data.kubeconfig, /certificate-authority-data/);
    const pods = await curl(api, dir, '/api/v1/namespaces/kube-public/pods');
    assert.equal(pods.status, 403);
    assert.match(JSON.parse(pods.body).message, /User "system:anonymous" cannot list resource "pods"/);
    const bad = await kubectl(dir, kubeconfig(api, { token: 'not-minted-here' }), ['get', 'configmap', 'cluster-info', '-n', 'kube-public']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /You must be logged in to the server/, 'kubectl\'s words for a 401');
  });
});
