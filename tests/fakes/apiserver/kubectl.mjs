// Where the real kubectl 1.32 is. The machine's `kubectl` may be Google Cloud SDK's
// dispatcher, which picks a bundled version from the server's /version; tests call the
// versioned binary beside it so that what runs does not depend on the fake's answer.
import { existsSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

const VERSIONED = 'kubectl.1.32';

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

// PERISCOPE_KUBECTL, else kubectl.1.32 on PATH, else beside the real file of `kubectl`;
// null when none is found (tests then skip with a message).
export function findKubectl() {
  if (process.env.PERISCOPE_KUBECTL) return process.env.PERISCOPE_KUBECTL;
  const direct = onPath(VERSIONED);
  if (direct) return direct;
  const dispatcher = onPath('kubectl');
  if (!dispatcher) return null;
  const beside = join(dirname(realpathSync(dispatcher)), VERSIONED);
  return existsSync(beside) ? beside : null;
}

export function findHelm() {
  return onPath('helm');
}
