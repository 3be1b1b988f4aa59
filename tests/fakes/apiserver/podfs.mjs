// A running pod's filesystem and environment, laid out under a per-pod temporary root
// instead of a container image, so that a real bash "in the pod" finds what the shell image
// would give it:
//
//   <root>/usr/local/bin/kubectl, helm   -> periscope-audit-exec (from the build directory)
//   <root>/usr/local/bin/periscope-shell -> the entrypoint (from the build directory)
//   <root>/opt/periscope/bin/kubectl-real -> the real kubectl 1.32
//   <root>/<mountPath>/<key>             the pod's Secret, ConfigMap and projected volumes,
//                                        rewritten (atomically) when their objects change
//   <root>/tmp, <root>/home              the container's private /tmp and home
//
// Pod paths in env values and exec arguments (/etc/periscope/kubeconfig, /tmp/...) are
// rewritten to <root>/..., and the in-cluster apiserver name (https://kubernetes.default.svc)
// in mounted files to this fake's URL: that is the cluster DNS of this fake.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';

const IN_CLUSTER_URL = /https:\/\/kubernetes\.default(?:\.svc(?:\.cluster\.local)?)?(?::443)?(?=[\s"'/]|$)/g;
// Image directories that exist in the sandbox, besides the volume mounts.
const IMAGE_DIRS = ['/tmp', '/home/periscope', '/usr/local/bin', '/opt/periscope'];
const ENTRYPOINT_NAMES = new Set(['/periscope-shell', '/usr/local/bin/periscope-shell']);
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function decode(data, key) {
  return Buffer.from(data[key], 'base64');
}

// The objects a volume is made of: a secret or configMap volume, or each source of a
// projected one (pkg/volume/projected: secret and configMap sources, named by `name`).
// Returns [{ resource, name, items, optional, binary, defaultMode }].
export function volumeSources(v) {
  if (v.secret) return [{ resource: 'secrets', name: v.secret.secretName, items: v.secret.items, optional: v.secret.optional, binary: true, defaultMode: v.secret.defaultMode }];
  if (v.configMap) return [{ resource: 'configmaps', name: v.configMap.name, items: v.configMap.items, optional: v.configMap.optional, binary: false, defaultMode: v.configMap.defaultMode }];
  if (v.projected) {
    return (v.projected.sources ?? []).flatMap((src) => {
      if (src.secret) return [{ resource: 'secrets', name: src.secret.name, items: src.secret.items, optional: src.secret.optional, binary: true, defaultMode: v.projected.defaultMode }];
      if (src.configMap) return [{ resource: 'configmaps', name: src.configMap.name, items: src.configMap.items, optional: src.configMap.optional, binary: false, defaultMode: v.projected.defaultMode }];
      return [];
    });
  }
  return [];
}

export class PodFs {
  // pod: the Pod object; lookup(resource, ns, name) returns a stored object or null.
  constructor({ pod, lookup, apiserverUrl, apiserverPort, buildDir, kubectlPath, helmPath }) {
    this.pod = pod;
    this.apiserverUrl = apiserverUrl;
    this.apiserverPort = apiserverPort;
    this.root = mkdtempSync(join(tmpdir(), `periscope-fake-pod-${pod.metadata.name.slice(0, 40)}-`));
    this.mounts = [];
    this.warnings = [];
    this.synced = new Map(); // "mountPath|resource/name" -> "uid/resourceVersion" last written
    this.layOutImage({ buildDir, kubectlPath, helmPath });
    this.mountVolumes(lookup);
  }

  hostPath(podPath) {
    return join(this.root, podPath);
  }

  mkdir(podPath) {
    mkdirSync(this.hostPath(podPath), { recursive: true });
  }

  link(target, podPath) {
    if (!target || !existsSync(target)) return false;
    this.mkdir(posix.dirname(podPath));
    symlinkSync(target, this.hostPath(podPath));
    return true;
  }

  layOutImage({ buildDir, kubectlPath, helmPath }) {
    for (const d of IMAGE_DIRS) this.mkdir(d);
    const wrapper = buildDir && join(buildDir, 'shell', 'periscope-audit-exec');
    const entry = buildDir && join(buildDir, 'shell', 'periscope-shell');
    this.link(kubectlPath, '/opt/periscope/bin/kubectl-real');
    this.link(helmPath, '/opt/periscope/bin/helm-real');
    this.link(entry, '/usr/local/bin/periscope-shell');
    if (this.link(wrapper, '/opt/periscope/bin/periscope-audit-exec')) {
      this.link(wrapper, '/usr/local/bin/kubectl');
      this.link(wrapper, '/usr/local/bin/helm');
    } else {
      // Without a build, kubectl in the pod is the real one and nothing is audited.
      this.warnings.push(`no ${wrapper ?? 'build directory'}: kubectl in the pod is not wrapped`);
      this.link(kubectlPath, '/usr/local/bin/kubectl');
    }
    // A login shell resets PATH from /etc/profile; the image's profile puts its tools first.
    writeFileSync(this.hostPath('/home/periscope/.bash_profile'),
      `export PATH="${this.hostPath('/usr/local/bin')}:$PATH"\n[ -f ~/.bashrc ] && . ~/.bashrc\n`);
  }

  mountVolumes(lookup) {
    const volumes = new Map((this.pod.spec.volumes ?? []).map((v) => [v.name, v]));
    this.volumeMounts = [];
    for (const c of this.pod.spec.containers) {
      for (const m of c.volumeMounts ?? []) {
        this.mkdir(m.mountPath);
        this.mounts.push(m.mountPath);
        const v = volumes.get(m.name);
        if (v) this.volumeMounts.push({ mountPath: m.mountPath, volume: v });
      }
    }
    this.syncVolumes(lookup);
  }

  // Writes each volume's files from the current objects, replacing only what changed, each
  // file atomically (written aside, then renamed over: pkg/volume/util/atomic_writer.go
  // swaps a whole directory for the same reason), so a reader never sees half a file.
  // lookup may return the stored object itself (store.peek): it is only read. A source
  // whose object is the one last written (same uid and resourceVersion) is not read again:
  // the periodic sync of every pod (pods.mjs, every 500 ms) read both files of each pod
  // from disk and copied their objects, at 500 terminals a 25-40 ms block of the thread
  // that carries every exec stream, twice a second.
  syncVolumes(lookup) {
    const ns = this.pod.metadata.namespace;
    for (const { mountPath, volume } of this.volumeMounts ?? []) {
      for (const src of volumeSources(volume)) {
        const obj = lookup(src.resource, ns, src.name);
        if (!obj) continue;
        const source = `${mountPath}|${src.resource}/${src.name}`;
        const stamp = `${obj.metadata?.uid}/${obj.metadata?.resourceVersion}`;
        if (this.synced.get(source) === stamp) continue;
        const data = obj.data ?? {};
        const keys = src.items ? src.items.map((i) => [i.key, i.path, i.mode]) : Object.keys(data).map((k) => [k, k]);
        for (const [k, path, mode] of keys) {
          if (!(k in data)) continue;
          const bytes = src.binary ? decode(data, k) : Buffer.from(data[k]);
          const text = bytes.toString('utf8').replace(IN_CLUSTER_URL, this.apiserverUrl);
          const file = this.hostPath(posix.join(mountPath, path));
          if (existsSync(file) && readFileSync(file, 'utf8') === text) continue;
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(`${file}.tmp`, text);
          chmodSync(`${file}.tmp`, mode ?? src.defaultMode ?? 0o644);
          renameSync(`${file}.tmp`, file);
        }
        this.synced.set(source, stamp);
      }
    }
  }

  // A pod path (absolute, under a mount or an image directory) as a host path; any other
  // string unchanged.
  mapPath(value) {
    if (typeof value !== 'string' || !value.startsWith('/')) return value;
    for (const prefix of [...this.mounts, ...IMAGE_DIRS]) {
      if (value === prefix || value.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)) return this.hostPath(value);
    }
    return value;
  }

  // The container's environment: the image's, the kubelet's, then the spec's.
  environment(container, { tty, lookup }) {
    const env = {
      PATH: `${this.hostPath('/usr/local/bin')}:${SYSTEM_PATH}`,
      HOSTNAME: this.pod.metadata.name,
      HOME: this.hostPath('/home/periscope'),
      TMPDIR: this.hostPath('/tmp'),
      LANG: 'C.UTF-8',
      KUBE_EDITOR: 'nano',
      PERISCOPE_REAL_BIN_DIR: this.hostPath('/opt/periscope/bin'),
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(this.apiserverPort),
      KUBERNETES_SERVICE_PORT_HTTPS: String(this.apiserverPort),
    };
    if (tty) env.TERM = 'xterm';
    const ns = this.pod.metadata.namespace;
    for (const e of container.env ?? []) {
      let value = e.value ?? '';
      const from = e.valueFrom;
      if (from?.secretKeyRef) {
        const s = lookup('secrets', ns, from.secretKeyRef.name);
        value = s?.data?.[from.secretKeyRef.key] ? decode(s.data, from.secretKeyRef.key).toString('utf8') : '';
      } else if (from?.configMapKeyRef) {
        value = lookup('configmaps', ns, from.configMapKeyRef.name)?.data?.[from.configMapKeyRef.key] ?? '';
      } else if (from?.fieldRef) {
        const path = from.fieldRef.fieldPath;
        value = path === 'metadata.name' ? this.pod.metadata.name : path === 'metadata.namespace' ? ns
          : path === 'spec.serviceAccountName' ? this.pod.spec.serviceAccountName ?? 'default' : '';
      }
      env[e.name] = this.mapPath(value);
    }
    return env;
  }

  // The exec argv with pod paths mapped; argv[0] found on the pod's PATH when bare.
  command(argv, env) {
    const mapped = argv.map((a) => this.mapPath(a));
    if (ENTRYPOINT_NAMES.has(argv[0])) mapped[0] = this.hostPath('/usr/local/bin/periscope-shell');
    if (!mapped[0].includes('/')) {
      const dir = env.PATH.split(':').find((d) => d && existsSync(join(d, mapped[0])));
      if (!dir) return null;
      mapped[0] = join(dir, mapped[0]);
    }
    return existsSync(mapped[0]) ? mapped : null;
  }

  remove() {
    rmSync(this.root, { recursive: true, force: true });
  }
}
