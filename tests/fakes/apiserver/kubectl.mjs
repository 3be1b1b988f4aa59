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

// Where the Google Cloud SDK keeps its bundled kubectl versions, by how it was installed:
// Debian/Ubuntu packages, the SDK's own archive under /opt, Homebrew/snap-style layouts.
const SDK_BIN_DIRS = ['/usr/lib/google-cloud-sdk/bin', '/usr/share/google-cloud-sdk/bin', '/opt/google-cloud-sdk/bin', '/snap/google-cloud-cli/current/bin'];

// PERISCOPE_KUBECTL (dev/ sets it), else kubectl.1.32 on PATH, else beside the real file
// of `kubectl` or of `gcloud`, else in a Cloud SDK directory; null when none is found
// (tests then skip with a message, which dev/test counts as a failure under CI=true).
export function findKubectl() {
  if (process.env.PERISCOPE_KUBECTL) return process.env.PERISCOPE_KUBECTL;
  const direct = onPath(VERSIONED);
  if (direct) return direct;
  const dirs = [];
  for (const tool of ['kubectl', 'gcloud']) {
    const found = onPath(tool);
    if (found) dirs.push(dirname(realpathSync(found)));
  }
  for (const dir of [...dirs, ...SDK_BIN_DIRS]) {
    if (existsSync(join(dir, VERSIONED))) return join(dir, VERSIONED);
  }
  return null;
}

export function findHelm() {
  return onPath('helm');
}
