// The server-side printing kubectl asks for (Accept: ...;as=Table;g=meta.k8s.io): the
// columns a real apiserver prints for each resource, so `kubectl get` looks as it would.
// Whether an Accept header asks for it is metadata.mjs's negotiateConversion.

export function age(timestamp, now = Date.now()) {
  if (!timestamp) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

function podStatusText(pod) {
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  for (const cs of pod.status?.containerStatuses ?? []) {
    if (cs.state?.waiting?.reason) return cs.state.waiting.reason;
    if (cs.state?.terminated?.reason) return cs.state.terminated.reason;
  }
  return pod.status?.phase ?? 'Unknown';
}

const col = (name, type = 'string', extra = {}) => ({ name, type, format: '', description: '', priority: 0, ...extra });
const nameCol = col('Name', 'string', { format: 'name', description: 'Name must be unique within a namespace.' });
const ageCol = col('Age', 'string', { description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' });

const PRINTERS = {
  pods: {
    columns: [nameCol, col('Ready'), col('Status'), col('Restarts'), ageCol, col('IP', 'string', { priority: 1 }), col('Node', 'string', { priority: 1 })],
    cells: (p) => {
      const statuses = p.status?.containerStatuses ?? [];
      const ready = statuses.filter((c) => c.ready).length;
      return [p.metadata.name, `${ready}/${(p.spec?.containers ?? []).length}`, podStatusText(p),
        String(statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0)), age(p.metadata.creationTimestamp),
        p.status?.podIP ?? '<none>', p.spec?.nodeName ?? '<none>'];
    },
  },
  secrets: {
    columns: [nameCol, col('Type'), col('Data', 'string'), ageCol],
    cells: (s) => [s.metadata.name, s.type ?? 'Opaque', String(Object.keys(s.data ?? {}).length), age(s.metadata.creationTimestamp)],
  },
  configmaps: {
    columns: [nameCol, col('Data', 'string'), ageCol],
    cells: (c) => [c.metadata.name, String(Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length), age(c.metadata.creationTimestamp)],
  },
  namespaces: {
    columns: [nameCol, col('Status'), ageCol],
    cells: (n) => [n.metadata.name, n.status?.phase ?? 'Active', age(n.metadata.creationTimestamp)],
  },
  nodes: {
    columns: [nameCol, col('Status'), ageCol],
    cells: (n) => [n.metadata.name, (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') ? 'Ready' : 'NotReady', age(n.metadata.creationTimestamp)],
  },
  // pkg/printers/internalversion/printers.go: roles print their creation time, bindings
  // the role they grant.
  roles: { columns: [nameCol, col('Created At', 'date')], cells: (r) => [r.metadata.name, r.metadata.creationTimestamp] },
  clusterroles: { columns: [nameCol, col('Created At', 'date')], cells: (r) => [r.metadata.name, r.metadata.creationTimestamp] },
  rolebindings: {
    columns: [nameCol, col('Role'), ageCol],
    cells: (b) => [b.metadata.name, `${b.roleRef?.kind}/${b.roleRef?.name}`, age(b.metadata.creationTimestamp)],
  },
  clusterrolebindings: {
    columns: [nameCol, col('Role'), ageCol],
    cells: (b) => [b.metadata.name, `${b.roleRef?.kind}/${b.roleRef?.name}`, age(b.metadata.creationTimestamp)],
  },
  serviceaccounts: {
    columns: [nameCol, col('Secrets', 'string'), ageCol],
    cells: (s) => [s.metadata.name, String((s.secrets ?? []).length), age(s.metadata.creationTimestamp)],
  },
};

function rowObject(obj, includeObject, version) {
  if (includeObject === 'None') return undefined;
  if (includeObject === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: obj.metadata };
}

// items: objects of one resource; resourceVersion of the list; version: the meta.k8s.io
// version asked for (v1 or v1beta1), which the Table and its rows' metadata are typed as
// (handlers/response.go asTable).
export function toTable(resource, items, resourceVersion, includeObject, version = 'v1') {
  const p = PRINTERS[resource];
  return {
    kind: 'Table', apiVersion: `meta.k8s.io/${version}`, metadata: { resourceVersion },
    columnDefinitions: p.columns,
    rows: items.map((o) => {
      const row = { cells: p.cells(o) };
      const ro = rowObject(o, includeObject, version);
      if (ro) row.object = ro;
      return row;
    }),
  };
}
