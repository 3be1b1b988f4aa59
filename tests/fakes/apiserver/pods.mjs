// What the scheduler and the kubelet would do with a pod: schedule it, then after a delay
// start it (Running, Ready) once its Secret/ConfigMap volumes exist, or report the failure
// the image name asks for:
//   image containing "never-ready"    -> stays Pending, container waiting ImagePullBackOff
//   image containing "fails-to-start" -> phase Failed, container terminated with exit code 1
// A running pod gets its filesystem (PodFs), whose Secret, ConfigMap and projected volumes
// are refreshed every volumeSyncMs, as the kubelet's periodic sync does; deleting the pod
// kills its exec sessions.
import { PodFs, volumeSources } from './podfs.mjs';

const NODE = 'fake-node-1';

// Defaults a real apiserver fills in on create.
export function defaultPod(pod) {
  const spec = pod.spec;
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.serviceAccountName ??= spec.serviceAccount ?? 'default';
  spec.serviceAccount = spec.serviceAccountName;
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  spec.priority ??= 0;
  for (const c of spec.containers) {
    c.imagePullPolicy ??= /:latest$|^[^:]*$/.test(c.image) ? 'Always' : 'IfNotPresent';
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    c.resources ??= {};
  }
  for (const v of spec.volumes ?? []) {
    if (v.secret) v.secret.defaultMode ??= 0o644;
    if (v.configMap) v.configMap.defaultMode ??= 0o644;
  }
  pod.status = { phase: 'Pending', qosClass: 'BestEffort' };
}

export class PodController {
  constructor({ store, clock, readyDelayMs, podTerminationMs, volumeSyncMs = 500, podFsOptions, onPodGone }) {
    this.store = store;
    this.clock = clock;
    this.readyDelayMs = readyDelayMs;
    this.podTerminationMs = podTerminationMs;
    this.podFsOptions = podFsOptions; // () => { apiserverUrl, apiserverPort, buildDir, kubectlPath, helmPath }
    this.onPodGone = onPodGone;
    this.timers = new Set();
    this.fs = new Map(); // "ns/name" -> PodFs
    this.waiting = new Map(); // "ns/name" -> { ns, name, uid } of pods whose volumes are missing
    this.podIp = 10;
    store.listeners.add((type, resource, obj) => this.observe(type, resource, obj));
    // pkg/kubelet/volumemanager: mounted Secret/ConfigMap contents follow their objects on
    // each periodic sync (not at once: a test waits for the file, as a pod would).
    this.syncTimer = setInterval(() => {
      for (const fs of this.fs.values()) fs.syncVolumes(this.peek);
    }, volumeSyncMs);
    this.syncTimer.unref();
  }

  now() {
    return this.clock.iso();
  }

  condition(type, status = 'True') {
    return { type, status, lastProbeTime: null, lastTransitionTime: this.now() };
  }

  later(ms, fn) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  lookup = (resource, ns, name) => (this.store.has(resource, ns, name) ? this.store.get(resource, ns, name) : null);

  // The stored object itself, for readers that never change it (the volume sync).
  peek = (resource, ns, name) => this.store.peek(resource, ns, name);

  podFs(ns, name) {
    return this.fs.get(`${ns}/${name}`);
  }

  observe(type, resource, obj) {
    const ns = obj.metadata.namespace;
    if (resource === 'pods' && type === 'ADDED') setImmediate(() => this.schedule(ns, obj.metadata.name, obj.metadata.uid));
    if (resource === 'pods' && type === 'DELETED') this.gone(ns, obj.metadata.name);
    // A pod waiting for its Secret volume starts once the Secret is there.
    if ((resource === 'secrets' || resource === 'configmaps') && type === 'ADDED') {
      // A snapshot: a pod still missing a volume is put back into the map by start().
      for (const [k, w] of [...this.waiting]) {
        if (w.ns !== ns) continue;
        this.waiting.delete(k);
        this.start(w.ns, w.name, w.uid);
      }
    }
  }

  // Still the same pod (not deleted, not deleted and re-created under the same name)?
  current(ns, name, uid) {
    const pod = this.lookup('pods', ns, name);
    return pod && pod.metadata.uid === uid && !pod.metadata.deletionTimestamp ? pod : null;
  }

  schedule(ns, name, uid) {
    if (!this.current(ns, name, uid)) return;
    this.store.update('pods', ns, name, (p) => {
      p.spec.nodeName = NODE;
      p.status.conditions = [this.condition('PodScheduled')];
      p.status.hostIP = '192.168.0.10';
      p.status.startTime = this.now();
      p.status.containerStatuses = p.spec.containers.map((c) => ({
        name: c.name, image: c.image, imageID: '', ready: false, restartCount: 0, started: false,
        state: { waiting: { reason: 'ContainerCreating' } }, lastState: {},
      }));
    });
    this.later(this.readyDelayMs, () => this.start(ns, name, uid));
  }

  // Volumes whose (non-optional) Secret or ConfigMap does not exist yet, projected sources
  // included: the kubelet does not start the containers until they do.
  missingVolumes(pod) {
    const ns = pod.metadata.namespace;
    return (pod.spec.volumes ?? []).filter((v) => volumeSources(v)
      .some((src) => !src.optional && !this.lookup(src.resource, ns, src.name)));
  }

  start(ns, name, uid) {
    const pod = this.current(ns, name, uid);
    if (!pod || pod.status.phase !== 'Pending' || !pod.spec.nodeName) return;
    const image = pod.spec.containers.map((c) => c.image).join(' ');
    if (/never-ready/.test(image)) {
      this.setContainers(ns, name, (c) => ({ waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` } }));
      return;
    }
    if (/fails-to-start/.test(image)) {
      this.store.update('pods', ns, name, (p) => {
        p.status.phase = 'Failed';
        p.status.containerStatuses = p.spec.containers.map((c) => ({
          name: c.name, image: c.image, imageID: '', ready: false, restartCount: 0, started: false, lastState: {},
          state: { terminated: { exitCode: 1, reason: 'Error', startedAt: this.now(), finishedAt: this.now() } },
        }));
      });
      return;
    }
    if (this.missingVolumes(pod).length) {
      // As the kubelet does: ContainerCreating until the volume's object exists.
      this.waiting.set(`${ns}/${name}`, { ns, name, uid });
      return;
    }
    this.fs.set(`${ns}/${name}`, new PodFs({ pod, lookup: this.lookup, ...this.podFsOptions() }));
    const ip = `10.244.0.${this.podIp++ % 250 + 2}`;
    this.store.update('pods', ns, name, (p) => {
      p.status.phase = 'Running';
      p.status.podIP = ip;
      p.status.podIPs = [{ ip }];
      p.status.conditions = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((t) => this.condition(t));
      p.status.containerStatuses = p.spec.containers.map((c) => ({
        name: c.name, image: c.image, imageID: `${c.image}@sha256:${'0'.repeat(64)}`,
        containerID: `containerd://${p.metadata.uid.replace(/-/g, '')}`,
        ready: true, started: true, restartCount: 0, lastState: {}, state: { running: { startedAt: this.now() } },
      }));
    });
  }

  setContainers(ns, name, state) {
    this.store.update('pods', ns, name, (p) => {
      p.status.containerStatuses = p.spec.containers.map((c) => ({
        name: c.name, image: c.image, imageID: '', ready: false, restartCount: 0, started: false, lastState: {}, state: state(c),
      }));
    });
  }

  // DELETE: marks the pod terminating and removes it after podTerminationMs (0: at once).
  // Returns the pod as the DELETE response shows it.
  delete(ns, name) {
    const pod = this.store.update('pods', ns, name, (p) => {
      p.metadata.deletionTimestamp ??= this.now();
      p.metadata.deletionGracePeriodSeconds ??= p.spec.terminationGracePeriodSeconds;
    });
    this.onPodGone(ns, name); // the containers are being killed: exec sessions end now
    const uid = pod.metadata.uid;
    const remove = () => {
      const p = this.lookup('pods', ns, name);
      if (p && p.metadata.uid === uid) this.store.remove('pods', ns, name);
    };
    if (this.podTerminationMs > 0) this.later(this.podTerminationMs, remove);
    else remove();
    return pod;
  }

  gone(ns, name) {
    this.waiting.delete(`${ns}/${name}`);
    this.onPodGone(ns, name);
    const fs = this.fs.get(`${ns}/${name}`);
    if (fs) {
      this.fs.delete(`${ns}/${name}`);
      fs.remove();
    }
  }

  stop() {
    clearInterval(this.syncTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const fs of this.fs.values()) fs.remove();
    this.fs.clear();
  }
}
