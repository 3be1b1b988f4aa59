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
