// Who is calling: bearer tokens the fake minted (the admin token given at start, and
// ServiceAccount tokens from TokenRequest), then the Impersonate-* headers on top, checked
// the way the shell's RBAC would check them.
import { randomBytes } from 'node:crypto';
import { forbidden, internalError, unauthorized } from './status.mjs';

const SHELL_SA = /^periscope-shell-([a-z0-9-]+)$/;
// The user-extras the per-tier impersonator ClusterRole allows (chart: cluster-shell-rbac.yaml).
const SHELL_EXTRAS = ['audit.periscope.io/session-id', 'audit.periscope.io/actor'];

export const serviceAccountUser = (ns, name) => `system:serviceaccount:${ns}:${name}`;
const serviceAccountGroups = (ns) => ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'];

// The Impersonate-* request headers, each line kept (rawHeaders), extras decoded like the
// apiserver does: the key lower-cased, then percent-decoded (raw when that fails).
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

export class Authenticator {
  constructor({ adminToken, adminUser = 'periscope-admin', enforceShellRbac = true }) {
    this.enforceShellRbac = enforceShellRbac;
    this.tokens = new Map();
    this.tokens.set(adminToken, { username: adminUser, groups: ['system:masters', 'system:authenticated'], admin: true });
  }

  // A ServiceAccount token, valid until expirationSeconds from now.
  mintServiceAccountToken(ns, name, expirationSeconds) {
    const token = `fake-sa-token.${randomBytes(24).toString('base64url')}`;
    const expiresAt = Math.floor(Date.now() / 1000) * 1000 + expirationSeconds * 1000;
    this.tokens.set(token, {
      username: serviceAccountUser(ns, name),
      groups: serviceAccountGroups(ns),
      serviceAccount: { namespace: ns, name },
      expiresAt,
    });
    return { token, expirationTimestamp: new Date(expiresAt).toISOString().replace(/\.\d+Z$/, 'Z') };
  }

  // The identity behind the request's bearer token; 401 for anything else.
  authenticate(req) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const id = m && this.tokens.get(m[1]);
    if (!id) throw unauthorized();
    if (id.expiresAt !== undefined && Date.now() >= id.expiresAt) throw unauthorized();
    return id;
  }

  // Whether caller may impersonate: the admin may do anything; a periscope-shell-<tier>
  // ServiceAccount any user, only group periscope-tier:<tier> and the two audit extras;
  // any other identity nothing. Throws 403 naming the first thing refused.
  checkImpersonation(caller, imp) {
    if (caller.admin || !this.enforceShellRbac) return;
    const tier = caller.serviceAccount && SHELL_SA.exec(caller.serviceAccount.name)?.[1];
    const deny = (resource, name, group) => forbidden({ user: caller.username, verb: 'impersonate', resource, name, group });
    if (imp.user !== undefined) {
      if (!tier) throw deny(imp.user.startsWith('system:serviceaccount:') ? 'serviceaccounts' : 'users', imp.user);
    }
    if (imp.uid !== undefined) throw deny('uids', imp.uid, 'authentication.k8s.io');
    for (const g of imp.groups) if (g !== `periscope-tier:${tier}`) throw deny('groups', g);
    for (const [k, values] of Object.entries(imp.extra)) {
      if (!tier || !SHELL_EXTRAS.includes(k)) throw deny(`userextras/${k}`, values[0], 'authentication.k8s.io');
    }
  }

  // The effective identity: the caller, or whom the caller impersonates.
  resolve(caller, imp) {
    if (!imp) return { username: caller.username, groups: [...caller.groups], extra: {}, caller, impersonated: false };
    if (imp.user === undefined) {
      throw internalError(`requested ${JSON.stringify(imp)} without impersonating a user`);
    }
    this.checkImpersonation(caller, imp);
    let groups = [...imp.groups];
    const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(imp.user);
    if (sa && groups.length === 0) groups = serviceAccountGroups(sa[1]);
    else if (imp.user !== 'system:anonymous' && !groups.includes('system:authenticated') && !groups.includes('system:unauthenticated')) {
      groups.push('system:authenticated');
    }
    const effective = { username: imp.user, groups, extra: imp.extra, caller, impersonated: true };
    if (imp.uid !== undefined) effective.uid = imp.uid;
    return effective;
  }

  // ServiceAccount tokens here carry only impersonate rights (the shell's per-tier SA):
  // used directly they may read discovery and ask who they are, nothing else, which is the
  // "a stolen token nets nothing" property.
  isRestricted(identity) {
    return this.enforceShellRbac && !identity.impersonated && Boolean(identity.caller.serviceAccount);
  }
}
