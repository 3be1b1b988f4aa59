// Discovery documents: what kubectl reads before it knows how to say "pods".
import { RESOURCES } from './store.mjs';

const CRUD = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function version() {
  return {
    major: '1', minor: '32', gitVersion: 'v1.32.4-periscope-fake', gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean', buildDate: '2025-01-01T00:00:00Z', goVersion: 'go1.23.0', compiler: 'gc', platform: 'linux/amd64',
  };
}

export function apiVersions(serverAddress) {
  return {
    kind: 'APIVersions', versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

const AUTH_GROUP = { name: 'authentication.k8s.io', version: 'v1' };

export function apiGroupList() {
  const gv = { groupVersion: `${AUTH_GROUP.name}/${AUTH_GROUP.version}`, version: AUTH_GROUP.version };
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [{ name: AUTH_GROUP.name, versions: [gv], preferredVersion: gv }] };
}

export function apiGroup(name) {
  if (name !== AUTH_GROUP.name) return null;
  return apiGroupList().groups[0];
}

export function coreResources() {
  const resources = [];
  for (const [name, r] of Object.entries(RESOURCES)) {
    const entry = { name, singularName: r.singularName, namespaced: r.namespaced, kind: r.kind, verbs: CRUD };
    if (r.shortNames) entry.shortNames = r.shortNames;
    if (r.categories) entry.categories = r.categories;
    resources.push(entry);
  }
  resources.push(
    { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
    { name: 'pods/status', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
    { name: 'serviceaccounts/token', singularName: '', namespaced: true, group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] },
  );
  return { kind: 'APIResourceList', groupVersion: 'v1', resources };
}

export function groupResources(groupVersion) {
  if (groupVersion !== `${AUTH_GROUP.name}/${AUTH_GROUP.version}`) return null;
  return {
    kind: 'APIResourceList', apiVersion: 'v1', groupVersion,
    resources: [{ name: 'selfsubjectreviews', singularName: 'selfsubjectreview', namespaced: false, kind: 'SelfSubjectReview', verbs: ['create'] }],
  };
}
