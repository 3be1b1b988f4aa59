// The fake's object store: every object by resource, namespace and name, one global
// resourceVersion counter, and watches fed from a bounded event history (so a watch from a
// resourceVersion replays what happened since, and one from too long ago gets 410 Gone).
import { randomUUID, randomBytes } from 'node:crypto';
import { alreadyExists, notFound, status } from './status.mjs';

const HISTORY_MAX = 2000;

// group: the API group ('' = core, served under /api/v1; others under /apis/<group>/v1).
export const RESOURCES = {
  namespaces: { kind: 'Namespace', singularName: 'namespace', namespaced: false, shortNames: ['ns'] },
  nodes: { kind: 'Node', singularName: 'node', namespaced: false, shortNames: ['no'] },
  pods: { kind: 'Pod', singularName: 'pod', namespaced: true, shortNames: ['po'], categories: ['all'] },
  secrets: { kind: 'Secret', singularName: 'secret', namespaced: true },
  configmaps: { kind: 'ConfigMap', singularName: 'configmap', namespaced: true, shortNames: ['cm'] },
  serviceaccounts: { kind: 'ServiceAccount', singularName: 'serviceaccount', namespaced: true, shortNames: ['sa'] },
  roles: { kind: 'Role', singularName: 'role', namespaced: true, group: 'rbac.authorization.k8s.io' },
  rolebindings: { kind: 'RoleBinding', singularName: 'rolebinding', namespaced: true, group: 'rbac.authorization.k8s.io' },
  clusterroles: { kind: 'ClusterRole', singularName: 'clusterrole', namespaced: false, group: 'rbac.authorization.k8s.io' },
  clusterrolebindings: { kind: 'ClusterRoleBinding', singularName: 'clusterrolebinding', namespaced: false, group: 'rbac.authorization.k8s.io' },
};

export const groupOf = (resource) => RESOURCES[resource]?.group ?? '';
export const apiVersionOf = (resource) => (groupOf(resource) ? `${groupOf(resource)}/v1` : 'v1');

const key = (ns, name) => `${ns ?? ''}/${name}`;
const clone = (o) => structuredClone(o);

export class Store {
  // clock: the fake's Clock (creation timestamps follow it).
  constructor(clock) {
    this.clock = clock;
    this.rv = 1000;
    this.objects = new Map(Object.keys(RESOURCES).map((r) => [r, new Map()]));
    this.history = [];
    this.watchers = new Set();
    this.listeners = new Set(); // (type, resource, object) after every change
  }

  nextRv() {
    this.rv += 1;
    return String(this.rv);
  }

  emit(resource, type, obj) {
    const event = { rv: Number(obj.metadata.resourceVersion), resource, type, object: clone(obj) };
    this.history.push(event);
    if (this.history.length > HISTORY_MAX) this.history.shift();
    for (const w of this.watchers) if (w.resource === resource && w.matches(event.object)) w.send(type, event.object);
    for (const l of this.listeners) l(type, resource, event.object);
  }

  get(resource, ns, name) {
    const obj = this.objects.get(resource).get(key(ns, name));
    if (!obj) throw notFound(resource, name, groupOf(resource));
    return clone(obj);
  }

  has(resource, ns, name) {
    return this.objects.get(resource).has(key(ns, name));
  }

  // The stored objects themselves, not copies, for readers that never change them (the RBAC
  // authorizer reads every binding on every request: copying and sorting them all made each
  // request cost O(objects), and the fake, not the client, the bottleneck of dev/bench scale).
  // Like the real authorizer's listers (client-go cache.Indexer), in no particular order.
  peek(resource, ns, name) {
    return this.objects.get(resource).get(key(ns, name)) ?? null;
  }

  *values(resource, ns) {
    for (const obj of this.objects.get(resource).values())
      if (ns === undefined || obj.metadata.namespace === ns) yield obj;
  }

  // Items (copies) in namespace ns (undefined: all namespaces) that match the predicate.
  // copy: what is copied of each (the metadata alone for a PartialObjectMetadataList).
  list(resource, ns, matches = () => true, copy = clone) {
    const items = [];
    for (const obj of this.objects.get(resource).values()) {
      if (ns !== undefined && obj.metadata.namespace !== ns) continue;
      if (matches(obj)) items.push(obj);
    }
    items.sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`));
    return { items: items.map(copy), resourceVersion: String(this.rv) };
  }

  // obj has been validated by the caller. Fills in the server-owned metadata.
  create(resource, ns, obj) {
    const { kind } = RESOURCES[resource];
    const meta = obj.metadata ?? (obj.metadata = {});
    if (!meta.name && meta.generateName) {
      do meta.name = meta.generateName + randomBytes(4).toString('hex').slice(0, 5);
      while (this.has(resource, ns, meta.name));
    }
    if (this.has(resource, ns, meta.name)) throw alreadyExists(resource, meta.name, groupOf(resource));
    obj.kind = kind;
    obj.apiVersion = apiVersionOf(resource);
    if (ns !== undefined) meta.namespace = ns;
    meta.uid = randomUUID();
    meta.creationTimestamp = this.clock.iso();
    meta.resourceVersion = this.nextRv();
    this.objects.get(resource).set(key(ns, meta.name), obj);
    this.emit(resource, 'ADDED', obj);
    return clone(obj);
  }

  // mutate(obj) edits the stored object in place; returns the new copy.
  update(resource, ns, name, mutate) {
    const obj = this.objects.get(resource).get(key(ns, name));
    if (!obj) throw notFound(resource, name, groupOf(resource));
    mutate(obj);
    obj.metadata.resourceVersion = this.nextRv();
    this.emit(resource, 'MODIFIED', obj);
    return clone(obj);
  }

  remove(resource, ns, name) {
    const map = this.objects.get(resource);
    const obj = map.get(key(ns, name));
    if (!obj) throw notFound(resource, name, groupOf(resource));
    map.delete(key(ns, name));
    obj.metadata.resourceVersion = this.nextRv();
    this.emit(resource, 'DELETED', obj);
    return clone(obj);
  }

  // Starts a watch; send(type, object) is called for each event. Without a resourceVersion
  // (or "0") the current matching objects come first as ADDED. Returns a stop function.
  watch(resource, ns, matches, sinceRv, send) {
    const w = { resource, matches: (o) => (ns === undefined || o.metadata.namespace === ns) && matches(o), send };
    const since = Number(sinceRv || 0);
    if (since === 0) {
      for (const obj of this.list(resource, ns, matches).items) send('ADDED', obj);
    } else if (this.history.length === HISTORY_MAX && since < this.history[0].rv - 1) {
      send('ERROR', status(410, 'Expired', `too old resource version: ${since} (${this.history[0].rv - 1})`));
      return () => {};
    } else {
      for (const e of this.history) if (e.rv > since && e.resource === resource && w.matches(e.object)) send(e.type, clone(e.object));
    }
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }
}
