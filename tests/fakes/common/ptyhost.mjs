// The fakes' pty host: tests/fakes/common/ptyhost.c, built with the product (mk/fakes.am)
// into the build directory.
//
// findPtyhost() is the program, for one terminal per process (`ptyhost -- COMMAND`).
// spawnPty() runs a terminal through one `ptyhost --serve` per Node process instead
// (tests/fakes/common/ptyhost_serve.c): forking a Node process of a few hundred MB costs
// ~8 ms of CPU and stalls its event loop for tens of ms, once per terminal, which was
// most of what a benchmark of the product's opens measured. The session it returns
// looks like the ChildProcess a spawn of ptyhost would give: stdin, stdout, kill(),
// 'close' (code, signal) once the output has drained and the host has exited; a
// resize goes in order with the keystrokes (resize(cols, rows)).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { constants } from 'node:os';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const FRAME_INPUT = 0x69; // 'i'
const FRAME_RESIZE = 0x72; // 'r'

// The built ptyhost under buildDir ($PERISCOPE_BUILD_DIR, else build/); throws, naming
// the path, when it has not been built.
export function findPtyhost(buildDir = process.env.PERISCOPE_BUILD_DIR || join(REPO, 'build')) {
  const path = join(resolve(buildDir), 'tests/fakes/common/ptyhost');
  if (!existsSync(path)) throw new Error(`no pty host at ${path}: build the project first (make -C ${buildDir})`);
  return path;
}

function frame(type, payload) {
  const head = Buffer.alloc(5);
  head[0] = type;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

// The connection's header: length, then NUL-terminated fields (ptyhost_serve.c).
function header(id, { cols, rows, cwd, argv, env }) {
  const envList = Object.entries(env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  const fields = [id, String(cols), String(rows), cwd ?? '', String(argv.length), ...argv, String(envList.length), ...envList];
  const body = Buffer.from(fields.map((f) => `${f}\0`).join(''), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

class PtySession extends EventEmitter {
  constructor(server, id, socket) {
    super();
    this.server = server;
    this.id = id;
    this.socket = socket;
    this.pid = undefined;
    this.exitCode = null;
    this.signalCode = null;
    this.pendingSignal = null;
    this.exited = null; // { code, signal } once the server reaped the host
    this.drained = false;
    this.closed = false;
    this.stdout = socket;
    this.stderr = null; // in a terminal stderr is the terminal
    this.stdio = [null, socket, null];
    this.connected = new Promise((r) => { this.connectedNow = r; });
    // Keystrokes and resizes share this ordered path to the socket: a resize written
    // after a keystroke reaches the host after it.
    this.stdin = new Writable({
      objectMode: true,
      write: (chunk, _enc, cb) => this.connected.then(() => {
        const data = chunk.resize !== undefined ? frame(FRAME_RESIZE, Buffer.from(chunk.resize, 'utf8'))
          : frame(FRAME_INPUT, Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), 'utf8'));
        if (this.socket.destroyed) return cb(new Error('the terminal has ended'));
        if (this.socket.write(data)) return cb();
        // A socket closed while full emits no 'drain': the write ends with it (else this
        // stream would wait for good and buffer every later keystroke).
        const done = () => {
          this.socket.off('drain', done);
          this.socket.off('close', done);
          cb(this.socket.destroyed ? new Error('the terminal has ended') : undefined);
        };
        this.socket.once('drain', done);
        this.socket.once('close', done);
      }),
      final: (cb) => this.connected.then(() => {
        if (!this.socket.destroyed) this.socket.end(); // EOF: ^D in the terminal
        cb();
      }),
    });
    socket.on('end', () => this.drainedNow());
    socket.on('close', () => this.drainedNow());
    socket.on('error', (e) => {
      if (this.pid === undefined) this.failed(e);
    });
  }

  resize(cols, rows) {
    if (!this.stdin.writableEnded && !this.stdin.destroyed) this.stdin.write({ resize: `${cols} ${rows}` });
  }

  kill(signal = 'SIGTERM') {
    if (this.exited || this.closed) return false;
    if (this.pid === undefined) {
      this.pendingSignal = signal;
      return true;
    }
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  started(pid) {
    this.pid = pid;
    this.emit('spawn');
    if (this.pendingSignal) this.kill(this.pendingSignal);
  }

  failed(err) {
    if (this.closed) return;
    this.closed = true;
    this.server.forget(this);
    this.socket.destroy();
    this.emit('error', err);
  }

  hostExited(code, signal) {
    this.exited = { code, signal };
    this.exitCode = signal ? null : code;
    this.signalCode = signal;
    this.emit('exit', this.exitCode, this.signalCode);
    this.maybeClose();
  }

  drainedNow() {
    if (this.drained) return;
    this.drained = true;
    if (this.pid === undefined) {
      this.failed(new Error('the pty host ended before it started the command'));
      return;
    }
    this.maybeClose();
  }

  maybeClose() {
    if (this.closed || !this.drained || !this.exited) return;
    this.closed = true;
    this.server.forget(this);
    this.socket.destroy();
    this.emit('close', this.exitCode, this.signalCode);
  }
}

// One `ptyhost --serve` for this process, started at its first use; it ends with the
// process (its stdin closes, or PR_SET_PDEATHSIG), and its hosts with it.
class PtyServer {
  constructor(binary) {
    this.dir = mkdtempSync(join(tmpdir(), 'periscope-ptyhost-'));
    this.path = join(this.dir, 'socket');
    this.sessions = new Map();
    this.byPid = new Map();
    this.next = 0;
    this.child = spawn(binary, ['--serve', this.path], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.unref();
    this.child.stdin.unref?.();
    this.child.stdout.unref?.();
    this.child.stdin.on('error', () => {});
    this.isReady = false;
    this.ready = new Promise((resolveReady, rejectReady) => {
      this.child.once('error', rejectReady);
      this.child.once('exit', (code, signal) => {
        rejectReady(new Error(`ptyhost --serve exited (${signal ?? code})`));
        if (PtyServer.shared === this) PtyServer.shared = null;
        rmSync(this.dir, { recursive: true, force: true });
        for (const s of this.sessions.values()) s.failed(new Error('ptyhost --serve ended'));
      });
      createInterface({ input: this.child.stdout }).on('line', (line) => {
        const [what, a, b, c] = line.split(' ');
        if (what === 'ready') {
          this.isReady = true;
          resolveReady();
        }
        else if (what === 'start') {
          const s = this.sessions.get(a);
          if (s) {
            this.byPid.set(Number(b), s);
            s.started(Number(b));
          }
        } else if (what === 'exit') {
          const s = this.byPid.get(Number(a));
          const sig = Number(c);
          if (s) s.hostExited(Number(b), sig ? Object.keys(constants.signals).find((k) => constants.signals[k] === sig) ?? `SIG${sig}` : null);
        }
      });
    });
    this.ready.catch(() => {});
    process.once('exit', () => rmSync(this.dir, { recursive: true, force: true }));
  }

  // The server keeps this process alive only while it has sessions (their lines come
  // on its stdout).
  holdOpen(open) {
    for (const h of [this.child, this.child.stdout]) open ? h.ref?.() : h.unref?.();
  }

  forget(session) {
    this.sessions.delete(session.id);
    if (session.pid !== undefined) this.byPid.delete(session.pid);
    if (this.sessions.size === 0) this.holdOpen(false);
  }

  static get(binary) {
    if (!PtyServer.shared) PtyServer.shared = new PtyServer(binary);
    return PtyServer.shared;
  }

  spawn(opts) {
    const id = `s${this.next++}-${randomBytes(4).toString('hex')}`;
    const socket = new Socket({ allowHalfOpen: true });
    const session = new PtySession(this, id, socket);
    this.sessions.set(id, session);
    this.holdOpen(true);
    // The header first: keystrokes wait for it (session.connected).
    const open = () => {
      socket.connect(this.path);
      socket.write(header(id, opts));
      session.connectedNow();
    };
    if (this.isReady) open();
    else this.ready.then(open, (e) => session.failed(e));
    return session;
  }
}
PtyServer.shared = null;

// argv[0] and its arguments in a terminal of cols x rows, with env (all of it: nothing is
// inherited) in cwd. Returns a PtySession (see above).
// ptyhost: the program (findPtyhost() by default).
export function spawnPty(argv, { cols = 80, rows = 24, cwd, env = {}, ptyhost = findPtyhost() } = {}) {
  return PtyServer.get(ptyhost).spawn({ cols, rows, cwd, argv, env });
}

// The pid of this process's `ptyhost --serve` and its socket's directory, once started
// (for tests).
export function ptyServerPid() {
  return PtyServer.shared?.child.pid;
}
export function ptyServerDir() {
  return PtyServer.shared?.dir;
}
