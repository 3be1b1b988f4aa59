// RBAC as kube-apiserver evaluates it, over the Role/ClusterRole/RoleBinding/ClusterRoleBinding
// objects created through this fake, plus the bootstrap roles that matter to the shell. Each
// function names the upstream file and function it follows; the semantics are theirs, the
// code is not.
import { ApiError, status } from './status.mjs';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';
// staging/src/k8s.io/apiserver/pkg/authentication/user/user.go SystemPrivilegedGroup: the
// group kube-apiserver's first authorizer allows everything
// (pkg/kubeapiserver/authorizer/config.go: authorizerfactory.NewPrivilegedGroups).
export const PRIVILEGED_GROUP = 'system:masters';

const has = (set, e) => (set ?? []).includes(e);
const hasAll = (set, want) => want.every((w) => has(set, w));

// pkg/apis/rbac/v1/evaluation_helpers.go: VerbMatches, APIGroupMatches, ResourceMatches,
// ResourceNameMatches, NonResourceURLMatches.
const verbMatches = (rule, verb) => (rule.verbs ?? []).some((v) => v === '*' || v === verb);
const apiGroupMatches = (rule, group) => (rule.apiGroups ?? []).some((g) => g === '*' || g === group);
function resourceMatches(rule, combined, subresource) {
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    if (!subresource) continue;
    if (r.length === subresource.length + 2 && r.startsWith('*/') && r.endsWith(subresource)) return true;
  }
  return false;
}
const resourceNameMatches = (rule, name) => !rule.resourceNames?.length || rule.resourceNames.includes(name);
function nonResourceURLMatches(rule, path) {
  return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === path
    || (u.endsWith('*') && path.startsWith(u.replace(/\*+$/, ''))));
}

// plugin/pkg/auth/authorizer/rbac/rbac.go RuleAllows. attrs: { verb, resourceRequest,
// apiGroup, resource, subresource, name, namespace } or { verb, path } (non-resource).
export function ruleAllows(attrs, rule) {
  if (attrs.resourceRequest) {
    const combined = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
    return verbMatches(rule, attrs.verb) && apiGroupMatches(rule, attrs.apiGroup ?? '')
      && resourceMatches(rule, combined, attrs.subresource ?? '') && resourceNameMatches(rule, attrs.name ?? '');
  }
  return verbMatches(rule, attrs.verb) && nonResourceURLMatches(rule, attrs.path);
}

// pkg/registry/rbac/validation/rule.go appliesToUser.
function appliesToUser(user, subject, namespace) {
  switch (subject.kind) {
    case 'User': return user.username === subject.name;
    case 'Group': return has(user.groups, subject.name);
    case 'ServiceAccount': {
      const ns = subject.namespace || namespace;
      return Boolean(ns) && user.username === `system:serviceaccount:${ns}:${subject.name}`;
    }
    default: return false;
  }
}

// component-helpers/auth/rbac/validation/policy_comparator.go BreakdownRule: one verb,
// group, resource and resourceName per sub-rule.
function breakdownRule(rule) {
  const out = [];
  for (const g of rule.apiGroups ?? []) {
    for (const r of rule.resources ?? []) {
      for (const v of rule.verbs ?? []) {
        if (rule.resourceNames?.length) for (const n of rule.resourceNames) out.push({ apiGroups: [g], resources: [r], verbs: [v], resourceNames: [n] });
        else out.push({ apiGroups: [g], resources: [r], verbs: [v] });
      }
    }
  }
  for (const u of rule.nonResourceURLs ?? []) for (const v of rule.verbs ?? []) out.push({ nonResourceURLs: [u], verbs: [v] });
  return out;
}

// policy_comparator.go resourceCoversAll.
function resourceCoversAll(set, covers) {
  if (has(set, '*') || hasAll(set, covers)) return true;
  return covers.every((p) => has(set, p) || (p.includes('/') && has(set, `*/${p.split('/').slice(1).join('/')}`)));
}

// policy_comparator.go nonResourceURLsCoversAll / nonResourceURLCovers.
const nonResourceURLCovers = (owner, sub) => owner === sub || (owner.endsWith('*') && sub.startsWith(owner.replace(/\*+$/, '')));
const nonResourceURLsCoversAll = (set, covers) => covers.every((c) => (set ?? []).some((o) => nonResourceURLCovers(o, c)));

// policy_comparator.go ruleCovers: ownerRule covers a broken-down subRule.
function ruleCovers(owner, sub) {
  const verbs = has(owner.verbs, '*') || hasAll(owner.verbs, sub.verbs ?? []);
  const groups = has(owner.apiGroups, '*') || hasAll(owner.apiGroups, sub.apiGroups ?? []);
  const resources = resourceCoversAll(owner.resources ?? [], sub.resources ?? []);
  const urls = nonResourceURLsCoversAll(owner.nonResourceURLs ?? [], sub.nonResourceURLs ?? []);
  const names = !sub.resourceNames?.length ? !owner.resourceNames?.length
    : !owner.resourceNames?.length || hasAll(owner.resourceNames, sub.resourceNames);
  return verbs && groups && resources && names && urls;
}

// policy_comparator.go Covers: whether ownerRules cover every servantRule; the uncovered
// sub-rules otherwise.
export function covers(ownerRules, servantRules) {
  const missing = servantRules.flatMap(breakdownRule).filter((sub) => !ownerRules.some((o) => ruleCovers(o, sub)));
  return { covered: missing.length === 0, missing };
}

// Go's %q of a []string: ["a" "b"].
const goQuoteList = (list) => `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;

// pkg/apis/rbac/v1/helpers.go CompactString.
function compactString(r) {
  const parts = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${goQuoteList(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${goQuoteList(r.resources)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${goQuoteList(r.nonResourceURLs)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${goQuoteList(r.resourceNames)}`);
  if (r.verbs?.length) parts.push(`Verbs:${goQuoteList(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}

// pkg/registry/rbac/validation/policy_compact.go CompactRules: simple rules (one group, one
// resource, at most one name) that differ only in verb are merged.
function compactRules(rules) {
  const simple = new Map();
  const out = [];
  for (const r of rules) {
    if ((r.resourceNames?.length ?? 0) > 1 || r.nonResourceURLs?.length || r.apiGroups?.length !== 1 || r.resources?.length !== 1) {
      out.push(r);
      continue;
    }
    const k = JSON.stringify([r.apiGroups[0], r.resources[0], r.resourceNames ?? []]);
    if (simple.has(k)) simple.get(k).verbs.push(...r.verbs);
    else simple.set(k, structuredClone(r));
  }
  return [...out, ...simple.values()];
}

// Qualified resource and the 403 body errors.NewForbidden builds
// (staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go NewForbidden).
export function forbiddenError(group, resource, name, reason) {
  const qualified = group ? `${resource}.${group}` : resource;
  const message = name ? `${qualified} "${name}" is forbidden: ${reason}` : `${qualified} is forbidden: ${reason}`;
  const details = { kind: resource };
  if (name) details.name = name;
  if (group) details.group = group;
  return new ApiError(status(403, 'Forbidden', message, details));
}

export class Rbac {
  // lookup(resource, ns, name): a stored object or null; list(resource, ns): the stored
  // objects (an iterable). Both are the store's own objects: nothing here may change them.
  constructor({ lookup, list }) {
    this.lookup = lookup;
    this.list = list;
  }

  // pkg/registry/rbac/validation/rule.go DefaultRuleResolver.GetRoleReferenceRules.
  roleReferenceRules(roleRef, bindingNamespace) {
    if (roleRef?.kind === 'Role') {
      const role = bindingNamespace ? this.lookup('roles', bindingNamespace, roleRef.name) : null;
      return role ? { rules: role.rules ?? [] } : { error: `roles.${RBAC_GROUP} "${roleRef.name}" not found` };
    }
    if (roleRef?.kind === 'ClusterRole') {
      const role = this.lookup('clusterroles', undefined, roleRef.name);
      return role ? { rules: role.rules ?? [] } : { error: `clusterroles.${RBAC_GROUP} "${roleRef.name}" not found` };
    }
    return { error: `unsupported role reference kind: "${roleRef?.kind}"` };
  }

  // rule.go DefaultRuleResolver.VisitRulesFor: ClusterRoleBindings, then the RoleBindings of
  // the request's namespace. visit(rule) returning true stops the walk.
  visitRulesFor(user, namespace, visit, errors = []) {
    const walk = (bindings, ns) => {
      for (const b of bindings) {
        if (!(b.subjects ?? []).some((s) => appliesToUser(user, s, ns))) continue;
        const { rules, error } = this.roleReferenceRules(b.roleRef, ns);
        if (error) {
          errors.push(error);
          continue;
        }
        for (const r of rules) if (visit(r)) return true;
      }
      return false;
    };
    if (walk(this.list('clusterrolebindings', undefined), '')) return true;
    return Boolean(namespace) && walk(this.list('rolebindings', namespace), namespace);
  }

  // plugin/pkg/auth/authorizer/rbac/rbac.go RBACAuthorizer.Authorize, behind the
  // privileged-group authorizer. Returns { allowed, reason }.
  authorize(user, attrs) {
    if (has(user.groups, PRIVILEGED_GROUP)) return { allowed: true, reason: '' };
    const errors = [];
    const allowed = this.visitRulesFor(user, attrs.namespace ?? '', (rule) => ruleAllows(attrs, rule), errors);
    const reason = errors.length === 1 ? `RBAC: ${errors[0]}` : `RBAC: [${errors.join(', ')}]`;
    return { allowed, reason: !allowed && errors.length ? reason : '' };
  }

  // rule.go DefaultRuleResolver.RulesFor.
  rulesFor(user, namespace) {
    const rules = [];
    this.visitRulesFor(user, namespace, (r) => { rules.push(r); return false; });
    return rules;
  }

  // rule.go ConfirmNoEscalation: null when user already holds every rule, else the
  // message the apiserver gives.
  noEscalationError(user, namespace, rules) {
    const { covered, missing } = covers(this.rulesFor(user, namespace), rules);
    if (covered) return null;
    const lines = [...new Set(compactRules(missing).map(compactString))].sort();
    return `user "${user.username}" (groups=${goQuoteList(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${lines.join('\n')}`;
  }

  // The escalation checks of pkg/registry/rbac/{role,clusterrole}/policybased/storage.go
  // Create/Update: a member of system:masters (escalation_check.go EscalationAllowed), or
  // one allowed the "escalate" verb on the role (RoleEscalationAuthorized: the name is the
  // URL's, so empty on create), or one who already holds every rule. An aggregationRule
  // needs full authority. Throws 403.
  checkRoleWrite(user, resource, namespace, role, urlName) {
    if (has(user.groups, PRIVILEGED_GROUP)) return;
    const escalate = { verb: 'escalate', resourceRequest: true, apiGroup: RBAC_GROUP, resource, name: urlName ?? '', namespace: namespace ?? '' };
    if (this.authorize(user, escalate).allowed) return;
    const why = this.noEscalationError(user, namespace ?? '', role.rules ?? []);
    if (why) throw forbiddenError(RBAC_GROUP, resource, role.metadata?.name, why);
    if (resource === 'clusterroles' && role.aggregationRule
      && this.noEscalationError(user, '', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, { verbs: ['*'], nonResourceURLs: ['*'] }])) {
      throw forbiddenError(RBAC_GROUP, resource, role.metadata?.name, 'must have cluster-admin privileges to use the aggregationRule');
    }
  }

  // pkg/registry/rbac/{rolebinding,clusterrolebinding}/policybased/storage.go Create/Update:
  // system:masters, or "bind" on the referenced role (escalation_check.go BindingAuthorized,
  // checked in the binding's namespace), or holding every rule of the referenced role
  // (which must exist: GetRoleReferenceRules' NotFound is the answer otherwise). Throws.
  checkBindingWrite(user, resource, namespace, binding) {
    if (has(user.groups, PRIVILEGED_GROUP)) return;
    const ref = binding.roleRef ?? {};
    const bind = {
      verb: 'bind', resourceRequest: true, apiGroup: ref.apiGroup ?? '', resource: ref.kind === 'Role' ? 'roles' : 'clusterroles',
      name: ref.name ?? '', namespace: namespace ?? '',
    };
    if ((ref.kind === 'Role' || ref.kind === 'ClusterRole') && this.authorize(user, bind).allowed) return;
    const { rules, error } = this.roleReferenceRules(ref, namespace ?? '');
    if (error) {
      const [, r, n] = /^(\S+)\.rbac\.authorization\.k8s\.io "(.*)" not found$/.exec(error) ?? [];
      throw new ApiError(r ? status(404, 'NotFound', error, { name: n, group: RBAC_GROUP, kind: r }) : status(500, 'InternalError', error));
    }
    const why = this.noEscalationError(user, namespace ?? '', rules);
    if (why) throw forbiddenError(RBAC_GROUP, resource, binding.metadata?.name, why);
  }
}

// The bootstrap policy that matters here (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/
// policy.go ClusterRoles and ClusterRoleBindings): cluster-admin for system:masters,
// discovery and self-review for every authenticated user, and system:kube-controller-manager,
// which can list every object (secrets included) and mint ServiceAccount tokens. That user
// name is what a wildcard `impersonate users` rule turns into cluster admin. `view` is shown
// with the rules the aggregation controller fills in.
const READ = ['get', 'list', 'watch'];
const DEFAULTS = { labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' }, annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' } };

export function bootstrapPolicy() {
  const role = (name, rules, extra = {}) => ({ metadata: { name, ...structuredClone(DEFAULTS) }, rules, ...extra });
  const binding = (name, subjects) => ({
    metadata: { name, ...structuredClone(DEFAULTS) },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name },
    subjects: subjects.map(([kind, n]) => ({ kind, apiGroup: RBAC_GROUP, name: n })),
  });
  const clusterRoles = [
    role('cluster-admin', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, { verbs: ['*'], nonResourceURLs: ['*'] }]),
    role('system:discovery', [{ verbs: ['get'], nonResourceURLs: ['/livez', '/readyz', '/healthz', '/version', '/version/', '/openapi', '/openapi/*', '/api', '/api/*', '/apis', '/apis/*'] }]),
    role('system:public-info-viewer', [{ verbs: ['get'], nonResourceURLs: ['/livez', '/readyz', '/healthz', '/version', '/version/'] }]),
    role('system:basic-user', [
      { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] },
      { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
    ]),
    role('view', [
      { verbs: READ, apiGroups: [''], resources: ['pods', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'configmaps'] },
      { verbs: READ, apiGroups: [''], resources: ['limitranges', 'resourcequotas', 'bindings', 'events', 'pods/status', 'resourcequotas/status', 'namespaces/status', 'replicationcontrollers/status', 'pods/log'] },
      { verbs: READ, apiGroups: [''], resources: ['namespaces'] },
    ], { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } }] } }),
    role('system:kube-controller-manager', [
      { verbs: ['create', 'patch', 'update'], apiGroups: ['', 'events.k8s.io'], resources: ['events'] },
      { verbs: ['create'], apiGroups: ['coordination.k8s.io'], resources: ['leases'] },
      { verbs: ['get', 'update'], apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['kube-controller-manager'] },
      { verbs: ['create'], apiGroups: [''], resources: ['secrets', 'serviceaccounts'] },
      { verbs: ['delete'], apiGroups: [''], resources: ['secrets'] },
      { verbs: ['get'], apiGroups: [''], resources: ['configmaps', 'namespaces', 'secrets', 'serviceaccounts'] },
      { verbs: ['update'], apiGroups: [''], resources: ['secrets', 'serviceaccounts'] },
      { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'] },
      { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'] },
      { verbs: ['list', 'watch'], apiGroups: ['*'], resources: ['*'] },
      { verbs: ['create'], apiGroups: [''], resources: ['serviceaccounts/token'] },
    ]),
  ];
  const clusterRoleBindings = [
    binding('cluster-admin', [['Group', 'system:masters']]),
    binding('system:discovery', [['Group', 'system:authenticated']]),
    binding('system:public-info-viewer', [['Group', 'system:authenticated'], ['Group', 'system:unauthenticated']]),
    binding('system:basic-user', [['Group', 'system:authenticated']]),
    binding('system:kube-controller-manager', [['User', 'system:kube-controller-manager']]),
  ];
  return { clusterRoles, clusterRoleBindings };
}
