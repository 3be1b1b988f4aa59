// pods/{name}/exec over WebSocket, as the apiserver's v5 stream translator and the kubelet's
// v4 server speak it: every message is [channel byte][payload]; 0 stdin, 1 stdout, 2 stderr,
// 3 status (metav1.Status JSON once the command ends), 4 resize {"Width","Height"}, and in
// v5 the close signal [255][channel] (stdin EOF). The command runs for real: in a pty
// (tests/fakes/common/ptyhost.c, through the process's one `ptyhost --serve`: spawnPty)
// when tty=true, with plain pipes otherwise, in the pod's filesystem and environment (PodFs).
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { WebSocketServer } from 'ws';
import { spawnPty } from '../common/ptyhost.mjs';
import { badRequest } from './status.mjs';

export const V5 = 'v5.channel.k8s.io';
export const V4 = 'v4.channel.k8s.io';
const MAX_MESSAGE = 1 << 20;
const HIGH_WATER = 1 << 20;
const KILL_GRACE_MS = 2000;

// The query's boolean rule: absent -> false; "false" (any case) or "0" -> false; else true.
export function queryBool(params, name) {
  if (!params.has(name)) return false;
  const v = params.get(name).toLowerCase();
  return !(v === 'false' || v === '0');
}

// The apiserver reads only the first Sec-WebSocket-Protocol line and splits it on commas.
export function offeredProtocols(rawHeaders) {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === 'sec-websocket-protocol') return rawHeaders[i + 1].split(',').map((s) => s.trim()).filter(Boolean);
  }
  return [];
}

function exitStatus(code, argv) {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {}, status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${argv.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

function startFailure(argv0) {
  const message = `Internal error occurred: error executing command in container: failed to exec in container: `
    + `OCI runtime exec failed: exec failed: unable to start container process: exec: "${argv0}": `
    + `executable file not found in $PATH: unknown`;
  return { metadata: {}, status: 'Failure', message, reason: 'InternalError', details: { causes: [{ message }] }, code: 500 };
}

export class ExecServer {
  // protocols: the subprotocols served, in the server's preference order.
  constructor({ protocols, ptyhost, record }) {
    this.protocols = protocols;
    this.ptyhost = ptyhost;
    this.record = record; // (execRecord) -> stores it in state.execs
    this.sessions = new Set();
    this.wss = new WebSocketServer({
      noServer: true, perMessageDeflate: false, maxPayload: MAX_MESSAGE, clientTracking: false,
      handleProtocols: (offered, req) => req.chosenProtocol,
    });
  }

  // The subprotocol to speak: v5 when offered (and served), else v4. Throws 400 when none.
  choose(req) {
    const offered = offeredProtocols(req.rawHeaders);
    for (const p of [V5, V4]) if (this.protocols.includes(p) && offered.includes(p)) return p;
    throw badRequest(`fake apiserver: none of the offered WebSocket subprotocols [${offered.join(', ')}] is served; it speaks ${this.protocols.join(', ')}`);
  }

  // ctx: { pod, container, podFs, params, lookup }. The caller has authorized the request
  // and checked the pod and the container. Answers the upgrade and runs the session.
  upgrade(req, socket, head, ctx) {
    const protocol = this.choose(req);
    req.chosenProtocol = protocol;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.run(ws, protocol, ctx));
  }

  run(ws, protocol, { pod, container, podFs, params, lookup }) {
    const opts = {
      tty: queryBool(params, 'tty'), stdin: queryBool(params, 'stdin'),
      stdout: queryBool(params, 'stdout'), stderr: queryBool(params, 'stderr'),
    };
    const argv = params.getAll('command');
    const rec = {
      namespace: pod.metadata.namespace, pod: pod.metadata.name, container: container.name, command: argv,
      ...opts, protocol, resizes: [], stdinBytes: 0, exitCode: null, status: null, startedAt: new Date().toISOString(),
    };
    this.record(rec);
    const session = { ws, rec, child: null, pod: pod.metadata, killTimer: null };
    this.sessions.add(session);

    const send = (channel, payload, cb) => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(Buffer.concat([Buffer.from([channel]), payload]), { binary: true }, cb);
    };
    const finish = (status) => {
      rec.status = status;
      rec.endedAt = new Date().toISOString();
      if (ws.readyState === ws.OPEN) {
        send(3, Buffer.from(JSON.stringify(status)));
        ws.close(1000);
      }
      this.sessions.delete(session);
    };

    // "Connected": an empty message on the lowest channel the client reads.
    send(opts.stdout ? 1 : opts.stderr ? 2 : 3, Buffer.alloc(0));

    const env = podFs.environment(container, { tty: opts.tty, lookup });
    const cmd = argv.length ? podFs.command(argv, env) : null;
    if (!cmd) {
      finish(startFailure(argv[0] ?? ''));
      return;
    }
    const cwd = podFs.hostPath('/home/periscope');
    const child = opts.tty
      ? spawnPty(cmd, { cols: 80, rows: 24, env, cwd, ptyhost: this.ptyhost })
      : spawn(cmd[0], cmd.slice(1), { env, cwd, argv0: argv[0], stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    session.child = child;

    // Output: one message per chunk, pausing the child while the client is slow.
    let pending = 0;
    const pump = (stream, channel) => {
      stream.on('data', (chunk) => {
        if (channel === 2 && !opts.stderr && !opts.tty) return;
        if (channel === 1 && !opts.stdout) return;
        pending += chunk.length;
        if (pending > HIGH_WATER) stream.pause();
        send(channel, chunk, () => {
          pending -= chunk.length;
          if (pending <= HIGH_WATER && stream.isPaused()) stream.resume();
        });
      });
    };
    pump(child.stdout, 1);
    // In a tty stderr is the terminal (ptyhost's own failures go to the fake's stderr).
    if (child.stderr) pump(child.stderr, 2);
    child.stdin?.on('error', () => {}); // EPIPE once the command has gone
    child.stdio[3]?.on('error', () => {});
    if (opts.tty && !opts.stdin) child.stdin.end();

    let resizeBuf = '';
    ws.on('message', (data) => {
      const msg = Buffer.isBuffer(data) ? data : Buffer.concat(data);
      if (msg.length === 0) return;
      const channel = msg[0];
      const payload = msg.subarray(1);
      if (channel === 0 && opts.stdin && child.stdin?.writable) {
        rec.stdinBytes += payload.length;
        child.stdin.write(payload);
      } else if (channel === 4 && opts.tty) {
        resizeBuf += payload.toString('utf8');
        // A stream of JSON objects, possibly several per message or split across messages.
        let m;
        while ((m = /\{[^{}]*\}/.exec(resizeBuf))) {
          resizeBuf = resizeBuf.slice(m.index + m[0].length);
          try {
            const { Width, Height } = JSON.parse(m[0]);
            if (Width > 0 && Height > 0) {
              rec.resizes.push({ Width, Height });
              child.resize(Width, Height);
            }
          } catch { /* not a size: ignored, as the kubelet does */ }
        }
      } else if (channel === 255 && protocol === V5) {
        if (payload.length !== 1) {
          ws.terminate();
          return;
        }
        if (payload[0] === 0 && child.stdin?.writable) child.stdin.end();
      }
    });

    const kill = () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      session.killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      session.killTimer.unref();
    };
    session.kill = kill;
    ws.on('close', kill);
    ws.on('error', kill);
    child.on('error', () => finish(startFailure(argv[0])));
    // 'close' comes after the output pipes have drained, so no output is lost.
    child.on('close', (code, signal) => {
      clearTimeout(session.killTimer);
      const exitCode = code ?? 128 + (constants.signals[signal] ?? 0);
      rec.exitCode = exitCode;
      finish(exitStatus(exitCode, argv));
    });
  }

  // The pod's containers are gone: its exec sessions end.
  killPod(ns, name) {
    for (const s of this.sessions) if (s.pod.namespace === ns && s.pod.name === name) s.kill?.();
  }

  // Ends every session and waits (bounded) for the commands to exit.
  async close() {
    const waits = [];
    for (const s of this.sessions) {
      if (s.child && s.child.exitCode === null && s.child.signalCode === null) {
        waits.push(new Promise((resolve) => s.child.once('close', resolve)));
        s.kill?.();
      }
      s.ws.terminate();
    }
    await Promise.race([Promise.all(waits), new Promise((r) => setTimeout(r, KILL_GRACE_MS + 1000).unref())]);
    this.wss.close();
  }
}
