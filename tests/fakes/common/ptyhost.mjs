// Where the fakes' pty host is: tests/fakes/common/ptyhost.c, built with the product
// (mk/fakes.am) into the build directory. One small C process per terminal: the fakes
// start one per tty exec and per SSM session, so its cost is part of every open a
// benchmark counts.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

// The built ptyhost under buildDir ($PERISCOPE_BUILD_DIR, else build/); throws, naming
// the path, when it has not been built.
export function findPtyhost(buildDir = process.env.PERISCOPE_BUILD_DIR || join(REPO, 'build')) {
  const path = join(resolve(buildDir), 'tests/fakes/common/ptyhost');
  if (!existsSync(path)) throw new Error(`no pty host at ${path}: build the project first (make -C ${buildDir})`);
  return path;
}
