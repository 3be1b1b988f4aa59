// A fake kube-apiserver good enough for the real kubectl 1.32 and for periscope's cluster
// shell: HTTPS (HTTP/1.1) on 127.0.0.1, discovery, namespaces, pods (that go Pending ->
// Running), secrets, configmaps, serviceaccounts and bound TokenRequests, RBAC objects
// evaluated for every request (with the bootstrap roles and the escalation checks),
// selfsubjectreviews, bearer-token auth with impersonation authorized attribute by
// attribute, and pods/exec over WebSocket (v5/v4 channel protocols) that runs real commands
// in a real pty.
//
// It listens twice: api.url is the route from outside (a load balancer in front of the
// cluster, with a CA of its own: api.caPem), api.clusterUrl is what kubernetes.default.svc
// reaches from inside a pod, with the cluster's CA (api.clusterCaPem, published in every
// namespace as the kube-root-ca.crt ConfigMap).
//
//   import { startApiserver } from './server.mjs';
//   const api = await startApiserver({ readyDelayMs: 100 });
//   ... api.url, api.caFile, api.adminToken, api.state.requests, api.clock.advance(600) ...
//   await api.close();
//
// Run directly (`node server.mjs [--port N] [--admin-token T] [--ready-delay-ms N]
// [--exec-protocols v5.channel.k8s.io,v4.channel.k8s.io] [--max-token-expiration-seconds N]`),
// it prints one JSON line {"ready":true,"url",...} and runs until SIGINT/SIGTERM.
//
// Test hooks (loopback only): GET /__test/requests, GET /__test/execs, POST /__test/reset
// (no token); GET /__test/clock and POST /__test/clock {"advanceSeconds":N} (the admin
// token only: moving the cluster's clock is an administrator's act).
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Authenticator, readImpersonation } from './auth.mjs';
import { verifyEksToken } from './eks-auth.mjs';
import { Clock } from './clock.mjs';
import { apiGroup, apiGroupList, apiVersions, coreResources, groupResources, version } from './discovery.mjs';
import { ExecServer, V4, V5 } from './exec.mjs';
import { findPtyhost } from '../common/ptyhost.mjs';
import { findHelm, findKubectl } from './kubectl.mjs';
import { PodController } from './pods.mjs';
import { ResourceApi } from './resources.mjs';
import { Rbac, bootstrapPolicy } from './rbac.mjs';
import { ApiError, badRequest, forbidden, internalError, methodNotAllowed, notFound, status, unauthorized } from './status.mjs';
import { RESOURCES, Store } from './store.mjs';
import { makeCertificates, makeClientCa } from './tls.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../../..');
const MAX_BODY = 3 << 20;
const REQUESTS_MAX = 10000;

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

// The parts of the path: /api/v1[/namespaces/{ns}]/{resource}[/{name}[/{sub}]], or
// /apis/{group}/v1/... for the resources of an API group.
export function parseResourcePath(pathname) {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let group;
  let rest;
  if (parts[0] === 'api' && parts[1] === 'v1' && parts.length >= 3) {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts[2] === 'v1' && parts.length >= 4) {
    group = parts[1];
    rest = parts.slice(3);
  } else {
    return null;
  }
  let namespace;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource, ...extra] = rest;
  if (!RESOURCES[resource] || (RESOURCES[resource].group ?? '') !== group || extra.length) return null;
  if (namespace !== undefined && !RESOURCES[resource].namespaced) return null;
  return { apiGroup: group, namespace, resource, name, subresource };
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
    users = [], maxTokenExpirationSeconds = 0, anonymousAuth = false,
    readyDelayMs = 300, podTerminationMs = 0, volumeSyncMs = 500,
    execProtocols = [V5, V4], shellNamespace = 'periscope-system', nodes = [],
    buildDir = process.env.PERISCOPE_BUILD_DIR || join(REPO, 'build'),
    kubectlPath = findKubectl(), helmPath = findHelm(),
  } = opts;
  // An EKS cluster's webhook authenticator: { clusterId, stsUrl, stsCaPem, mapRoles }
  // (eks-auth.mjs), set now or later with setEksAuth (the AWS fake starts after us).
  let eksAuth = opts.eksAuth ?? null;

  const tls = makeCertificates();        // the front route's CA (a load balancer's)
  const clusterTls = makeCertificates(); // the cluster's own CA (kube-root-ca.crt)
  const clientCa = makeClientCa();       // --client-ca-file
  const clock = new Clock();
  const store = new Store(clock);
  const lookup = (resource, ns, name) => (store.has(resource, ns, name) ? store.get(resource, ns, name) : null);
  // The authorizer only reads: it gets the stored objects, not copies (store.peek/values).
  const rbac = new Rbac({ lookup: (resource, ns, name) => store.peek(resource, ns, name), list: (resource, ns) => store.values(resource, ns) });
  const auth = new Authenticator({ adminToken, adminUser, users, clock, lookup, anonymous: anonymousAuth });
  const state = { requests: [], execs: [], store, warnings: [], eksRefusals: [] };
  let url = null;
  let actualPort = null;
  let clusterUrl = null;
  let clusterPort = null;

  const execServer = new ExecServer({ protocols: execProtocols, ptyhost: findPtyhost(buildDir), record: (r) => state.execs.push(r) });
  const pods = new PodController({
    store, clock, readyDelayMs, podTerminationMs, volumeSyncMs,
    podFsOptions: () => ({ apiserverUrl: clusterUrl, apiserverPort: clusterPort, buildDir: existsSync(buildDir) ? resolve(buildDir) : null, kubectlPath, helmPath }),
    onPodGone: (ns, name) => execServer.killPod(ns, name),
  });
  // What every namespace gets: its default ServiceAccount (the serviceaccounts controller)
  // and kube-root-ca.crt, the CA of kubernetes.default.svc (pkg/controller/certificates/
  // rootcacertpublisher publisher.go).
  const namespaceDefaults = () => [
    ['serviceaccounts', { metadata: { name: 'default' } }],
    ['configmaps', { metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': clusterTls.caPem } }],
  ];
  const api = new ResourceApi({ store, auth, pods, rbac, clock, namespaceDefaults, maxTokenExpirationSeconds });

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

  // The apiserver's filter chain, in its order: authentication (401), impersonation (each
  // attribute authorized for the caller: 403; auth.mjs), then RBAC for the effective
  // identity (403). attrs: a resource request { verb, apiGroup, resource, subresource,
  // name, namespace } or a non-resource one { verb, path }. Returns the identity.
  const admit = (req, entry, attrs) => {
    const caller = auth.authenticate(req);
    entry.user = { username: caller.username, groups: caller.groups };
    const identity = auth.impersonate(caller, entry.impersonation, (a) => rbac.authorize(caller, a));
    entry.effectiveUser = { username: identity.username, groups: identity.groups, extra: identity.extra };
    if (attrs) {
      const full = attrs.path !== undefined ? attrs : { resourceRequest: true, apiGroup: '', namespace: '', ...attrs };
      const d = rbac.authorize(identity, full);
      if (!d.allowed) throw forbidden({ user: identity.username, ...full, reason: d.reason });
    }
    return identity;
  };

  // Every answer carries the apiserver's time (Date, from the fake's clock) and, like
  // staging/src/k8s.io/apiserver/pkg/warning, each warning as `Warning: 299 - "text"`.
  const sendJson = (res, entry, code, body, warnings = []) => {
    entry.status = code;
    const text = JSON.stringify(body);
    const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private', Date: clock.httpDate() };
    if (warnings.length) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
    res.writeHead(code, headers);
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

  const testHooks = async (req, res, path) => {
    const entry = { status: null };
    if (req.method === 'GET' && path === '/__test/requests') return sendJson(res, entry, 200, { requests: state.requests });
    if (req.method === 'GET' && path === '/__test/execs') return sendJson(res, entry, 200, { execs: state.execs });
    if (req.method === 'POST' && path === '/__test/reset') {
      state.requests.length = 0;
      state.execs.length = 0;
      return sendJson(res, entry, 200, { reset: true });
    }
    if (path === '/__test/clock') {
      const caller = (() => { try { return auth.authenticate(req); } catch { return null; } })();
      if (!caller) return sendJson(res, entry, 401, unauthorized().body);
      if (!caller.groups.includes('system:masters')) return sendJson(res, entry, 403, forbidden({ user: caller.username, verb: req.method.toLowerCase(), path }).body);
      if (req.method === 'POST') {
        let body;
        try { body = JSON.parse((await readBody(req)).toString('utf8') || '{}'); } catch { body = null; }
        const n = Number(body?.advanceSeconds);
        if (!Number.isFinite(n) || n < 0) return sendJson(res, entry, 400, badRequest('advanceSeconds: a number of seconds >= 0').body);
        clock.advance(n);
      }
      return sendJson(res, entry, 200, { now: clock.iso(), offsetSeconds: clock.offsetMs / 1000 });
    }
    return sendJson(res, entry, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
  };

  // A bearer token in the EKS format goes to the EKS authenticator (when this cluster has
  // one) before the filter chain; what it vouches for is cached, what it refuses stays
  // unknown and so is 401, as the apiserver answers a webhook's refusal.
  const eksAuthenticate = async (req) => {
    const m = /^Bearer\s+(k8s-aws-v1\.\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m || !eksAuth || auth.knows(m[1])) return;
    try {
      const who = await verifyEksToken(m[1], eksAuth);
      auth.rememberWebhookToken(m[1], who, 2 * 60 * 1000);
    } catch (e) {
      state.eksRefusals.push(e.message);
    }
  };

  const handle = async (req, res) => {
    const u = new URL(req.url, 'https://127.0.0.1');
    const path = u.pathname.replace(/\/+$/, '') || '/';
    if (path.startsWith('/__test/')) return testHooks(req, res, path);
    await eksAuthenticate(req);
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
        // A non-resource request: authorized by verb (the lower-cased method) and path.
        admit(req, entry, { verb: req.method.toLowerCase(), path });
        if (doc === null || req.method !== 'GET') throw notFound('', path);
        return sendJson(res, entry, 200, doc);
      }
      if (path === '/apis/authentication.k8s.io/v1/selfsubjectreviews') {
        const identity = admit(req, entry, { verb: 'create', apiGroup: 'authentication.k8s.io', resource: 'selfsubjectreviews' });
        if (req.method !== 'POST') throw methodNotAllowed();
        await readBody(req); // JSON or protobuf: either way it names nobody
        const r = api.selfSubjectReview(identity);
        return sendJson(res, entry, r.code, r.body);
      }
      const info = parseResourcePath(path);
      if (!info) {
        // Authorization comes before routing: outside /api and /apis a path is a
        // non-resource request, and a user without a rule for it gets 403, not 404.
        admit(req, entry, /^\/apis?(\/|$)/.test(path) ? undefined : { verb: req.method.toLowerCase(), path });
        throw new ApiError(status(404, 'NotFound', 'the server could not find the requested resource', {}));
      }
      const verb = verbOf(req.method, info, params);
      const identity = admit(req, entry, { verb, apiGroup: info.apiGroup, resource: info.resource, subresource: info.subresource, name: info.name, namespace: info.namespace });
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
        r = api.create(resource, ns, body, params, identity);
      } else if (req.method === 'PUT' && name) {
        r = api.update(resource, ns, name, body, identity);
      } else if (req.method === 'PATCH' && name) {
        r = api.patch(resource, ns, name, body, ct, identity);
      } else if (req.method === 'DELETE') {
        // DeleteOptions come from the body, or from the query when there is none
        // (handlers/delete.go DeleteResource: ParameterCodec.DecodeParameters).
        const options = body && Object.keys(body).length > 0 ? { ...body } : (params.getAll('dryRun').length > 0 ? { dryRun: params.getAll('dryRun') } : {});
        if (params.get('preconditions.uid')) options.preconditions = { uid: params.get('preconditions.uid') };
        r = name ? api.deleteOne(resource, ns, name, options) : api.deleteCollection(resource, ns, params, options);
      } else {
        throw methodNotAllowed();
      }
      return sendJson(res, entry, r.code, r.body, r.warnings);
    } catch (e) {
      const err = e instanceof ApiError ? e : internalError(e.message);
      if (!(e instanceof ApiError)) state.warnings.push(e.stack);
      if (!res.headersSent) return sendJson(res, entry, err.code, err.body);
      return res.end();
    }
  };

  // Upgrade requests (WebSocket exec; SPDY attempts get a clear 400).
  const upgrade = async (req, socket, head) => {
    await eksAuthenticate(req);
    const u = new URL(req.url, 'https://127.0.0.1');
    const entry = record(req, u);
    const refuse = (err) => {
      entry.status = err.code;
      const text = JSON.stringify(err.body);
      socket.end(`HTTP/1.1 ${err.code} ${err.code === 401 ? 'Unauthorized' : err.code === 403 ? 'Forbidden' : err.code === 404 ? 'Not Found' : 'Bad Request'}\r\n`
        + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nDate: ${clock.httpDate()}\r\nConnection: close\r\n\r\n${text}`);
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

  // Seed: the usual namespaces (and the shell's), the bootstrap RBAC policy, the nodes,
  // and kube-public/cluster-info (kubeadm's discovery ConfigMap, naming the in-cluster URL
  // and CA).
  const admin = auth.authenticate({ headers: { authorization: `Bearer ${adminToken}` } });
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease', shellNamespace]) {
    if (!store.has('namespaces', undefined, ns)) api.create('namespaces', undefined, { metadata: { name: ns } }, new URLSearchParams(), admin);
  }
  const { clusterRoles, clusterRoleBindings } = bootstrapPolicy();
  for (const r of clusterRoles) api.create('clusterroles', undefined, r, new URLSearchParams(), admin);
  for (const b of clusterRoleBindings) api.create('clusterrolebindings', undefined, b, new URLSearchParams(), admin);
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

  // Objects as an administrator would `kubectl create` them: full objects with apiVersion
  // and kind, through the same validation (run as the admin identity).
  const createObjects = (objects) => objects.map((o) => {
    const resource = Object.keys(RESOURCES).find((r) => RESOURCES[r].kind === o.kind && (RESOURCES[r].group ?? '') === ((o.apiVersion ?? 'v1').split('/').length > 1 ? o.apiVersion.split('/')[0] : ''));
    if (!resource) throw new Error(`the fake apiserver does not serve ${o.apiVersion} ${o.kind}`);
    const ns = RESOURCES[resource].namespaced ? (o.metadata?.namespace ?? 'default') : undefined;
    return api.create(resource, ns, structuredClone(o), new URLSearchParams(), admin).body;
  });

  const listen = (certs) => new Promise((ok, fail) => {
    // Clients may present a certificate (requestCert); one that does not verify against the
    // client CA is not refused at the handshake but authenticates nobody, as kube-apiserver's
    // TLS config (ClientAuth: RequestClientCert) leaves it to the x509 authenticator.
    const srv = createServer({
      key: certs.keyPem, cert: certs.certPem, ALPNProtocols: ['http/1.1'],
      requestCert: true, rejectUnauthorized: false, ca: [clientCa.caPem],
    }, (req, res) => {
      handle(req, res).catch((e) => {
        state.warnings.push(e.stack);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    srv.on('upgrade', upgrade);
    // An idle connection is kept 90 s, as kube-apiserver keeps it
    // (staging/src/k8s.io/apiserver/pkg/server/secure_serving.go, SecureServingInfo.Serve:
    // IdleTimeout 90 s). At 30 s every bridge's 30 s token check (wsbridge/cluster_shell.c)
    // found its connection closed and made a new one: at 500 terminals, 17 TLS handshakes a
    // second on the thread that carries every exec stream.
    srv.keepAliveTimeout = 90000;
    srv.once('error', fail);
    srv.listen(certs === tls ? port : 0, host, () => ok(srv));
  });
  const server = await listen(tls);
  const clusterServer = await listen(clusterTls);
  actualPort = server.address().port;
  url = `https://${host}:${actualPort}`;
  clusterPort = clusterServer.address().port;
  clusterUrl = `https://${host}:${clusterPort}`;
  store.create('configmaps', 'kube-public', { metadata: { name: 'cluster-info' }, data: { kubeconfig: clusterInfoKubeconfig(clusterUrl, clusterTls.caPem) } });

  let closed = false;
  return {
    url, port: actualPort, caPem: tls.caPem, caFile: tls.caFile, adminToken, state, clock,
    clusterUrl, clusterCaPem: clusterTls.caPem,
    createObjects,
    setEksAuth(config) { eksAuth = config; },
    forgetWebhookTokens: () => auth.forgetWebhookTokens(),
    // Faults for the next watches of a resource ('reset', '500', 'gone'; resources.mjs).
    addWatchFaults: (resource, faults) => { for (const fault of faults) api.watchFaults.push({ resource, fault }); },
    // A client certificate the cluster's client CA signed ({ cn, groups }), and the CA.
    issueClientCert: (opts) => clientCa.issue(opts),
    clientCaPem: clientCa.caPem,
    // Bearer tokens of static users, added and revoked at run time (--token-auth-file).
    addUserToken: (token, username, groups = []) => auth.tokens.set(token, { username, groups: [...groups, 'system:authenticated'] }),
    revokeToken: (token) => auth.tokens.delete(token),
    // Where a file of a running pod is on this host (the pod's filesystem is a directory).
    podPath: (ns, name, podPath) => pods.podFs(ns, name)?.hostPath(podPath) ?? null,
    // A ServiceAccount token without a TokenRequest round trip (for tests).
    mintToken: (ns, sa, seconds = 3600) => auth.mintServiceAccountToken(store.get('serviceaccounts', ns, sa), seconds).token,
    async close() {
      if (closed) return;
      closed = true;
      await execServer.close();
      pods.stop();
      await Promise.all([server, clusterServer].map((srv) => new Promise((ok) => {
        srv.close(ok);
        srv.closeAllConnections();
      })));
      rmSync(tls.dir, { recursive: true, force: true });
      rmSync(clusterTls.dir, { recursive: true, force: true });
      rmSync(clientCa.dir, { recursive: true, force: true });
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
      'max-token-expiration-seconds': { type: 'string', default: '0' },
      'build-dir': { type: 'string' },
    },
  });
  const api = await startApiserver({
    port: Number(values.port),
    adminToken: values['admin-token'],
    readyDelayMs: Number(values['ready-delay-ms']),
    execProtocols: values['exec-protocols'].split(',').map((s) => s.trim()),
    maxTokenExpirationSeconds: Number(values['max-token-expiration-seconds']),
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
