// The AWS stand-ins for node shell: STS (AssumeRoleWithWebIdentity), SSM (JSON 1.1) and the
// ssmmessages data channel, over HTTPS on 127.0.0.1 with a generated CA.
//
//   import { startAws } from './server.mjs';
//   const aws = await startAws({ idpIssuer, roles, instances });
//   // aws.stsUrl, aws.ssmUrl (also the wss:// data channel and /__test/*), aws.caFile
//   await aws.close();
//
// Run directly (the local demo): node tests/fakes/aws/server.mjs [--config opts.json]
//   [--idp-issuer URL] [--idp-ca-file FILE] [--audience CLIENT_ID] [--cluster NAME]
// prints one JSON line {"ready":true,...} on stdout and stops cleanly on SIGINT/SIGTERM.
//
// Options (all optional):
//   account ('123456789012'), region ('us-east-1'), clusterName ('demo')
//   idpIssuer          issuer URL of the IdP; discovery and JWKS are fetched from it
//   idpCaPem/idpCaFile CA to trust when fetching from an https IdP
//   oidcProviderUrl    the IAM OIDC provider's URL (default idpIssuer); a token's iss must
//                      equal it exactly
//   idpClientIds       the provider's client-id list (aud must be in it when given)
//   roles              [{ arn, trust: { aud, sub?: [..], groups?: [..] }, permissions?: [statements],
//                        maxSessionDuration? }]; permissions default to the seed's §4b policy
//   instances          [{ id, tags, pingStatus: 'Online'|'ConnectionLost', platform }]
//   faults             global data-channel faults (see datachannel.mjs)
//   hostCommand        argv of the "EC2 host" shell (default: bash -i with a fake prompt)
//   disconnectedTimeoutMs  a session whose client left without TerminateSession ends after
//                      this long (default 20 minutes, like SSM's idle timeout)
//   eksClusters        [{ name, endpoint, caPem }] for eks:DescribeCluster (also addEksCluster)
//   podIdentity        { roleArn, token, permissions?, durationSeconds? }: the EKS Pod Identity
//                      agent at metadataUrl/v1/credentials hands out this role's credentials
//                      to a caller whose Authorization is token (setPodIdentityToken rotates it)
//   instanceProfile    { roleArn, permissions?, durationSeconds? }: IMDSv2 at metadataUrl
//                      (/latest/...) hands out this role's credentials
//
// The server's own credentials (podIdentity, instanceProfile) are marked serverIdentity in
// state.credentials, so tests can tell them from an operator's.
import http from 'node:http';
import https from 'node:https';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { makeCertificates } from './certs.mjs';
import { createSts } from './sts.mjs';
import { createSsm } from './ssm.mjs';
import { createDataChannel } from './datachannel.mjs';
import { createKms } from './kms.mjs';
import { createEks } from './eks.mjs';
import { createMetadata } from './metadata.mjs';
import { roleIdFor } from './sts.mjs';
import { randomBytes } from 'node:crypto';

const MAX_BODY = 1 << 20;

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) { reject(new Error('body too large')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res, status, obj) {
  const text = JSON.stringify(obj);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

function defaultRoles(account, audience) {
  return [{ arn: `arn:aws:iam::${account}:role/periscope-node-shell`, trust: audience ? { aud: audience } : {} }];
}

function defaultInstances(clusterName) {
  return [{ id: 'i-0123456789abcdef0', tags: { 'eks:cluster-name': clusterName }, pingStatus: 'Online', platform: 'Amazon Linux' }];
}

export async function startAws(opts = {}) {
  const account = opts.account ?? '123456789012';
  const clusterName = opts.clusterName ?? 'demo';
  const config = {
    account,
    region: opts.region ?? 'us-east-1',
    clusterName,
    idpIssuer: opts.idpIssuer,
    oidcProviderUrl: opts.oidcProviderUrl ?? opts.idpIssuer,
    idpClientIds: opts.idpClientIds,
    idpCa: opts.idpCaPem ?? (opts.idpCaFile ? readFileSync(opts.idpCaFile, 'utf8') : undefined),
    roles: opts.roles ?? defaultRoles(account, opts.audience),
    hostCommand: opts.hostCommand,
    disconnectedTimeoutMs: opts.disconnectedTimeoutMs,
  };
  const initialInstances = () => new Map((opts.instances ?? defaultInstances(clusterName))
    .map((i) => [i.id, { pingStatus: 'Online', tags: {}, ...i }]));
  const state = {
    credentials: new Map(),  // accessKeyId -> issued credentials (with secret)
    sessions: new Map(),     // sessionId -> session record
    instances: initialInstances(),
    requests: [],            // every STS/SSM call: service, action, accessKeyId, authorization
    terminated: [],          // TerminateSession calls that ended a session
    trustDenials: [],
    faults: { ...(opts.faults ?? {}) },
    eksClusters: new Map((opts.eksClusters ?? []).map((c) => [c.name, { createdAt: Date.now() / 1000, ...c }])),
  };

  const tls = await makeCertificates();
  const serverOpts = { key: tls.keyPem, cert: tls.certPem };
  const stsServer = https.createServer(serverOpts);
  const ssmServer = https.createServer(serverOpts);
  const eksServer = https.createServer(serverOpts);
  const metadataServer = http.createServer();
  const [stsPort, ssmPort, eksPort, metadataPort] = await Promise.all([listen(stsServer), listen(ssmServer), listen(eksServer), listen(metadataServer)]);
  const stsUrl = `https://127.0.0.1:${stsPort}`;
  const ssmUrl = `https://127.0.0.1:${ssmPort}`;
  const eksUrl = `https://127.0.0.1:${eksPort}`;
  const metadataUrl = `http://127.0.0.1:${metadataPort}`;
  const ssmmessagesUrl = `wss://127.0.0.1:${ssmPort}`;

  const channel = createDataChannel({ config, state });
  const sts = createSts({ config, state });
  const ssm = createSsm({ config, state, channel, streamBase: ssmmessagesUrl });
  const kms = createKms({ config, state, authorize: ssm.authorize });
  channel.setKms(kms);
  const eks = createEks({ config, state });
  // Temporary credentials of one of the server's roles, as STS would issue them to the
  // Pod Identity agent or to EC2 for the instance profile.
  const issueServerCredentials = ({ roleArn, permissions, durationSeconds = 3600, source }) => {
    const roleName = roleArn.split('/').pop();
    const sessionName = source === 'podIdentity'
      ? `eks-${clusterName}-periscope-${randomBytes(4).toString('hex')}`.slice(0, 64)
      : 'i-0123456789abcdef0';
    const cred = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: `IQoJb3JpZ2luX2VjE${randomBytes(300).toString('base64')}`,
      expiresAt: Date.now() + durationSeconds * 1000,
      roleArn, roleName, roleSessionName: sessionName, account,
      userId: `${roleIdFor(roleArn)}:${sessionName}`,
      assumedRoleArn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`,
      assumedRoleId: `${roleIdFor(roleArn)}:${sessionName}`,
      permissions: permissions ?? [{ Effect: 'Allow', Action: 'eks:DescribeCluster', Resource: '*' }],
      serverIdentity: true, source,
    };
    state.credentials.set(cred.accessKeyId, cred);
    return cred;
  };
  let podIdentityToken = opts.podIdentity?.token;
  const metadata = createMetadata({
    podIdentity: opts.podIdentity && { ...opts.podIdentity, token: () => podIdentityToken },
    instanceProfile: opts.instanceProfile,
    issue: issueServerCredentials,
    record: (service, req) => {
      const r = { service, action: req.method === 'PUT' ? 'token' : 'credentials', method: req.method, path: req.url, accessKeyId: null, status: 0, time: new Date().toISOString() };
      state.requests.push(r);
      return r;
    },
  });

  const snapshot = () => ({
    credentials: [...state.credentials.values()].map(({ secretAccessKey, sessionToken, ...rest }) => ({
      ...rest, expiration: new Date(rest.expiresAt).toISOString(),
    })),
    sessions: [...state.sessions.values()].map(({ token, ...rest }) => rest),
    terminated: state.terminated,
    requests: state.requests,
    trustDenials: state.trustDenials,
    instances: [...state.instances.values()],
    faults: state.faults,
  });

  const api = {
    stsUrl,
    ssmUrl,
    eksUrl,
    metadataUrl,
    podIdentityUrl: `${metadataUrl}/v1/credentials`,
    addEksCluster(c) { state.eksClusters.set(c.name, { createdAt: Date.now() / 1000, ...c }); },
    setPodIdentityToken(t) { podIdentityToken = t; },
    ssmmessagesUrl,
    kmsUrl: ssmUrl,             // KMS shares the SSM port (told apart by X-Amz-Target)
    kmsKeyArn: kms.keyArn,
    // The agent's kms:Decrypt (the plaintext data key, or InvalidCiphertextException).
    kmsDecrypt: (blob, context) => kms.decrypt(blob, context),
    testUrl: `${ssmUrl}/__test`,
    caPem: tls.caPem,
    caFile: tls.caFile,
    state,
    config,
    snapshot,
    setFaults(faults, sessionId) {
      if (sessionId) {
        const rec = state.sessions.get(sessionId);
        if (!rec) throw new Error(`no session ${sessionId}`);
        Object.assign(rec.faults, faults);
      } else Object.assign(state.faults, faults);
    },
    // StreamUrls from now on start with this base (wss://host:port) instead of the fake's own.
    setStreamBase(base) {
      config.streamBase = base ?? undefined;
    },
    // MGS's flow control towards the client: 'pause' or 'start'. Resolves (true) once the
    // client has read it.
    publication(sessionId, kind) {
      return channel.publication(sessionId, kind);
    },
    // The output messages a session's client has not acknowledged yet (for test messages).
    unacked(sessionId) {
      return channel.unacked(sessionId);
    },
    // Drops a session's data channel now, as a lost TCP connection does.
    cutDataChannel(sessionId) {
      return channel.cut(sessionId);
    },
    setInstance(inst) {
      const old = state.instances.get(inst.id) ?? { pingStatus: 'Online', tags: {} };
      state.instances.set(inst.id, { ...old, ...inst });
    },
    expireCredentials(accessKeyId) {
      const cred = state.credentials.get(accessKeyId);
      if (!cred) throw new Error('unknown access key id');
      cred.expiresAt = Date.now() - 1000;
    },
    reset() {
      channel.forget();
      state.credentials.clear();
      state.sessions.clear();
      state.instances = initialInstances();
      state.requests.length = 0;
      state.terminated.length = 0;
      state.trustDenials.length = 0;
      for (const k of Object.keys(state.faults)) delete state.faults[k];
      Object.assign(state.faults, opts.faults ?? {});
    },
    // Resolves once predicate(state) holds; rejects after timeoutMs. Re-checked on every
    // data-channel event and at least every 50 ms.
    waitFor(predicate, timeoutMs = 10000, what = 'condition') {
      return new Promise((resolve, reject) => {
        let off = () => {};
        let poll;
        const finish = (fn, v) => { off(); clearInterval(poll); clearTimeout(timer); fn(v); };
        const check = () => {
          let v;
          try { v = predicate(state); } catch (e) { finish(reject, e); return; }
          if (v) finish(resolve, v);
        };
        const timer = setTimeout(() => finish(reject, new Error(`timed out waiting for ${what}`)), timeoutMs);
        off = channel.onChange(check);
        poll = setInterval(check, 50);
        check();
      });
    },
    async close() {
      const exited = channel.hostsExited();
      channel.closeAll();
      const servers = [stsServer, ssmServer, eksServer, metadataServer];
      for (const s of servers) s.closeAllConnections?.();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r()))));
      await exited;
      rmSync(tls.dir, { recursive: true, force: true });
    },
  };

  async function testEndpoint(req, res, body) {
    const path = new URL(req.url, ssmUrl).pathname;
    let input = {};
    if (body.length) {
      try { input = JSON.parse(body.toString('utf8')); } catch { return sendJson(res, 400, { error: 'body is not JSON' }); }
    }
    try {
      if (req.method === 'GET' && path === '/__test/state') return sendJson(res, 200, snapshot());
      if (req.method === 'POST' && path === '/__test/reset') { api.reset(); return sendJson(res, 200, { ok: true }); }
      if (req.method === 'POST' && path === '/__test/faults') {
        const { sessionId, ...faults } = input;
        api.setFaults(faults, sessionId);
        return sendJson(res, 200, { ok: true, faults: sessionId ? state.sessions.get(sessionId).faults : state.faults });
      }
      if (req.method === 'POST' && path === '/__test/instances') { api.setInstance(input); return sendJson(res, 200, { ok: true }); }
      if (req.method === 'POST' && path === '/__test/expire-credentials') {
        api.expireCredentials(input.accessKeyId);
        return sendJson(res, 200, { ok: true });
      }
      return sendJson(res, 404, { error: `no test endpoint ${req.method} ${path}` });
    } catch (e) {
      return sendJson(res, 400, { error: e.message });
    }
  }

  const guard = (fn) => async (req, res) => {
    let body;
    try {
      body = await readBody(req);
    } catch {
      if (!res.headersSent) sendJson(res, 413, { error: 'body too large' });
      return;
    }
    try {
      await fn(req, res, body);
    } catch (e) {
      console.error('aws fake:', e);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    }
  };

  stsServer.on('request', guard((req, res, body) => {
    if (new URL(req.url, stsUrl).pathname !== '/') return sendJson(res, 404, { error: 'not found' });
    return sts(req, res, body);
  }));
  ssmServer.on('request', guard((req, res, body) => {
    if (req.url.startsWith('/__test/')) return testEndpoint(req, res, body);
    if ((req.headers['x-amz-target'] ?? '').startsWith('TrentService.')) return kms.handle(req, res, body);
    return ssm(req, res, body);
  }));
  eksServer.on('request', guard((req, res, body) => eks(req, res, body)));
  metadataServer.on('request', guard((req, res) => metadata(req, res)));
  ssmServer.on('upgrade', (req, socket, head) => channel.handleUpgrade(req, socket, head));
  for (const s of [stsServer, ssmServer, eksServer, metadataServer]) s.on('clientError', (err, socket) => socket.destroy());

  return api;
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--config') { Object.assign(out, JSON.parse(readFileSync(v, 'utf8'))); i += 1; }
    else if (k === '--idp-issuer') { out.idpIssuer = v; i += 1; }
    else if (k === '--idp-ca-file') { out.idpCaFile = v; i += 1; }
    else if (k === '--audience') { out.audience = v; i += 1; }
    else if (k === '--cluster') { out.clusterName = v; i += 1; }
    else throw new Error(`unknown argument ${k}`);
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const aws = await startAws(parseArgs(process.argv.slice(2)));
  process.stdout.write(`${JSON.stringify({
    ready: true,
    stsUrl: aws.stsUrl,
    ssmUrl: aws.ssmUrl,
    ssmmessagesUrl: aws.ssmmessagesUrl,
    eksUrl: aws.eksUrl,
    metadataUrl: aws.metadataUrl,
    testUrl: aws.testUrl,
    caFile: aws.caFile,
    region: aws.config.region,
    account: aws.config.account,
    roles: aws.config.roles.map((r) => r.arn),
    instances: [...aws.state.instances.keys()],
    pid: process.pid,
  })}\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await aws.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
