// The validation a real apiserver does on create, as far as the shell's objects need it,
// with the 422 Invalid bodies it would send.
import { badRequest, invalid } from './status.mjs';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function nameCauses(meta, { label = false } = {}) {
  if (!meta?.name && !meta?.generateName) return [{ field: 'metadata.name', type: 'Required', message: 'name or generateName is required' }];
  const name = meta.name;
  if (name === undefined) return [];
  const re = label ? DNS1123_LABEL : DNS1123_SUBDOMAIN;
  if (name.length > (label ? 63 : 253) || !re.test(name)) {
    return [{ field: 'metadata.name', type: 'Invalid', message: `"${name}": a lowercase RFC 1123 ${label ? 'label' : 'subdomain'} must consist of lower case alphanumeric characters, '-' or '.'` }];
  }
  return [];
}

function labelCauses(meta) {
  const causes = [];
  for (const [k, v] of Object.entries(meta?.labels ?? {})) {
    if (typeof v !== 'string' || v.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v)) {
      causes.push({ field: 'metadata.labels', type: 'Invalid', message: `"${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'` });
    }
    if (!/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(k)) {
      causes.push({ field: 'metadata.labels', type: 'Invalid', message: `"${k}": name part must consist of alphanumeric characters, '-', '_' or '.'` });
    }
  }
  return causes;
}

// The body's namespace must be empty or the one in the path.
export function checkNamespace(obj, ns) {
  if (obj.metadata?.namespace && ns !== undefined && obj.metadata.namespace !== ns) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
}

function fail(kind, meta, causes) {
  if (causes.length) throw invalid(kind, meta?.name ?? meta?.generateName ?? '', causes);
}

export function validatePod(pod) {
  const causes = [...nameCauses(pod.metadata), ...labelCauses(pod.metadata)];
  const containers = pod.spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    causes.push({ field: 'spec.containers', type: 'Required' });
  } else {
    containers.forEach((c, i) => {
      if (!c.name) causes.push({ field: `spec.containers[${i}].name`, type: 'Required' });
      else if (!DNS1123_LABEL.test(c.name)) causes.push({ field: `spec.containers[${i}].name`, type: 'Invalid', message: `"${c.name}"` });
      if (!c.image) causes.push({ field: `spec.containers[${i}].image`, type: 'Required' });
      const volumes = new Set((pod.spec.volumes ?? []).map((v) => v.name));
      (c.volumeMounts ?? []).forEach((m, j) => {
        if (!volumes.has(m.name)) causes.push({ field: `spec.containers[${i}].volumeMounts[${j}].name`, type: 'NotFound', message: `"${m.name}"` });
        if (!m.mountPath?.startsWith('/')) causes.push({ field: `spec.containers[${i}].volumeMounts[${j}].mountPath`, type: 'Invalid', message: `"${m.mountPath ?? ''}"` });
      });
    });
  }
  const rp = pod.spec?.restartPolicy;
  if (rp !== undefined && !['Always', 'OnFailure', 'Never'].includes(rp)) {
    causes.push({ field: 'spec.restartPolicy', type: 'NotSupported', message: `"${rp}": supported values: "Always", "OnFailure", "Never"` });
  }
  fail('Pod', pod.metadata, causes);
}

export function validateSecret(secret) {
  fail('Secret', secret.metadata, [...nameCauses(secret.metadata), ...labelCauses(secret.metadata)]);
  for (const [k, v] of Object.entries(secret.data ?? {})) {
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
      throw badRequest(`Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 0 (key "${k}")`);
    }
  }
}

export function validateGeneric(kind, obj, opts = {}) {
  fail(kind, obj.metadata, [...nameCauses(obj.metadata, opts), ...labelCauses(obj.metadata)]);
}

const RBAC_GROUP = 'rbac.authorization.k8s.io';

// RBAC names are path segments (validation.go ValidateRBACName: path.IsValidPathSegmentName),
// so system:kube-controller-manager is a valid one.
function rbacNameCauses(meta) {
  if (!meta?.name && !meta?.generateName) return [{ field: 'metadata.name', type: 'Required', message: 'name or generateName is required' }];
  const name = meta.name;
  if (name === undefined) return [];
  if (name === '.' || name === '..') return [{ field: 'metadata.name', type: 'Invalid', message: `"${name}": may not be '${name}'` }];
  const bad = ['/', '%'].find((c) => name.includes(c));
  return bad ? [{ field: 'metadata.name', type: 'Invalid', message: `"${name}": may not contain '${bad}'` }] : [];
}

// pkg/apis/rbac/validation/validation.go ValidatePolicyRule.
function ruleCauses(rules, namespaced) {
  const causes = [];
  (rules ?? []).forEach((r, i) => {
    const at = `rules[${i}]`;
    if (!r.verbs?.length) causes.push({ field: `${at}.verbs`, type: 'Required', message: 'verbs must contain at least one value' });
    if (r.nonResourceURLs?.length) {
      if (namespaced) causes.push({ field: `${at}.nonResourceURLs`, type: 'Invalid', message: `${JSON.stringify(r.nonResourceURLs)}: namespaced rules cannot apply to non-resource URLs` });
      if (r.apiGroups?.length || r.resources?.length || r.resourceNames?.length) {
        causes.push({ field: `${at}.nonResourceURLs`, type: 'Invalid', message: `${JSON.stringify(r.nonResourceURLs)}: rules cannot apply to both regular resources and non-resource URLs` });
      }
      return;
    }
    if (!r.apiGroups?.length) causes.push({ field: `${at}.apiGroups`, type: 'Required', message: 'resource rules must supply at least one api group' });
    if (!r.resources?.length) causes.push({ field: `${at}.resources`, type: 'Required', message: 'resource rules must supply at least one resource' });
  });
  return causes;
}

// validation.go ValidateRole / ValidateClusterRole.
export function validateRole(kind, role) {
  fail(kind, role.metadata, [...rbacNameCauses(role.metadata), ...labelCauses(role.metadata), ...ruleCauses(role.rules, kind === 'Role')]);
}

// The defaults (pkg/apis/rbac/v1/defaults.go: roleRef.apiGroup and a User/Group subject's
// apiGroup are rbac.authorization.k8s.io when empty), then validation.go
// ValidateRoleBinding / ValidateClusterRoleBinding.
export function validateBinding(kind, b) {
  b.roleRef ??= {};
  if (!b.roleRef.apiGroup) b.roleRef.apiGroup = RBAC_GROUP;
  for (const s of b.subjects ?? []) if (!s.apiGroup && (s.kind === 'User' || s.kind === 'Group')) s.apiGroup = RBAC_GROUP;
  const causes = [...rbacNameCauses(b.metadata), ...labelCauses(b.metadata)];
  const kinds = kind === 'RoleBinding' ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (b.roleRef.apiGroup !== RBAC_GROUP) causes.push({ field: 'roleRef.apiGroup', type: 'NotSupported', message: `"${b.roleRef.apiGroup}": supported values: "${RBAC_GROUP}"` });
  if (!kinds.includes(b.roleRef.kind)) causes.push({ field: 'roleRef.kind', type: 'NotSupported', message: `"${b.roleRef.kind ?? ''}": supported values: ${kinds.map((k) => `"${k}"`).join(', ')}` });
  if (!b.roleRef.name) causes.push({ field: 'roleRef.name', type: 'Required' });
  (b.subjects ?? []).forEach((s, i) => {
    const at = `subjects[${i}]`;
    if (!s.name) causes.push({ field: `${at}.name`, type: 'Required' });
    if (s.kind === 'ServiceAccount') {
      if (s.apiGroup) causes.push({ field: `${at}.apiGroup`, type: 'NotSupported', message: `"${s.apiGroup}": supported values: ""` });
      if (!s.namespace && kind === 'ClusterRoleBinding') causes.push({ field: `${at}.namespace`, type: 'Required' });
    } else if (s.kind === 'User' || s.kind === 'Group') {
      if (s.apiGroup !== RBAC_GROUP) causes.push({ field: `${at}.apiGroup`, type: 'NotSupported', message: `"${s.apiGroup}": supported values: "${RBAC_GROUP}"` });
    } else {
      causes.push({ field: `${at}.kind`, type: 'NotSupported', message: `"${s.kind ?? ''}": supported values: "ServiceAccount", "User", "Group"` });
    }
  });
  fail(kind, b.metadata, causes);
}

// validation.go ValidateRoleBindingUpdate: the role a binding grants never changes.
export function checkRoleRefUnchanged(kind, before, after) {
  if (JSON.stringify(before.roleRef) !== JSON.stringify(after.roleRef)) {
    fail(kind, after.metadata, [{ field: 'roleRef', type: 'Invalid', message: `${JSON.stringify(after.roleRef)}: cannot change roleRef` }]);
  }
}
