// The RBAC objects an operator applies on a cluster for periscope (docs/cluster-shell.md §3),
// as the local stack applies them to the fake apiserver: periscope's own identity gets
// exactly these and nothing else, so every stack test shows they are enough.
// tests/integration/cluster_shell_rbac_docs.test.mjs checks that the manifest in the docs
// creates the same objects.
const RBAC = 'rbac.authorization.k8s.io';
const V1 = `${RBAC}/v1`;

// The provisioner: what periscope.fcgi and periscope-wsbridge may do with their own
// credentials for the cluster shell. identity: the subject periscope authenticates as.
export function provisionerRbac({ namespace = 'periscope-system', tiers = ['admin'], identity = { kind: 'User', apiGroup: RBAC, name: 'periscope' } } = {}) {
  const subjects = [identity];
  return [
    {
      apiVersion: V1, kind: 'Role',
      metadata: { name: 'periscope-shell-provisioner', namespace },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['create', 'delete', 'list', 'watch'] },
        { apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'get'] },
        { apiGroups: [''], resources: ['secrets'], verbs: ['create', 'delete', 'list', 'update'] },
        { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['create', 'delete', 'list'] },
        { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: ['kube-root-ca.crt'] },
      ],
    },
    {
      apiVersion: V1, kind: 'RoleBinding',
      metadata: { name: 'periscope-shell-provisioner', namespace },
      roleRef: { apiGroup: RBAC, kind: 'Role', name: 'periscope-shell-provisioner' },
      subjects,
    },
    {
      apiVersion: V1, kind: 'ClusterRole',
      metadata: { name: 'periscope-shell-provisioner' },
      rules: [
        { apiGroups: [RBAC], resources: ['clusterroles', 'clusterrolebindings'], verbs: ['create', 'delete', 'list'] },
        { apiGroups: [''], resources: ['users'], verbs: ['impersonate'] },
        { apiGroups: [''], resources: ['groups'], verbs: ['impersonate'], resourceNames: tiers.map((t) => `periscope-tier:${t}`) },
        {
          apiGroups: ['authentication.k8s.io'],
          resources: ['userextras/audit.periscope.io/session-id', 'userextras/audit.periscope.io/actor'],
          verbs: ['impersonate'],
        },
      ],
    },
    {
      apiVersion: V1, kind: 'ClusterRoleBinding',
      metadata: { name: 'periscope-shell-provisioner' },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'periscope-shell-provisioner' },
      subjects,
    },
  ];
}

// The node shell's node list (GET /api/clusters/<c>/nodes reads the nodes as periscope).
export function nodeReaderRbac({ identity = { kind: 'User', apiGroup: RBAC, name: 'periscope' } } = {}) {
  return [
    { apiVersion: V1, kind: 'ClusterRole', metadata: { name: 'periscope-node-reader' }, rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] }] },
    {
      apiVersion: V1, kind: 'ClusterRoleBinding', metadata: { name: 'periscope-node-reader' },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'periscope-node-reader' }, subjects: [identity],
    },
  ];
}

// What each tier may do once impersonated, as an operator would grant it: a binding of the
// tier's group to a role of their choice.
export function tierBindings(roles = { admin: 'cluster-admin', read: 'view' }) {
  return Object.entries(roles).map(([tier, role]) => ({
    apiVersion: V1, kind: 'ClusterRoleBinding',
    metadata: { name: `periscope-tier-${tier}` },
    roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'Group', apiGroup: RBAC, name: `periscope-tier:${tier}` }],
  }));
}

