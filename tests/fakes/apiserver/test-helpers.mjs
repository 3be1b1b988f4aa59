// Helpers shared by the apiserver fake's own tests: plain HTTPS calls, kubeconfigs, and the
// real kubectl 1.32 (plain, or under a real pty), each test in a scratch HOME.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

import { findPtyhost } from '../common/ptyhost.mjs';
import { findKubectl } from './kubectl.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../../..');
export const KUBECTL = findKubectl();
export const NO_KUBECTL = KUBECTL ? false : 'kubectl.1.32 not found (set PERISCOPE_KUBECTL)';
export const BUILD_DIR = process.env.PERISCOPE_BUILD_DIR || join(REPO, 'build');
export const NS = 'periscope-system';
const RBAC = 'rbac.authorization.k8s.io';

// Polls fn until it returns a truthy value; fails after ms.
export async function waitFor(fn, ms = 10000, what = 'condition') {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// One HTTPS call to the fake (the front route, its CA): { status, headers, body }.
export function call(api, method, path, { body, token = api.adminToken, headers = {} } = {}) {
  return new Promise((ok, fail) => {
    const payload = body ? JSON.stringify(body) : null;
    // A length, as kubectl sends one: Node's client does not chunk a DELETE's body by
    // default, so without it the body would reach the server unframed.
    const h = { 'Content-Type': 'application/json', Accept: 'application/json', ...(payload ? { 'Content-Length': Buffer.byteLength(payload) } : {}), ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    const req = https.request(api.url + path, { method, ca: api.caPem, headers: h }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => ok({ status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : null }));
    });
    req.on('error', fail);
    if (payload) req.write(payload);
    req.end();
  });
}

export function kubeconfig(api, user, { server = api.url, caPem = api.caPem } = {}) {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: 'fake', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'c', context: { cluster: 'fake', user: 'u' } }],
    'current-context': 'c',
  });
}

// A scratch HOME and discovery cache per test, so nothing leaks between runs.
export function scratch(t) {
  const dir = mkdtempSync(join(tmpdir(), 'periscope-apiserver-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function kubectl(dir, kc, args, { timeout = 30000, input } = {}) {
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, kc);
  return new Promise((ok) => {
    const child = execFile(KUBECTL, ['--kubeconfig', file, '--cache-dir', join(dir, 'cache'), ...args],
      { env: { PATH: process.env.PATH, HOME: dir, NO_PROXY: '127.0.0.1,localhost' }, timeout, encoding: 'utf8' },
      (err, stdout, stderr) => ok({ code: err ? err.code ?? -1 : 0, stdout, stderr }));
    if (input !== undefined) child.stdin.end(input);
  });
}

// kubectl under a real pty (kubectl exec -t needs a terminal), driven like a person would.
export function kubectlInPty(dir, kc, args) {
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, kc);
  const child = spawn(findPtyhost(BUILD_DIR), ['--cols', '100', '--rows', '30', '--', KUBECTL, '--kubeconfig', file, '--cache-dir', join(dir, 'cache'), ...args],
    { env: { PATH: process.env.PATH, HOME: dir, NO_PROXY: '127.0.0.1,localhost' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d.toString('utf8'); });
  const exited = new Promise((r) => child.on('close', (code) => r(code)));
  return {
    type: (s) => child.stdin.write(s),
    output: () => out,
    expect: (re, ms = 20000) => waitFor(() => re.test(out), ms, `${re} in terminal output:\n${out}`),
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}

export async function createServiceAccount(api, name, ns = NS) {
  const r = await call(api, 'POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { body: { metadata: { name }, automountServiceAccountToken: false } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

// The RBAC of one shell session, as periscope makes it: a ClusterRole that may impersonate
// only `user`, only `group`, and only `sessionId` and `user` as the two audit extras, bound
// to the ServiceAccount `sa`.
export async function sessionRbac(api, { sa, ns = NS, user, group, sessionId }) {
  const role = {
    metadata: { name: sa },
    rules: [
      { apiGroups: [''], resources: ['users'], verbs: ['impersonate'], resourceNames: [user] },
      { apiGroups: [''], resources: ['groups'], verbs: ['impersonate'], resourceNames: [group] },
      { apiGroups: ['authentication.k8s.io'], resources: ['userextras/audit.periscope.io/session-id'], verbs: ['impersonate'], resourceNames: [sessionId] },
      { apiGroups: ['authentication.k8s.io'], resources: ['userextras/audit.periscope.io/actor'], verbs: ['impersonate'], resourceNames: [user] },
    ],
  };
  const binding = { metadata: { name: sa }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: sa }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }] };
  for (const [path, body] of [['clusterroles', role], ['clusterrolebindings', binding]]) {
    const r = await call(api, 'POST', `/apis/${RBAC}/v1/${path}`, { body });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
}
