// Who is calling: bearer tokens (the admin token, static user tokens, and ServiceAccount
// tokens from TokenRequest, checked the way kube-apiserver checks them), then the
// Impersonate-* headers, each impersonated attribute authorized on its own against the
// caller's RBAC exactly as the apiserver's impersonation filter does.
import { randomBytes } from 'node:crypto';
import { forbidden, internalError, unauthorized } from './status.mjs';

export const serviceAccountUser = (ns, name) => `system:serviceaccount:${ns}:${name}`;
// staging/src/k8s.io/apiserver/pkg/authentication/serviceaccount/util.go MakeGroupNames,
// plus system:authenticated from the authenticated-group adder
// (staging/src/k8s.io/apiserver/pkg/authentication/group/authenticated_group_adder.go).
const serviceAccountGroups = (ns) => ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'];
const withAuthenticated = (groups) => (groups.includes('system:authenticated') ? groups : [...groups, 'system:authenticated']);
// jwt.DefaultLeeway: pkg/serviceaccount/claims.go treats a bound object as gone once its
// deletionTimestamp is more than this in the past.
const DELETION_LEEWAY_MS = 60 * 1000;

// The Impersonate-* request headers, extras decoded like the apiserver does
// (impersonation.go buildImpersonationRequests: the first Impersonate-User value; every
// Impersonate-Group; Impersonate-Extra-<key> with the key lower-cased, then
// unescapeExtraKey'd, raw when that fails; Impersonate-Uid).
export function readImpersonation(rawHeaders) {
  let user;
  let uid;
  const groups = [];
  const extra = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    const value = rawHeaders[i + 1];
    if (name === 'impersonate-user') user ??= value;
    else if (name === 'impersonate-uid') uid ??= value;
    else if (name === 'impersonate-group') groups.push(value);
    else if (name.startsWith('impersonate-extra-')) {
      const raw = name.slice('impersonate-extra-'.length);
      let k;
      try { k = decodeURIComponent(raw); } catch { k = raw; }
      (extra[k] ??= []).push(value);
    }
  }
  if (user === undefined && uid === undefined && groups.length === 0 && Object.keys(extra).length === 0) return null;
  return { user, uid, groups, extra };
}

// impersonation.go buildImpersonationRequests: one thing to authorize per user (or
// ServiceAccount, when the name has that form: serviceaccount.SplitUsername), group, extra
// value and uid, with the attributes WithImpersonation authorizes each of them by.
function impersonationRequests(imp) {
  const out = [];
  const hasUser = Boolean(imp.user);
  if (hasUser) {
    const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(imp.user);
    out.push(sa ? { kind: 'ServiceAccount', attrs: { apiGroup: '', resource: 'serviceaccounts', namespace: sa[1], name: sa[2] }, ns: sa[1] }
      : { kind: 'User', attrs: { apiGroup: '', resource: 'users', name: imp.user } });
  }
  for (const g of imp.groups) out.push({ kind: 'Group', attrs: { apiGroup: '', resource: 'groups', name: g } });
  for (const [key, values] of Object.entries(imp.extra)) {
    for (const v of values) out.push({ kind: 'UserExtra', attrs: { apiGroup: 'authentication.k8s.io', resource: 'userextras', subresource: key, name: v } });
  }
  if (imp.uid) out.push({ kind: 'UID', attrs: { apiGroup: 'authentication.k8s.io', resource: 'uids', name: imp.uid } });
  if (!hasUser && out.length) {
    // responsewriters.InternalError on buildImpersonationRequests' error.
    throw internalError(`requested ${JSON.stringify(out.map((r) => ({ kind: r.kind, name: r.attrs.name })))} without impersonating a user`);
  }
  return out;
}

export class Authenticator {
  // users: static bearer tokens [{ token, username, groups, uid }] (the apiserver's
  // --token-auth-file). lookup(resource, ns, name) reads the store; clock is the fake's.
  // anonymous: kube-apiserver's --anonymous-auth (its default is true; kubeadm clusters keep
  // it for kube-public/cluster-info discovery). Off here unless asked, so that the other
  // suites' "no credentials is 401" stays what they test.
  constructor({ adminToken, adminUser = 'periscope-admin', users = [], clock, lookup, anonymous = false }) {
    this.clock = clock;
    this.anonymous = anonymous;
    this.lookup = lookup;
    this.tokens = new Map();
    this.tokens.set(adminToken, { username: adminUser, groups: ['system:masters', 'system:authenticated'] });
    for (const u of users) {
      this.tokens.set(u.token, { username: u.username, groups: withAuthenticated([...(u.groups ?? [])]), ...(u.uid ? { uid: u.uid } : {}) });
    }
  }

  // A ServiceAccount token (pkg/serviceaccount/claims.go Claims): it names the
  // ServiceAccount and its uid, the bound object (a Pod or Secret, with uid) if any, and
  // expires expirationSeconds from now on the fake's clock.
  mintServiceAccountToken(sa, expirationSeconds, bound = null) {
    const token = `fake-sa-token.${randomBytes(24).toString('base64url')}`;
    const issued = Math.floor(this.clock.now() / 1000) * 1000;
    const expiresAt = issued + expirationSeconds * 1000;
    this.tokens.set(token, {
      serviceAccount: { namespace: sa.metadata.namespace, name: sa.metadata.name, uid: sa.metadata.uid },
      bound,
      expiresAt,
    });
    return { token, expirationTimestamp: this.clock.iso(expiresAt) };
  }

  // A bound object still there, with its uid, and not deleted for longer than the leeway
  // (claims.go validator.Validate).
  objectAlive(resource, ns, ref) {
    const obj = this.lookup(resource, ns, ref.name);
    if (!obj || obj.metadata.uid !== ref.uid) return false;
    const deleted = obj.metadata.deletionTimestamp && Date.parse(obj.metadata.deletionTimestamp);
    return !deleted || deleted >= this.clock.now() - DELETION_LEEWAY_MS;
  }

  // The identity behind a ServiceAccount token, or null when claims.go validator.Validate
  // would refuse it: expired, its ServiceAccount gone (or re-created: another uid), or its
  // bound Pod or Secret gone.
  serviceAccountIdentity(t) {
    const { namespace: ns, name, uid } = t.serviceAccount;
    if (this.clock.now() >= t.expiresAt) return null;
    if (!this.objectAlive('serviceaccounts', ns, { name, uid })) return null;
    if (t.bound && !this.objectAlive(t.bound.kind === 'Pod' ? 'pods' : 'secrets', ns, t.bound)) return null;
    const identity = { username: serviceAccountUser(ns, name), uid, groups: serviceAccountGroups(ns), serviceAccount: t.serviceAccount };
    // serviceaccount/util.go ServiceAccountInfo.UserInfo: the pod a bound token names.
    if (t.bound?.kind === 'Pod') identity.extra = { 'authentication.kubernetes.io/pod-name': [t.bound.name], 'authentication.kubernetes.io/pod-uid': [t.bound.uid] };
    return identity;
  }

  // A token a webhook authenticator vouched for, remembered for ttlMs like kube-apiserver's
  // webhook token cache (--authentication-token-webhook-cache-ttl, 2m by default).
  rememberWebhookToken(token, { username, groups }, ttlMs) {
    this.tokens.set(token, { username, groups: withAuthenticated([...groups]), webhookUntil: Date.now() + ttlMs });
  }

  // Empties the webhook token cache (what a restarted apiserver, or the TTL, does).
  forgetWebhookTokens() {
    for (const [token, t] of this.tokens) if (t.webhookUntil) this.tokens.delete(token);
  }

  knows(token) {
    const t = this.tokens.get(token);
    return Boolean(t) && !(t.webhookUntil && t.webhookUntil < Date.now());
  }

  // The x509 request authenticator (staging/src/k8s.io/apiserver/pkg/authentication/request/
  // x509/x509.go Authenticator.AuthenticateRequest with CommonNameUserConversion): a client
  // certificate that verifies against the client CA, is within its validity and allows
  // client authentication (ExtKeyUsageClientAuth) names the user by its CN and the groups
  // by its O values. A certificate that does not verify authenticates nobody.
  certificateIdentity(req) {
    const socket = req.socket;
    if (typeof socket?.getPeerCertificate !== 'function') return null;
    const cert = socket.getPeerCertificate();
    if (!cert || !cert.subject) return null;
    if (!socket.authorized) return null;
    if (!(cert.ext_key_usage ?? []).includes('1.3.6.1.5.5.7.3.2')) return null;
    const orgs = cert.subject.O === undefined ? [] : [].concat(cert.subject.O);
    if (!cert.subject.CN) return null;
    return { username: cert.subject.CN, groups: withAuthenticated(orgs) };
  }

  // The identity behind the request's client certificate or bearer token (the union
  // authenticator: the first that succeeds); 401 for anything else.
  authenticate(req) {
    const byCert = this.certificateIdentity(req);
    // staging/src/k8s.io/apiserver/pkg/authentication/request/anonymous/anonymous.go
    // NewAuthenticator, which pkg/kubeapiserver/authenticator/config.go puts last in the
    // union: a request with no credentials at all (no Authorization header, no client
    // certificate) is system:anonymous in group system:unauthenticated; a token that does
    // not authenticate is still 401.
    if (this.anonymous && !byCert && req.headers.authorization === undefined) {
      return { username: 'system:anonymous', groups: ['system:unauthenticated'] };
    }
    if (byCert && !/^Bearer\s/i.test(req.headers.authorization ?? '')) return byCert;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    let t = m && this.tokens.get(m[1]);
    if (t?.webhookUntil && t.webhookUntil < Date.now()) t = null;
    const id = t?.serviceAccount ? this.serviceAccountIdentity(t) : t;
    if (!id) {
      if (byCert) return byCert;
      throw unauthorized();
    }
    return id;
  }

  // staging/src/k8s.io/apiserver/pkg/endpoints/filters/impersonation.go WithImpersonation:
  // each requested attribute authorized (verb impersonate) for the caller with authorize,
  // 403 on the first refused; then the impersonated identity, with system:authenticated
  // added unless given (system:unauthenticated for system:anonymous).
  impersonate(caller, imp, authorize) {
    if (!imp) return { ...caller, groups: [...caller.groups], extra: caller.extra ?? {}, caller, impersonated: false };
    const requests = impersonationRequests(imp);
    const groupsSpecified = imp.groups.length > 0;
    let username = '';
    let groups = [];
    const extra = {};
    for (const r of requests) {
      const attrs = { verb: 'impersonate', resourceRequest: true, namespace: '', ...r.attrs };
      const d = authorize(attrs);
      if (!d.allowed) throw forbidden({ user: caller.username, ...attrs, reason: d.reason });
      if (r.kind === 'ServiceAccount') {
        username = serviceAccountUser(r.ns, r.attrs.name);
        if (!groupsSpecified) groups = serviceAccountGroups(r.ns).filter((g) => g !== 'system:authenticated');
      } else if (r.kind === 'User') username = r.attrs.name;
      else if (r.kind === 'Group') groups.push(r.attrs.name);
      else if (r.kind === 'UserExtra') (extra[r.attrs.subresource] ??= []).push(r.attrs.name);
    }
    if (username !== 'system:anonymous') {
      if (!groups.includes('system:authenticated') && !groups.includes('system:unauthenticated')) groups.push('system:authenticated');
    } else if (!groups.includes('system:unauthenticated')) {
      groups.push('system:unauthenticated');
    }
    const effective = { username, groups, extra, caller, impersonated: true };
    if (imp.uid) effective.uid = imp.uid;
    return effective;
  }
}
