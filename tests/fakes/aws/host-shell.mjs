// The "EC2 host" behind a fake SSM session: a real bash in a real pty (through
// tests/fakes/common/ptyhost.c, served: spawnPty), with its own temporary HOME and a clean environment
// (never the test runner's AWS variables). The prompt imitates what SSM's default shell
// shows ("sh-5.2$ "); `whoami` is whoever runs the tests.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { spawnPty } from '../common/ptyhost.mjs';


const RC = [
  "PS1='sh-5.2$ '",
  "bind 'set enable-bracketed-paste off' 2>/dev/null",
  'unset HISTFILE',
  '',
].join('\n');

// Returns { child, home, write(buf), resize(cols, rows), kill() }. `onData(buf)` gets pty
// output, `onExit(code)` the shell's exit status once the pty has drained.
export function startHostShell({ cols = 80, rows = 24, command, onData, onExit }) {
  const home = mkdtempSync(join(tmpdir(), 'aws-fake-host-'));
  writeFileSync(join(home, '.bashrc'), RC);
  const argv = command ?? ['bash', '--noprofile', '--rcfile', join(home, '.bashrc'), '-i'];
  const env = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    USER: process.env.USER ?? 'ssm-user',
    LOGNAME: process.env.USER ?? 'ssm-user',
    SHELL: '/bin/bash',
    TERM: 'xterm-256color',
    LANG: 'C.UTF-8',
  };
  const child = spawnPty(argv, { cols, rows, cwd: home, env });
  let exited = false;
  child.stdout.on('data', (d) => onData(d));
  child.stdin.on('error', () => {}); // shell gone: EPIPE
  const end = (code) => {
    if (exited) return;
    exited = true;
    rmSync(home, { recursive: true, force: true });
    onExit(code);
  };
  // The host could not start the shell (it says why on stderr): the session ends.
  child.on('error', (e) => {
    process.stderr.write(`aws fake host: ${e.message}\n`);
    end(1);
  });
  child.on('close', (code, signal) => end(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
  return {
    child,
    home,
    get exited() { return exited; },
    write(buf) { if (!exited) child.stdin.write(buf); },
    resize(c, r) { if (!exited) child.resize(c, r); },
    pauseOutput() { child.stdout.pause(); },
    resumeOutput() { child.stdout.resume(); },
    // SIGTERM makes ptyhost hang up the shell (SIGHUP), as a closed session does on a host.
    // Output held back for a slow client is let go (a paused stdout never ends, and 'close'
    // would never come), and a host that ignores the hangup is killed after a grace period.
    kill() {
      if (exited) return;
      child.stdout.resume();
      child.kill('SIGTERM');
      setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 2000).unref();
    },
  };
}
