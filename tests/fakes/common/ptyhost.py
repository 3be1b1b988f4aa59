#!/usr/bin/env python3
"""Runs a command in a real pseudo-terminal for the fakes (the "pod" and the "EC2 host").

    ptyhost.py [--cols N] [--rows N] [--cwd DIR] -- COMMAND [ARG...]

Bytes on stdin go to the terminal; what the terminal prints comes out on stdout. Lines
"COLS ROWS\n" on file descriptor 3 (when the caller opened it) resize the terminal
(TIOCSWINSZ, so the program gets SIGWINCH). Closing stdin sends EOF (^D) to the terminal.
The exit status is the command's own (128+N when killed by signal N).
"""
import argparse
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios


def set_size(fd, cols, rows):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def hang_up(pid):
    """SIGTERM: hang up the terminal's program. The fakes may send SIGTERM twice (a session
    ends both when its pod goes and when its stream closes): a late one must not fail on a
    program already gone (ProcessLookupError made the exit status 1, not the program's)."""
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cols", type=int, default=80)
    ap.add_argument("--rows", type=int, default=24)
    ap.add_argument("--cwd")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        ap.error("no command")

    try:
        os.fstat(3)
        ctl = 3
    except OSError:
        ctl = None

    pid, master = pty.fork()
    if pid == 0:
        if args.cwd:
            os.chdir(args.cwd)
        os.execvp(cmd[0], cmd)
    set_size(master, args.cols, args.rows)
    signal.signal(signal.SIGTERM, lambda *_: hang_up(pid))

    watch = [0, master] + ([ctl] if ctl is not None else [])
    ctl_buf = b""
    stdin_open = True
    while True:
        try:
            ready, _, _ = select.select(watch, [], [])
        except InterruptedError:
            continue
        if master in ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data:
                break
            os.write(1, data)
        # Resizes first: a size sent before a keystroke must apply before that keystroke
        # (the shell reads `stty size` right after a resize).
        if ctl is not None and ctl in ready:
            chunk = os.read(ctl, 4096)
            if not chunk:
                watch.remove(ctl)
                ctl = None
            else:
                ctl_buf += chunk
                while b"\n" in ctl_buf:
                    line, ctl_buf = ctl_buf.split(b"\n", 1)
                    try:
                        cols, rows = (int(x) for x in line.split())
                        set_size(master, cols, rows)
                        os.kill(pid, signal.SIGWINCH)
                    except (ValueError, OSError):
                        pass
        if stdin_open and 0 in ready:
            data = os.read(0, 65536)
            if data:
                os.write(master, data)
            else:
                stdin_open = False
                watch.remove(0)
                os.write(master, b"\x04")
    # Wait for the program without reaping it (its pid stays ours, hang_up cannot reach
    # another process), then ignore SIGTERM: a late one must not kill this process while
    # it exits (Python restores the default action on the way out) and replace the
    # program's status with our own death by SIGTERM.
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


if __name__ == "__main__":
    main()
