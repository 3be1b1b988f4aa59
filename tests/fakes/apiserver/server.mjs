// A fake kube-apiserver good enough for the real kubectl 1.32 and for periscope's cluster
// shell: HTTPS (HTTP/1.1) on 127.0.0.1 with its own CA, discovery, namespaces, pods (that go
// Pending -> Running), secrets, configmaps, serviceaccounts and TokenRequest,
// selfsubjectreviews, bearer-token auth with impersonation, and pods/exec over WebSocket
// (v5/v4 channel protocols) that runs real commands in a real pty.
//
//   import { startApiserver } from './server.mjs';
//   const api = await startApiserver({ readyDelayMs: 100 });
//   ... api.url, api.caFile, api.adminToken, api.state.requests ...
//   await api.close();
//
// Run directly (`node server.mjs [--port N] [--admin-token T] [--ready-delay-ms N]
// [--exec-protocols v5.channel.k8s.io,v4.channel.k8s.io] [--tiers admin,read]`), it prints
// one JSON line {"ready":true,"url",...} and runs until SIGINT/SIGTERM.
//
// Test hooks (no auth, loopback only): GET /__test/requests, GET /__test/execs,
// POST /__test/reset.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Authenticator, readImpersonation } from './auth.mjs';
import { apiGroup, apiGroupList, apiVersions, coreResources, groupResources, version } from './discovery.mjs';
import { ExecServer, V4, V5 } from './exec.mjs';
import { findHelm, findKubectl } from './kubectl.mjs';
import { PodController } from './pods.mjs';
import { ResourceApi } from './resources.mjs';
import { ApiError, badRequest, forbidden, internalError, methodNotAllowed, notFound, status } from './status.mjs';
import { RESOURCES, Store } from './store.mjs';
import { makeCertificates } from './tls.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../../..');
const PTYHOST = join(REPO, 'tests/fakes/common/ptyhost.py');
const MAX_BODY = 3 << 20;
const REQUESTS_MAX = 10000;

// The interpreter itself, not a version-manager shim that needs the caller's HOME.
function findPython() {
  return execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
}

function readBody(req) {
  return new Promise((resolveBody, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ApiError(status(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728')));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolveBody(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

// JSON bodies are parsed; anything else (kubectl sends protobuf for some calls, which the
// handlers that accept it ignore) is null.
function parseJson(buf, contentType) {
  if (buf.length === 0) return null;
  if (contentType && !/json|yaml/.test(contentType)) return null;
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    throw badRequest('the body of the request was in an unknown format - accepted media types include: application/json, application/yaml');
  }
}

// The parts of the path: /api/v1[/namespaces/{ns}]/{resource}[/{name}[/{sub}]].
export function parseResourcePath(pathname) {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== 'api' || parts[1] !== 'v1' || parts.length < 3) return null;
  let rest = parts.slice(2);
  let namespace;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource, ...extra] = rest;
  if (!RESOURCES[resource] || extra.length) return null;
  if (namespace !== undefined && !RESOURCES[resource].namespaced) return null;
  return { namespace, resource, name, subresource };
}

function verbOf(method, info, params) {
  if (info.subresource === 'exec') return 'create';
  if (method === 'GET') return info.name ? 'get' : params.has('watch') && params.get('watch') !== 'false' && params.get('watch') !== '0' ? 'watch' : 'list';
  return { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: info.name ? 'delete' : 'deletecollection' }[method] ?? method.toLowerCase();
}

function redactHeaders(rawHeaders) {
  const out = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const v = rawHeaders[i].toLowerCase() === 'authorization' ? rawHeaders[i + 1].replace(/^(\S+\s+).*/, '$1<redacted>') : rawHeaders[i + 1];
    out.push([rawHeaders[i], v]);
  }
  return out;
}

function clusterInfoKubeconfig(url, caPem) {
  return [
    'apiVersion: v1',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
    `    server: ${url}`,
    '  name: ""',
    'contexts: null',
    'current-context: ""',
    'kind: Config',
    'preferences: {}',
    'users: null',
    '',
  ].join('\n');
}

export async function startApiserver(opts = {}) {
  const {
    host = '127.0.0.1', port = 0,
    adminToken = `fake-admin-token.${randomBytes(24).toString('base64url')}`, adminUser = 'periscope-admin',
    readyDelayMs = 300, podTerminationMs = 0,
    execProtocols = [V5, V4], enforceShellRbac = true, authorize = null,
    shellNamespace = 'periscope-system', tiers = ['admin'], nodes = [],
    buildDir = process.env.PERISCOPE_BUILD_DIR || join(REPO, 'build'),
    kubectlPath = findKubectl(), helmPath = findHelm(),
  } = opts;

  const tls = makeCertificates();
  const store = new Store();
  const auth = new Authenticator({ adminToken, adminUser, enforceShellRbac });
  const state = { requests: [], execs: [], store, warnings: [] };
  let url = null;
  let actualPort = null;

  const execServer = new ExecServer({ protocols: execProtocols, python: findPython(), ptyhost: PTYHOST, record: (r) => state.execs.push(r) });
  const pods = new PodController({
    store, readyDelayMs, podTerminationMs,
    podFsOptions: () => ({ apiserverUrl: url, apiserverPort: actualPort, buildDir: existsSync(buildDir) ? resolve(buildDir) : null, kubectlPath, helmPath }),
    onPodGone: (ns, name) => execServer.killPod(ns, name),
  });
  const namespaceDefaults = (ns) => [
    ['serviceaccounts', { metadata: { name: 'default' } }],
    ['configmaps', { metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': tls.caPem } }],
  ];
  const api = new ResourceApi({ store, auth, pods, namespaceDefaults });

  const record = (req, url_) => {
    const entry = {
      time: new Date().toISOString(), method: req.method, path: url_.pathname, query: url_.search,
      userAgent: req.headers['user-agent'] ?? '', user: null, impersonation: readImpersonation(req.rawHeaders),
      effectiveUser: null, status: null, headers: redactHeaders(req.rawHeaders),
    };
    state.requests.push(entry);
    if (state.requests.length > REQUESTS_MAX) state.requests.shift();
    return entry;
  };

  // Authentication, impersonation and authorization; returns the effective identity.
  const admit = (req, entry, attrs) => {
    const caller = auth.authenticate(req);
    entry.user = { username: caller.username, groups: caller.groups };
    const identity = auth.resolve(caller, entry.impersonation);
    entry.effectiveUser = { username: identity.username, groups: identity.groups, extra: identity.extra };
    if (attrs) {
      const allowed = !auth.isRestricted(identity) && (!authorize || authorize(identity, attrs) !== false);
      if (!allowed) throw forbidden({ user: identity.username, ...attrs });
    }
    return identity;
  };

  const sendJson = (res, entry, code, body) => {
    entry.status = code;
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
    res.end(text);
  };

  const nonResource = (path) => {
    if (path === '/version') return version();
    if (path === '/api') return apiVersions(`127.0.0.1:${actualPort}`);
    if (path === '/api/v1') return coreResources();
    if (path === '/apis') return apiGroupList();
    const g = /^\/apis\/([^/]+)$/.exec(path);
    if (g) return apiGroup(g[1]);
    const gv = /^\/apis\/([^/]+\/[^/]+)$/.exec(path);
    if (gv) return groupResources(gv[1]);
    return undefined;
  };

  const testHooks = (req, res, path) => {
    const entry = { status: null };
    if (req.method === 'GET' && path === '/__test/requests') return sendJson(res, entry, 200, { requests: state.requests });
    if (req.method === 'GET' && path === '/__test/execs') return sendJson(res, entry, 200, { execs: state.execs });
    if (req.method === 'POST' && path === '/__test/reset') {
      state.requests.length = 0;
      state.execs.length = 0;
      return sendJson(res, entry, 200, { reset: true });
    }
    return sendJson(res, entry, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
  };

  const handle = async (req, res) => {
    const u = new URL(req.url, 'https://127.0.0.1');
    const path = u.pathname.replace(/\/+$/, '') || '/';
    if (path.startsWith('/__test/')) return testHooks(req, res, path);
    const entry = record(req, u);
    try {
      const params = u.searchParams;
      if (['/healthz', '/livez', '/readyz'].includes(path)) {
        entry.status = 200;
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        return res.end('ok');
      }
      const doc = nonResource(path);
      if (doc !== undefined) {
        admit(req, entry);
        if (doc === null || req.method !== 'GET') throw notFound('', path);
        return sendJson(res, entry, 200, doc);
      }
      if (path === '/apis/authentication.k8s.io/v1/selfsubjectreviews') {
        const identity = admit(req, entry);
        if (req.method !== 'POST') throw methodNotAllowed();
        await readBody(req); // JSON or protobuf: either way it names nobody
        const r = api.selfSubjectReview(identity);
        return sendJson(res, entry, r.code, r.body);
      }
      const info = parseResourcePath(path);
      if (!info) {
        admit(req, entry);
        throw new ApiError(status(404, 'NotFound', 'the server could not find the requested resource', {}));
      }
      const verb = verbOf(req.method, info, params);
      admit(req, entry, { verb, resource: info.resource, subresource: info.subresource, name: info.name, namespace: info.namespace });
      const ct = req.headers['content-type'];
      const raw = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(req.method) ? await readBody(req) : Buffer.alloc(0);
      // kubectl's typed clients send protobuf first; 415 makes client-go retry with JSON.
      if (raw.length && /protobuf/.test(ct ?? '')) {
        throw new ApiError(status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`));
      }
      const body = parseJson(raw, ct);
      const { namespace: ns, resource, name, subresource } = info;
      let r;
      if (subresource === 'exec' && resource === 'pods') {
        throw badRequest(req.headers.upgrade ? 'fake apiserver: only WebSocket exec is served (SPDY is not)' : 'Upgrade request required');
      } else if (subresource === 'token' && resource === 'serviceaccounts' && req.method === 'POST') {
        r = api.tokenRequest(ns, name, body);
      } else if (subresource) {
        throw new ApiError(status(404, 'NotFound', 'the server could not find the requested resource', {}));
      } else if (req.method === 'GET' && !name && verb === 'watch') {
        r = api.watch(resource, ns, params, res);
        entry.status = 200;
        return undefined;
      } else if (req.method === 'GET') {
        r = name ? api.get(resource, ns, name, params, req.headers.accept) : api.list(resource, ns, params, req.headers.accept);
      } else if (req.method === 'POST' && !name) {
        r = api.create(resource, ns, body, params);
      } else if (req.method === 'PUT' && name) {
        r = api.update(resource, ns, name, body);
      } else if (req.method === 'PATCH' && name) {
        r = api.patch(resource, ns, name, body, ct);
      } else if (req.method === 'DELETE') {
        const options = { ...(body ?? {}) };
        if (params.get('preconditions.uid')) options.preconditions = { uid: params.get('preconditions.uid') };
        r = name ? api.deleteOne(resource, ns, name, options) : api.deleteCollection(resource, ns, params);
      } else {
        throw methodNotAllowed();
      }
      return sendJson(res, entry, r.code, r.body);
    } catch (e) {
      const err = e instanceof ApiError ? e : internalError(e.message);
      if (!(e instanceof ApiError)) state.warnings.push(e.stack);
      if (!res.headersSent) return sendJson(res, entry, err.code, err.body);
      return res.end();
    }
  };

  // Upgrade requests (WebSocket exec; SPDY attempts get a clear 400).
  const upgrade = (req, socket, head) => {
    const u = new URL(req.url, 'https://127.0.0.1');
    const entry = record(req, u);
    const refuse = (err) => {
      entry.status = err.code;
      const text = JSON.stringify(err.body);
      socket.end(`HTTP/1.1 ${err.code} ${err.code === 401 ? 'Unauthorized' : err.code === 403 ? 'Forbidden' : err.code === 404 ? 'Not Found' : 'Bad Request'}\r\n`
        + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
    };
    socket.on('error', () => {});
    try {
      const info = parseResourcePath(u.pathname);
      if (!info || info.resource !== 'pods' || info.subresource !== 'exec' || !info.namespace) {
        admit(req, entry);
        throw new ApiError(status(404, 'NotFound', 'the server could not find the requested resource', {}));
      }
      const attrs = { resource: 'pods', subresource: 'exec', name: info.name, namespace: info.namespace };
      // A WebSocket exec is a GET; the apiserver asks RBAC for both get and create.
      admit(req, entry, { verb: 'get', ...attrs });
      admit(req, entry, { verb: 'create', ...attrs });
      if (!/websocket/i.test(req.headers.upgrade ?? '')) throw badRequest('fake apiserver: only WebSocket exec is served (SPDY is not)');
      const pod = store.get('pods', info.namespace, info.name);
      const names = pod.spec.containers.map((c) => c.name);
      const want = u.searchParams.get('container');
      if (!want && names.length > 1) throw badRequest(`a container name must be specified for pod ${info.name}, choose one of: [${names.join(' ')}]`);
      const container = pod.spec.containers.find((c) => c.name === (want || names[0]));
      if (!container) throw badRequest(`container ${want} is not valid for pod ${info.name}`);
      const cs = pod.status.containerStatuses?.find((c) => c.name === container.name);
      const podFs = pods.podFs(info.namespace, info.name);
      if (pod.status.phase !== 'Running' || !cs?.state?.running || !podFs) {
        const why = cs?.state?.waiting?.reason ?? (cs?.state?.terminated ? 'terminated' : 'ContainerCreating');
        throw badRequest(pod.status.phase === 'Failed' || pod.status.phase === 'Succeeded'
          ? `cannot exec into a container in a completed pod; current phase is ${pod.status.phase}`
          : `container "${container.name}" in pod "${info.name}" is waiting to start: ${why}`);
      }
      const ctx = { pod, container, podFs, params: u.searchParams, lookup: pods.lookup };
      execServer.upgrade(req, socket, head, ctx);
      entry.status = 101;
    } catch (e) {
      refuse(e instanceof ApiError ? e : internalError(e.message));
    }
  };

  // Seed: the usual namespaces, the shell's namespace with one ServiceAccount per tier, and
  // kube-public/cluster-info carrying the CA (kubeadm's discovery ConfigMap).
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease', shellNamespace]) {
    if (!store.has('namespaces', undefined, ns)) api.create('namespaces', undefined, { metadata: { name: ns } }, new URLSearchParams());
  }
  // Nodes as a cluster has them: providerID (aws:///zone/i-... on EC2), region and zone
  // labels, and a Ready condition.
  for (const n of nodes) {
    const zone = /^aws:\/\/\/([^/]+)\//.exec(n.providerID ?? '')?.[1];
    store.create('nodes', undefined, {
      metadata: {
        name: n.name,
        labels: {
          'kubernetes.io/hostname': n.name,
          ...(zone ? { 'topology.kubernetes.io/zone': zone, 'topology.kubernetes.io/region': zone.replace(/[a-z]$/, '') } : {}),
          ...(n.labels ?? {}),
        },
      },
      spec: n.providerID ? { providerID: n.providerID } : {},
      status: { conditions: [{ type: 'Ready', status: n.ready === false ? 'False' : 'True', reason: 'KubeletReady' }] },
    });
  }
  for (const tier of tiers) {
    store.create('serviceaccounts', shellNamespace, {
      metadata: { name: `periscope-shell-${tier}`, labels: { 'periscope.io/purpose': 'cluster-shell', 'periscope.io/tier': tier } },
    });
  }

  const server = createServer({ key: tls.keyPem, cert: tls.certPem, ALPNProtocols: ['http/1.1'] }, (req, res) => {
    handle(req, res).catch((e) => {
      state.warnings.push(e.stack);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on('upgrade', upgrade);
  server.keepAliveTimeout = 30000;
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, ok);
  });
  actualPort = server.address().port;
  url = `https://${host}:${actualPort}`;
  store.create('configmaps', 'kube-public', { metadata: { name: 'cluster-info' }, data: { kubeconfig: clusterInfoKubeconfig(url, tls.caPem) } });

  let closed = false;
  return {
    url, port: actualPort, caPem: tls.caPem, caFile: tls.caFile, adminToken, state,
    // A ServiceAccount token without a TokenRequest round trip (for tests).
    mintToken: (ns, sa, seconds = 3600) => auth.mintServiceAccountToken(ns, sa, seconds).token,
    async close() {
      if (closed) return;
      closed = true;
      await execServer.close();
      pods.stop();
      await new Promise((ok) => {
        server.close(ok);
        server.closeAllConnections();
      });
      rmSync(tls.dir, { recursive: true, force: true });
    },
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      'admin-token': { type: 'string' },
      'ready-delay-ms': { type: 'string', default: '300' },
      'exec-protocols': { type: 'string', default: `${V5},${V4}` },
      tiers: { type: 'string', default: 'admin' },
      'build-dir': { type: 'string' },
    },
  });
  const api = await startApiserver({
    port: Number(values.port),
    adminToken: values['admin-token'],
    readyDelayMs: Number(values['ready-delay-ms']),
    execProtocols: values['exec-protocols'].split(',').map((s) => s.trim()),
    tiers: values.tiers.split(',').map((s) => s.trim()).filter(Boolean),
    buildDir: values['build-dir'],
  });
  process.stdout.write(`${JSON.stringify({ ready: true, url: api.url, port: api.port, caFile: api.caFile, adminToken: api.adminToken })}\n`);
  const stop = async () => {
    await api.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  });
}
