// lib/wsclient + lib/k8s_channel against real servers, through the ws-probe tool:
//  - websocketd (the Debian package) running `cat`, over ws:// and wss:// (Go's TLS
//    offers h2 by ALPN: the client must stay on HTTP/1.1);
//  - a Node `ws` server speaking the Kubernetes exec framing (v5/v4 negotiation, channel
//    bytes, Status on channel 3, refusals with a Status body, pings, oversized messages,
//    a reader that stops reading to check the client's backpressure).
import { test, before, after } from '../lib/bounded-test.mjs';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { WebSocketServer } from 'ws';

import { within } from '../lib/deadline.mjs';
import { spawnOnFreePort } from '../lib/stack.mjs';
import { execBounded } from '../lib/sync-child.mjs';

const BUILD = path.resolve(process.env.PERISCOPE_BUILD_DIR ?? 'build');
const PROBE = path.join(BUILD, 'tests/tools/ws-probe');
const DEADLINE_MS = 15000;

const V5 = 'v5.channel.k8s.io';
const V4 = 'v4.channel.k8s.io';

// ---------------------------------------------------------------- helpers

async function freePort() {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  s.close();
  await once(s, 'close');
  return port;
}

async function until(what, cond, ms = DEADLINE_MS) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Runs ws-probe; collects its JSON lines. The caller writes stdin lines and ends stdin.
function probe(args) {
  assert.ok(fs.existsSync(PROBE), `${PROBE} is missing: build first (make)`);
  const child = spawn(PROBE, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {}); // the probe may be gone already when we end its input
  const events = [];
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    events.push(JSON.parse(line));
  });
  const exited = new Promise((resolve) => {
    child.on('close', (code) => resolve(code));
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS * 2);
  exited.then(() => clearTimeout(killer));
  return {
    child,
    events,
    get stderr() { return stderr; },
    send(line) { child.stdin.write(`${line}\n`); },
    end() { child.stdin.end(); },
    find(pred) { return events.find(pred); },
    wait(what, pred) { return until(what, () => events.find(pred)); },
    async done() {
      const code = await exited;
      return { code, events, stderr };
    },
  };
}

const ofKind = (event) => (e) => e.event === event;
const closedEvent = (r) => r.events.find(ofKind('closed'));
const statusEvent = (r) => r.events.find(ofKind('status'));
const channelText = (r, ch) => r.events.filter((e) => e.event === 'k8s' && e.channel === ch)
  .map((e) => e.data).join('');

// ---------------------------------------------------------------- websocketd

let tmp;
const websocketds = [];

// On a port websocketd itself listens on (another suite may take a port between our pick
// and its bind: then it is started again on another).
async function startWebsocketd(tls) {
  const { port } = await spawnOnFreePort('websocketd', (p) => {
    const args = [`--address=127.0.0.1`, `--port=${p}`];
    if (tls) args.push('--ssl', `--sslcert=${tmp}/server.pem`, `--sslkey=${tmp}/server.key`);
    args.push('cat');
    const child = spawn('websocketd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let said = '';
    child.stderr.on('data', (d) => { said += d; });
    websocketds.push(child);
    return { child, output: () => said };
  });
  return port;
}

function makeCertificates(dir) {
  const openssl = (...a) => execBounded('openssl', a, { cwd: dir, stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
    '-days', '2', '-subj', '/CN=periscope test CA', '-addext', 'basicConstraints=critical,CA:TRUE');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr',
    '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(path.join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
    '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext');
}

// ---------------------------------------------------------------- fake exec server

// One server for all k8s cases: the pod name in the path picks the behaviour.
const seen = [];          // { url, rawHeaders, protocol, messages, closeCode, pongs, pings }
const slowSockets = [];   // server sides of "slow" connections, for the backpressure case
let k8sPort;
let k8sServer;
let k8sTlsServer;

const statusExit3 = JSON.stringify({
  metadata: {}, status: 'Failure',
  message: 'command terminated with non-zero exit code: error executing command [sh], exit code 3',
  reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] },
});
const statusSuccess = JSON.stringify({ metadata: {}, status: 'Success' });
const frame = (ch, payload = '') => Buffer.concat([Buffer.from([ch]), Buffer.from(payload)]);

function refuse(socket, code, reason, message) {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {},
    status: 'Failure', message, reason, code });
  socket.end(`HTTP/1.1 ${code} ${reason}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

function acceptFor(key) {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

function podBehaviour(pod, ws, rec) {
  ws.on('message', (data) => {
    rec.messages.push(Buffer.from(data));
    const ch = data[0];
    const payload = data.subarray(1);
    if (pod === 'slow') return;
    if (ch === 0) ws.send(frame(1, payload.toString().toUpperCase()));
    if (ch === 4) {
      const { Width, Height } = JSON.parse(payload.toString());
      ws.send(frame(2, `resize ${Width}x${Height}`));
    }
    if (ch === 255 && payload.length === 1 && payload[0] === 0) {
      ws.send(frame(3, pod === 'slow' ? statusSuccess : statusExit3));
      ws.close(1000);
    }
  });
  switch (pod) {
    case 'fragments':
      // One message in three frames: the client must join them.
      ws.send(frame(1, 'hel'), { fin: false });
      ws.send(Buffer.from('lo '), { fin: false });
      ws.send(Buffer.from('world'), { fin: true });
      break;
    case 'pinger': {
      ws.on('pong', () => { rec.pongs++; });
      ws.on('ping', () => { rec.pings++; });
      const t = setInterval(() => {
        ws.ping();
        if (rec.pongs >= 3 && rec.pings >= 3) {
          clearInterval(t);
          ws.send(frame(3, statusSuccess));
          ws.close(1000);
        }
      }, 20);
      ws.on('close', () => clearInterval(t));
      break;
    }
    case 'big':
      ws.send(frame(1, 'x'.repeat(5000)));
      break;
    case 'abrupt':
      // 1.32-era apiserver/kubelet: Status, close frame, and TCP closed at once.
      ws.send(frame(1, 'bye'));
      ws.send(frame(3, statusExit3));
      ws.close(1000);
      ws._socket.end();
      break;
    case 'fin-no-close':
      // Status, then TCP ends without a close frame.
      ws.send(frame(3, statusExit3), () => ws._socket.destroy());
      break;
    case 'slow': {
      // Stop reading from the client; keep talking to it.
      ws.pause();
      slowSockets.push(ws);
      let n = 0;
      const t = setInterval(() => ws.send(frame(1, `tick ${++n}\n`)), 25);
      ws.on('close', () => clearInterval(t));
      rec.stopTicks = () => clearInterval(t);
      break;
    }
    default:
      break;
  }
}

async function startK8sServer(tls) {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 64 * 1024 * 1024,
    handleProtocols(offered, req) {
      const v4only = new URL(req.url, 'http://x').searchParams.get('server') === 'v4only';
      for (const p of offered) {
        if (p === V5 && !v4only) return p;
        if (p === V4) return p;
      }
      return false;
    },
  });
  const plain = (req, res) => res.writeHead(400).end();
  const server = tls
    ? createTlsServer({ cert: fs.readFileSync(path.join(tmp, 'server.pem')),
      key: fs.readFileSync(path.join(tmp, 'server.key')) }, plain)
    : createServer(plain);
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url, 'http://x');
    const m = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/);
    const rec = { url, rawHeaders: req.rawHeaders, messages: [], pongs: 0, pings: 0 };
    seen.push(rec);
    if (!m) return refuse(socket, 404, 'NotFound', 'the server could not find the requested resource');
    const pod = decodeURIComponent(m[2]);
    if (pod === 'forbidden') {
      return refuse(socket, 403, 'Forbidden',
        'pods "forbidden" is forbidden: User "alice" cannot create resource "pods/exec" in API group "" in the namespace "ns"');
    }
    if (pod === 'bad-accept') {
      return socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n' +
        `Connection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor('not the key')}\r\n` +
        `Sec-WebSocket-Protocol: ${V5}\r\n\r\n`);
    }
    if (pod === 'no-protocol') {
      return socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n' +
        `Connection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(req.headers['sec-websocket-key'])}\r\n\r\n`);
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      rec.protocol = ws.protocol;
      ws.on('close', (code) => { rec.closeCode = code; });
      // First frame after the upgrade: empty, on the lowest writable channel.
      ws.send(frame(1));
      podBehaviour(pod, ws, rec);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, wss, port: server.address().port };
}

const k8sUrl = (pod, query = 'command=sh&stdin=true&stdout=true') =>
  `ws://127.0.0.1:${k8sPort}/api/v1/namespaces/ns/pods/${pod}/exec?${query}`;
const k8sTlsUrl = (pod, query = 'command=sh&stdin=true&stdout=true') =>
  `wss://127.0.0.1:${k8sTlsServer.port}/api/v1/namespaces/ns/pods/${pod}/exec?${query}`;
const recordFor = (pod) => seen.filter((r) => r.url.pathname.includes(`/pods/${pod}/`)).at(-1);

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsclient-test-'));
  makeCertificates(tmp);
  k8sServer = await startK8sServer(false);
  k8sPort = k8sServer.port;
  k8sTlsServer = await startK8sServer(true);
});

after(async () => {
  for (const c of websocketds) {
    c.kill('SIGTERM');
    if (c.exitCode === null) await within(`websocketd (pid ${c.pid}) to exit on SIGTERM`, once(c, 'close'), DEADLINE_MS);
  }
  for (const s of [k8sServer, k8sTlsServer]) {
    for (const ws of s.wss.clients) ws.terminate();
    s.server.closeAllConnections?.();
    s.server.close();
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------- websocketd cases

async function echoThroughWebsocketd(url, extra = []) {
  const p = probe([...extra, url]);
  await p.wait('open', ofKind('open'));
  p.send('hello');
  p.send('héllo wörld');
  await p.wait('second echo', (e) => e.event === 'message' && e.data === 'héllo wörld');
  p.end();
  return p.done();
}

test('websocketd over ws://: lines come back and the close handshake is clean', async () => {
  const port = await startWebsocketd(false);
  const r = await echoThroughWebsocketd(`ws://127.0.0.1:${port}/`);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.events.filter(ofKind('message')).map((e) => [e.opcode, e.data]),
    [['text', 'hello'], ['text', 'héllo wörld']]);
  assert.equal(r.events.find(ofKind('open')).subprotocol, null);
  const c = closedEvent(r);
  assert.equal(c.close_sent, true);
  assert.equal(c.code_sent, 1000);
  assert.equal(c.close_received, true);
  assert.equal(c.error, null);
});

test('websocketd over wss:// with a pinned CA (Go offers h2; we stay on HTTP/1.1)', async () => {
  const port = await startWebsocketd(true);
  const r = await echoThroughWebsocketd(`wss://127.0.0.1:${port}/`, ['--ca', path.join(tmp, 'ca.pem')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.events.filter(ofKind('message')).length, 2);
  assert.equal(closedEvent(r).code_received, 1000);
});

// The bridge queues a keystroke after its poll() and hands it over with ws_client_flush in
// the same pass (wsbridge's backends): the message must be with the kernel then, without
// another poll() or ws_client_on_ready, in plain and TLS (a GnuTLS record) alike.
async function flushWhileHeld(url, extra = []) {
  const p = probe(['--hold', ...extra, url]);
  await p.wait('open', ofKind('open'));
  p.send('first key');
  const first = await p.wait('first flush', ofKind('flushed'));
  p.send('second key');
  await p.wait('second flush', (e) => e.event === 'flushed' && e !== first);
  p.end();
  const r = await p.done();
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.events.filter(ofKind('flushed')).map((e) => [e.rc, e.pending]), [[0, 0], [0, 0]]);
  // Read only after stdin ended: the echoes of what the flushes alone had sent.
  assert.deepEqual(r.events.filter(ofKind('message')).map((e) => e.data), ['first key', 'second key']);
}

test('ws_client_flush hands a queued message to the kernel without a poll (ws://)', async () => {
  await flushWhileHeld(`ws://127.0.0.1:${await startWebsocketd(false)}/`);
});

test('ws_client_flush hands a queued message to the kernel without a poll (wss://)', async () => {
  await flushWhileHeld(`wss://127.0.0.1:${await startWebsocketd(true)}/`, ['--ca', path.join(tmp, 'ca.pem')]);
});

test('wss:// to a server the system store does not trust fails before any byte of WebSocket', async () => {
  const port = await startWebsocketd(true);
  const p = probe([`wss://127.0.0.1:${port}/`]);
  p.end();
  const r = await p.done();
  assert.equal(r.code, 1);
  const e = r.events.find(ofKind('connect_error'));
  assert.match(e.error, /certificate/i);
  assert.equal(r.events.find(ofKind('open')), undefined);
});

test('a closed port is a connect error, not a hang', async () => {
  const port = await freePort();
  const p = probe(['--timeout-ms', '3000', `ws://127.0.0.1:${port}/`]);
  p.end();
  const r = await p.done();
  assert.equal(r.code, 1);
  assert.match(r.events.find(ofKind('connect_error')).error, /cannot connect/);
});

// ---------------------------------------------------------------- k8s exec cases

test('exec v5: stdin, resize, stdin half-close, exit code 3 from the Status', async () => {
  const p = probe(['--resize', '100x30',
    '--header', 'Authorization: Bearer test-token',
    '--header', 'Impersonate-User: alice',
    '--header', 'Impersonate-Group: devs',
    '--header', 'Impersonate-Group: ops',
    '--exec', 'ns/echo', '--command', 'sh', '--command', '-c',
    '--command', 'echo a+b & x=1/2', '--container', 'shell', '--tty',
    `http://127.0.0.1:${k8sPort}`]);
  await p.wait('open', ofKind('open'));
  p.send('ls -l');
  await p.wait('echo of stdin', (e) => e.event === 'k8s' && e.channel === 1 && e.data === 'LS -L\n');
  p.end();
  const r = await p.done();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.events.find(ofKind('open')).subprotocol, V5);

  const rec = recordFor('echo');
  // The argv survives the query encoding; flags as kubectl sends them for a TTY.
  assert.deepEqual(rec.url.searchParams.getAll('command'), ['sh', '-c', 'echo a+b & x=1/2']);
  assert.equal(rec.url.searchParams.get('container'), 'shell');
  assert.equal(rec.url.searchParams.get('tty'), 'true');
  assert.equal(rec.url.searchParams.get('stderr'), null);
  // Headers: one protocol line with both offers, auth and impersonation, no extensions.
  const values = (name) => rec.rawHeaders.flatMap((v, i) =>
    (i % 2 === 0 && v.toLowerCase() === name ? [rec.rawHeaders[i + 1]] : []));
  assert.deepEqual(values('sec-websocket-protocol'), [`${V5}, ${V4}`]);
  assert.deepEqual(values('authorization'), ['Bearer test-token']);
  assert.deepEqual(values('impersonate-user'), ['alice']);
  assert.deepEqual(values('impersonate-group'), ['devs', 'ops']);
  assert.deepEqual(values('sec-websocket-extensions'), []);

  // What the server got: the resize first, then stdin, then FF 00.
  assert.deepEqual(rec.messages.map((m) => m.toString('latin1')),
    ['\x04{"Width":100,"Height":30}\n', '\x00ls -l\n', '\xff\x00']);
  assert.equal(channelText(r, 2), 'resize 100x30');
  // The empty "connected" frame shows up as an empty channel-1 message.
  assert.ok(r.events.some((e) => e.event === 'k8s' && e.channel === 1 && e.len === 0));
  const st = statusEvent(r);
  assert.equal(st.kind, 'exit');
  assert.equal(st.exit_code, 3);
  assert.equal(st.describe, 'command terminated with exit code 3');
  assert.equal(closedEvent(r).code_received, 1000);
  assert.equal(closedEvent(r).error, null);
});

test('exec v4 when the server has no v5: no half-close, the client ends with 1000', async () => {
  const p = probe(['--k8s', k8sUrl('echo', 'command=cat&stdin=true&stdout=true&server=v4only')]);
  await p.wait('open', ofKind('open'));
  p.send('abc');
  await p.wait('echo', (e) => e.event === 'k8s' && e.channel === 1 && e.data === 'ABC\n');
  p.end();
  const r = await p.done();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.events.find(ofKind('open')).subprotocol, V4);
  const rec = recordFor('echo');
  assert.equal(rec.protocol, V4);
  assert.ok(!rec.messages.some((m) => m[0] === 255), 'v4 must never get a 255 frame');
  await until('server saw the close', () => rec.closeCode !== undefined);
  assert.equal(rec.closeCode, 1000);
  // No status arrived: a clean close means success.
  assert.equal(statusEvent(r).kind, 'success');
});

test('a 403 refusal surfaces the Status message, reason and code', async () => {
  const p = probe(['--k8s', k8sUrl('forbidden')]);
  p.end();
  const r = await p.done();
  assert.equal(r.code, 1);
  const e = r.events.find(ofKind('http_error'));
  assert.equal(e.status, 403);
  assert.equal(e.reason, 'Forbidden');
  assert.equal(e.code, 403);
  assert.match(e.message, /cannot create resource "pods\/exec"/);
  assert.match(e.describe, /^Forbidden \(403\): pods "forbidden" is forbidden/);
  assert.equal(JSON.parse(e.body).kind, 'Status');
});

test('a 101 with a wrong Sec-WebSocket-Accept is refused', async () => {
  const p = probe(['--k8s', k8sUrl('bad-accept')]);
  p.end();
  const r = await p.done();
  assert.equal(r.code, 1);
  assert.match(r.events.find(ofKind('connect_error')).error, /Sec-WebSocket-Accept does not match/);
});

test('a 101 without a subprotocol is refused when one was offered', async () => {
  const p = probe(['--k8s', k8sUrl('no-protocol')]);
  p.end();
  const r = await p.done();
  assert.equal(r.code, 1);
  assert.match(r.events.find(ofKind('connect_error')).error, /no subprotocol/);
});

test('fragmented messages are joined', async () => {
  const p = probe(['--k8s', k8sUrl('fragments')]);
  await p.wait('joined message', (e) => e.event === 'k8s' && e.data === 'hello world');
  p.end();
  const r = await p.done();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statusEvent(r).exit_code, 3);
});

test('pings both ways: server pings are answered, the client sends its own', async () => {
  const p = probe(['--k8s', '--ping-ms', '20', k8sUrl('pinger')]);
  const r = await p.done();
  assert.equal(r.code, 0, r.stderr);
  const rec = recordFor('pinger');
  assert.ok(rec.pongs >= 3, `pongs: ${rec.pongs}`);
  assert.ok(rec.pings >= 3, `pings: ${rec.pings}`);
  assert.equal(statusEvent(r).kind, 'success');
});

test('a message over max_message ends the stream with 1009 and a clear error', async () => {
  const p = probe(['--k8s', '--max-message', '4096', k8sUrl('big')]);
  const r = await p.done();
  assert.equal(r.code, 1);
  const c = closedEvent(r);
  assert.equal(c.code_sent, 1009);
  assert.match(c.error, /larger than 4096 bytes/);
  assert.ok(!r.events.some((e) => e.event === 'k8s' && e.len > 4096));
  const rec = recordFor('big');
  await until('server saw the close', () => rec.closeCode !== undefined);
  assert.equal(rec.closeCode, 1009);
});

test('Status, close frame and an immediate TCP close: a clean end with the exit code', async () => {
  const p = probe(['--k8s', k8sUrl('abrupt')]);
  const r = await p.done();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(channelText(r, 1), 'bye');
  assert.equal(statusEvent(r).exit_code, 3);
  assert.equal(closedEvent(r).close_received, true);
  assert.equal(closedEvent(r).error, null);
});

test('Status then TCP end without a close frame: reported as 1006, Status kept', async () => {
  const p = probe(['--k8s', k8sUrl('fin-no-close')]);
  const r = await p.done();
  assert.equal(statusEvent(r).exit_code, 3);
  assert.equal(closedEvent(r).close_received, false);
  assert.equal(closedEvent(r).code_received, 1006);
});

async function backpressure(url, extra = []) {
  const flood = 24 * 1024 * 1024;
  const maxPending = 1024 * 1024;
  const p = probe([...extra, '--k8s', '--flood', String(flood), '--max-pending', String(maxPending), url]);
  const full = await p.wait('queue_full', ofKind('queue_full'));
  // The queue filled to (almost) its bound: at most one 64 KiB message short of it.
  assert.ok(full.pending > maxPending - 64 * 1024 && full.pending <= maxPending,
    `pending ${full.pending}`);
  const fullAt = p.events.indexOf(full);
  // Reads are still served while the output is stuck.
  await until('three ticks while full', () =>
    p.events.slice(fullAt).filter((e) => e.event === 'k8s' && /^tick/.test(e.data ?? '') &&
      e.pending > maxPending / 2).length >= 3);
  assert.equal(p.find(ofKind('flood_done')), undefined, 'the flood cannot finish while the peer is stuck');
  const rec = recordFor('slow');
  const server = slowSockets.at(-1);
  rec.stopTicks();
  server.resume();
  await p.wait('flood_done', ofKind('flood_done'));
  await p.wait('drained', ofKind('drained'));
  // Every byte arrived, in intact frames (ws would have failed the connection otherwise).
  await until('server got every byte', () =>
    rec.messages.reduce((n, m) => n + m.length, 0) === flood);
  server.send(frame(3, statusSuccess));
  server.close(1000);
  p.end();
  const r = await p.done();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statusEvent(r).kind, 'success');
}

test('a peer that stops reading: sends queue up to the bound while reads keep flowing', async () => {
  await backpressure(k8sUrl('slow'));
});

test('the same over TLS: GnuTLS partial writes are retried with the same bytes', async () => {
  await backpressure(k8sTlsUrl('slow'), ['--ca', path.join(tmp, 'ca.pem')]);
});

test('exec over wss:// with a pinned CA', async () => {
  const p = probe(['--ca', path.join(tmp, 'ca.pem'), '--k8s', k8sTlsUrl('echo')]);
  await p.wait('open', ofKind('open'));
  p.send('over tls');
  await p.wait('echo', (e) => e.event === 'k8s' && e.channel === 1 && e.data === 'OVER TLS\n');
  p.end();
  const r = await p.done();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statusEvent(r).exit_code, 3);
});

// Keepalive (lib/net/wsclient.c ws_client_keepalive): a server that accepts the upgrade and
// then never sends a byte, not even a pong, is given up after the read deadline, as
// client-go's exec stream does (tools/remotecommand/websocket.go, pingReadDeadline); the
// client's pings reach the server meanwhile.
test('a server silent past the read deadline ends the connection with a clear error', async () => {
  let pingFrames = 0;
  const silent = net.createServer((sock) => {
    let head = '';
    let upgraded = false;
    sock.on('data', (d) => {
      if (upgraded) {
        // Client frames are masked: byte 0 is FIN|opcode, 0x89 a ping.
        if (d[0] === 0x89) pingFrames += 1;
        return;
      }
      head += d.toString('latin1');
      const m = /Sec-WebSocket-Key: (\S+)/i.exec(head);
      if (!head.includes('\r\n\r\n') || !m) return;
      upgraded = true;
      const accept = createHash('sha1').update(`${m[1]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    });
    sock.on('error', () => {});
  });
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  try {
    const started = Date.now();
    const p = probe(['--ping-ms', '200', '--read-timeout-ms', '1500', `ws://127.0.0.1:${silent.address().port}/`]);
    const r = await p.done();
    const elapsed = Date.now() - started;
    const closed = r.events.find((e) => e.event === 'closed');
    assert.equal(r.code, 1);
    assert.equal(closed.error, 'nothing from the server for 1500 ms (not even a pong)');
    assert.ok(elapsed >= 1500, `gave up after ${elapsed} ms`);
    assert.ok(pingFrames >= 3, `pings seen by the server: ${pingFrames}`);
  } finally {
    silent.close();
  }
});
