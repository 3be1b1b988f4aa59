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

const GROUPS = ['authentication.k8s.io', 'rbac.authorization.k8s.io'];
const groupVersion = (name) => ({ groupVersion: `${name}/v1`, version: 'v1' });

export function apiGroupList() {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: GROUPS.map((name) => ({ name, versions: [groupVersion(name)], preferredVersion: groupVersion(name) })) };
}

export function apiGroup(name) {
  return apiGroupList().groups.find((g) => g.name === name) ?? null;
}

function resourceEntry(name, r) {
  const entry = { name, singularName: r.singularName, namespaced: r.namespaced, kind: r.kind, verbs: CRUD };
  if (r.shortNames) entry.shortNames = r.shortNames;
  if (r.categories) entry.categories = r.categories;
  return entry;
}

export function coreResources() {
  const resources = Object.entries(RESOURCES).filter(([, r]) => !r.group).map(([name, r]) => resourceEntry(name, r));
  resources.push(
    { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
    { name: 'pods/status', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
    { name: 'serviceaccounts/token', singularName: '', namespaced: true, group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] },
  );
  return { kind: 'APIResourceList', groupVersion: 'v1', resources };
}

export function groupResources(gv) {
  if (gv === 'authentication.k8s.io/v1') {
    return {
      kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv,
      resources: [{ name: 'selfsubjectreviews', singularName: 'selfsubjectreview', namespaced: false, kind: 'SelfSubjectReview', verbs: ['create'] }],
    };
  }
  if (gv === 'rbac.authorization.k8s.io/v1') {
    return {
      kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv,
      resources: Object.entries(RESOURCES).filter(([, r]) => r.group === 'rbac.authorization.k8s.io').map(([name, r]) => resourceEntry(name, r)),
    };
  }
  return null;
}
