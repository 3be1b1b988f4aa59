// The REST verbs on the core resources (namespaces, pods, secrets, configmaps,
// serviceaccounts) and RBAC's (roles, rolebindings, clusterroles, clusterrolebindings, with
// the apiserver's escalation checks) plus the two subresources the shell uses
// (serviceaccounts/token and authentication's selfsubjectreviews). Each handler returns
// { code, body } (and warnings for the Warning header) or throws an ApiError; watches write
// to the response themselves. `user` is the (impersonated) identity making the request.
import { RESOURCES, apiVersionOf, groupOf } from './store.mjs';
import { parseFieldSelector, parseLabelSelector } from './selectors.mjs';
import { badRequest, conflict, internalError, invalid, notFound, success, ApiError, status } from './status.mjs';
import { toTable } from './table.mjs';
import { asPartialObjectMetadata, asPartialObjectMetadataList, negotiateConversion } from './metadata.mjs';
import { checkNamespace, checkRoleRefUnchanged, validateBinding, validateGeneric, validatePod, validateRole, validateSecret } from './validate.mjs';
import { defaultPod } from './pods.mjs';

const MIN_TOKEN_SECONDS = 600;
const MAX_TOKEN_SECONDS = 2 ** 32;

// RFC 7386 JSON merge patch (also used for strategic merge patches: close enough here).
function mergePatch(target, patch) {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out = target && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const stripTypeMeta = ({ kind, apiVersion, ...rest }) => rest;
const ROLE_KINDS = { roles: 'Role', clusterroles: 'ClusterRole' };
const BINDING_KINDS = { rolebindings: 'RoleBinding', clusterrolebindings: 'ClusterRoleBinding' };

// DeleteOptions.dryRun: handlers/delete.go (DeleteResource, DeleteCollection) validates the
// options before anything else (apimachinery pkg/apis/meta/v1/validation/validation.go
// ValidateDeleteOptions → ValidateDryRun: "All" is the only value), as a 422 on
// DeleteOptions.meta.k8s.io. True when the deletion is a dry run.
function dryRunOf(options) {
  const values = options?.dryRun ?? [];
  if (!Array.isArray(values) || values.some((v) => v !== 'All')) {
    const shown = Array.isArray(values) ? `[]string{${values.map((v) => JSON.stringify(String(v))).join(', ')}}` : JSON.stringify(values);
    const err = invalid('DeleteOptions.meta.k8s.io', '', [{ type: 'NotSupported', field: 'dryRun', message: `${shown}: supported values: "All"` }]);
    Object.assign(err.body.details, { kind: 'DeleteOptions', group: 'meta.k8s.io' });
    throw err;
  }
  return values.length > 0;
}

export class ResourceApi {
  // maxTokenExpirationSeconds: the apiserver's --service-account-max-token-expiration
  // (0: none).
  constructor({ store, auth, pods, rbac, clock, namespaceDefaults, maxTokenExpirationSeconds = 0 }) {
    this.store = store;
    this.auth = auth;
    this.pods = pods;
    this.rbac = rbac;
    this.clock = clock;
    this.namespaceDefaults = namespaceDefaults; // (ns) -> objects every new namespace gets
    this.maxTokenExpirationSeconds = maxTokenExpirationSeconds;
    // Faults for the next watches of a resource, on demand: { resource, fault } in order.
    this.watchFaults = [];
  }

  // The fault the next watch of resource meets, if any (consumed).
  takeWatchFault(resource) {
    const i = this.watchFaults.findIndex((f) => f.resource === resource);
    return i < 0 ? null : this.watchFaults.splice(i, 1)[0].fault;
  }

  // RBAC objects: validated, then the escalation checks of the policy-based storage
  // (rbac.mjs checkRoleWrite / checkBindingWrite). urlName: the name in the URL (update).
  checkRbacWrite(resource, ns, obj, user, urlName) {
    if (ROLE_KINDS[resource]) {
      validateRole(ROLE_KINDS[resource], obj);
      this.rbac.checkRoleWrite(user, resource, ns, obj, urlName);
    } else if (BINDING_KINDS[resource]) {
      validateBinding(BINDING_KINDS[resource], obj);
      this.rbac.checkBindingWrite(user, resource, ns, obj);
    }
  }

  requireNamespace(ns) {
    if (!this.store.has('namespaces', undefined, ns)) throw notFound('namespaces', ns);
  }

  predicate(params) {
    const labels = parseLabelSelector(params.get('labelSelector'));
    const fields = parseFieldSelector(params.get('fieldSelector'));
    return (o) => labels(o.metadata.labels) && fields(o);
  }

  list(resource, ns, params, accept) {
    const conversion = negotiateConversion(accept);
    if (conversion?.kind.startsWith('PartialObjectMetadata')) {
      // The stored metadata itself, not a copy: the server serializes the answer in this
      // same tick (sendJson) and nothing changes it in between, as with store.peek. A copy
      // per item (structuredClone) made a 500-pod list hold the event loop, which carries
      // every exec stream, 6.6 ms instead of 2.
      const { items, resourceVersion } = this.store.list(resource, ns, this.predicate(params), (o) => o.metadata);
      return { code: 200, body: asPartialObjectMetadataList(conversion, items, resourceVersion, RESOURCES[resource]) };
    }
    const { items, resourceVersion } = this.store.list(resource, ns, this.predicate(params));
    if (conversion?.kind === 'Table') return { code: 200, body: toTable(resource, items, resourceVersion, params.get('includeObject'), conversion.version) };
    return { code: 200, body: { kind: `${RESOURCES[resource].kind}List`, apiVersion: apiVersionOf(resource), metadata: { resourceVersion }, items: items.map(stripTypeMeta) } };
  }

  get(resource, ns, name, params, accept) {
    // Negotiated before the object is read (handlers/get.go getResourceHandler): a refused
    // Accept is 406 even for an object that does not exist.
    const conversion = negotiateConversion(accept);
    const obj = this.store.get(resource, ns, name);
    if (conversion?.kind.startsWith('PartialObjectMetadata')) return { code: 200, body: asPartialObjectMetadata(conversion, obj, RESOURCES[resource]) };
    if (conversion?.kind === 'Table') return { code: 200, body: toTable(resource, [obj], obj.metadata.resourceVersion, params.get('includeObject'), conversion.version) };
    return { code: 200, body: obj };
  }

  // Streams {"type","object"} lines until timeoutSeconds or the client goes.
  // A watch, and the ways a real one fails mid-way, on demand (takeWatchFault):
  //   'reset'  the connection is cut after the headers (chunked stream left unterminated),
  //            as a load balancer or an apiserver restart does;
  //   '500'    the watch is answered with an InternalError Status;
  //   'gone'   an ERROR event with 410 Expired ("too old resource version"), then the end of
  //            the stream, as the watch cache answers a resourceVersion it no longer has
  //            (staging/src/k8s.io/apiserver/pkg/storage/cacher: errors as ERROR events,
  //            then the result channel closes).
  watch(resource, ns, params, res) {
    const match = this.predicate(params);
    const fault = this.takeWatchFault(resource);
    if (fault === '500') throw internalError('fake apiserver: watch fault 500');
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders(); // a watch with nothing to report yet must still answer at once
    if (fault === 'reset') {
      setImmediate(() => res.socket?.destroy());
      return { streaming: true, code: 200 };
    }
    if (fault === 'gone') {
      res.end(`${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${params.get('resourceVersion') ?? '0'}`) })}\n`);
      return { streaming: true, code: 200 };
    }
    // An ERROR event ends the watch: the server closes the stream after it.
    const write = (type, object) => (type === 'ERROR' ? res.end(`${JSON.stringify({ type, object })}\n`) : res.write(`${JSON.stringify({ type, object })}\n`));
    const stop = this.store.watch(resource, ns, match, params.get('resourceVersion'), write);
    const timeout = Number(params.get('timeoutSeconds') || 1800);
    const timer = setTimeout(() => res.end(), timeout * 1000);
    const end = () => {
      clearTimeout(timer);
      stop();
    };
    res.on('close', end);
    res.on('finish', end);
    return { streaming: true, code: 200 };
  }

  create(resource, ns, body, params, user) {
    if (!body || typeof body !== 'object') throw badRequest('the body of the request was in an unknown format');
    if (body.kind && body.kind !== RESOURCES[resource].kind) {
      throw badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersionOf(resource)})`);
    }
    checkNamespace(body, ns);
    if (ns !== undefined) this.requireNamespace(ns);
    if (resource === 'pods') {
      validatePod(body);
      const sa = body.spec.serviceAccountName ?? body.spec.serviceAccount ?? 'default';
      if (!this.store.has('serviceaccounts', ns, sa)) {
        throw new ApiError(status(403, 'Forbidden', `pods "${body.metadata.name ?? body.metadata.generateName}" is forbidden: error looking up service account ${ns}/${sa}: serviceaccount "${sa}" not found`, { name: body.metadata.name, kind: 'pods' }));
      }
      defaultPod(body);
    } else if (resource === 'secrets') {
      validateSecret(body);
      body.type ??= 'Opaque';
      if (body.stringData) {
        body.data = { ...body.data };
        for (const [k, v] of Object.entries(body.stringData)) body.data[k] = Buffer.from(String(v)).toString('base64');
        delete body.stringData;
      }
    } else if (ROLE_KINDS[resource] || BINDING_KINDS[resource]) {
      this.checkRbacWrite(resource, ns, body, user);
    } else {
      validateGeneric(RESOURCES[resource].kind, body, { label: resource === 'namespaces' });
    }
    if (resource === 'namespaces') body.status = { phase: 'Active' };
    if (params.get('dryRun') === 'All') {
      if (this.store.has(resource, ns, body.metadata.name)) this.store.create(resource, ns, body); // throws 409
      return { code: 201, body: { ...body, kind: RESOURCES[resource].kind, apiVersion: apiVersionOf(resource) } };
    }
    const created = this.store.create(resource, ns, body);
    if (resource === 'namespaces') for (const [r, obj] of this.namespaceDefaults(created.metadata.name)) this.store.create(r, created.metadata.name, obj);
    return { code: 201, body: created };
  }

  update(resource, ns, name, body, user) {
    if (!body || typeof body !== 'object') throw badRequest('the body of the request was in an unknown format');
    if (body.metadata?.name !== name) throw badRequest(`the name of the object (${body.metadata?.name}) does not match the name on the URL (${name})`);
    const current = this.store.get(resource, ns, name);
    const rv = body.metadata.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) {
      throw conflict(resource, name, 'the object has been modified; please apply your changes to the latest version and try again', groupOf(resource));
    }
    this.checkUpdate(resource, ns, name, current, body, user);
    return { code: 200, body: this.replace(resource, ns, name, body) };
  }

  patch(resource, ns, name, body, contentType, user) {
    if (/json-patch\+json/.test(contentType ?? '')) {
      throw new ApiError(status(415, 'UnsupportedMediaType', `the fake apiserver does not implement JSON patch (${contentType})`));
    }
    const current = this.store.get(resource, ns, name);
    const next = mergePatch(current, body);
    this.checkUpdate(resource, ns, name, current, next, user);
    return { code: 200, body: this.replace(resource, ns, name, next) };
  }

  // An RBAC object's update passes the same checks as its create; a binding keeps its role.
  checkUpdate(resource, ns, name, current, next, user) {
    if (BINDING_KINDS[resource]) {
      validateBinding(BINDING_KINDS[resource], next);
      checkRoleRefUnchanged(BINDING_KINDS[resource], current, next);
    }
    if (ROLE_KINDS[resource] || BINDING_KINDS[resource]) this.checkRbacWrite(resource, ns, next, user, name);
  }

  // Keeps what the server owns (identity, creation time, a pod's status).
  replace(resource, ns, name, next) {
    return this.store.update(resource, ns, name, (obj) => {
      const keep = { uid: obj.metadata.uid, creationTimestamp: obj.metadata.creationTimestamp, namespace: obj.metadata.namespace, name };
      const status = obj.status;
      for (const k of Object.keys(obj)) delete obj[k];
      Object.assign(obj, next, { kind: RESOURCES[resource].kind, apiVersion: apiVersionOf(resource) });
      obj.metadata = { ...next.metadata, ...keep };
      if (ns === undefined) delete obj.metadata.namespace;
      if (resource === 'pods') obj.status = status;
    });
  }

  deleteOne(resource, ns, name, options) {
    const dryRun = dryRunOf(options);
    const current = this.store.get(resource, ns, name);
    const uid = options?.preconditions?.uid;
    if (uid && uid !== current.metadata.uid) {
      throw conflict(resource, name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid}`, groupOf(resource));
    }
    if (dryRun) return this.dryRunDeletion(resource, current);
    if (resource === 'pods') return { code: 200, body: this.pods.delete(ns, name) };
    if (resource === 'namespaces') {
      for (const r of Object.keys(RESOURCES)) {
        if (r === 'namespaces') continue;
        for (const o of this.store.list(r, name).items) {
          if (r === 'pods') this.pods.delete(name, o.metadata.name);
          else this.store.remove(r, name, o.metadata.name);
        }
      }
    }
    const removed = this.store.remove(resource, ns, name);
    if (resource === 'namespaces') return { code: 200, body: { ...removed, status: { phase: 'Terminating' } } };
    return { code: 200, body: success({ name, ...(groupOf(resource) ? { group: groupOf(resource) } : {}), kind: resource, uid: removed.metadata.uid }) };
  }

  // A dry-run deletion answers as the deletion would and changes nothing: the registry
  // reads the object and checks its preconditions, then skips the write
  // (apiserver pkg/registry/generic/registry/dryrun.go DryRunnableStorage.Delete). A pod,
  // deleted gracefully, is shown as it would be while terminating (store.go Delete →
  // updateForGracefulDeletionAndFinalizers, whose update is not persisted either).
  dryRunDeletion(resource, current) {
    if (resource === 'pods') {
      const shown = structuredClone(current);
      shown.metadata.deletionTimestamp ??= this.pods.now();
      shown.metadata.deletionGracePeriodSeconds ??= shown.spec.terminationGracePeriodSeconds;
      return { code: 200, body: shown };
    }
    if (resource === 'namespaces') return { code: 200, body: { ...current, status: { phase: 'Terminating' } } };
    return { code: 200, body: success({ name: current.metadata.name, ...(groupOf(resource) ? { group: groupOf(resource) } : {}), kind: resource, uid: current.metadata.uid }) };
  }

  deleteCollection(resource, ns, params, options) {
    const dryRun = dryRunOf(options);
    const { items, resourceVersion } = this.store.list(resource, ns, this.predicate(params));
    if (dryRun) {
      const shown = items.map((o) => (resource === 'pods' ? this.dryRunDeletion('pods', o).body : o));
      return { code: 200, body: { kind: `${RESOURCES[resource].kind}List`, apiVersion: apiVersionOf(resource), metadata: { resourceVersion }, items: shown.map(stripTypeMeta) } };
    }
    const deleted = items.map((o) => (resource === 'pods' ? this.pods.delete(o.metadata.namespace, o.metadata.name) : this.store.remove(resource, o.metadata.namespace, o.metadata.name)));
    return { code: 200, body: { kind: `${RESOURCES[resource].kind}List`, apiVersion: apiVersionOf(resource), metadata: { resourceVersion }, items: deleted.map(stripTypeMeta) } };
  }

  // POST .../serviceaccounts/{name}/token, as pkg/registry/core/serviceaccount/storage/
  // token.go TokenREST.Create: validation (ValidateTokenRequest: 10 minutes to 2^32 s), the
  // bound object (a Pod running as this ServiceAccount, or a Secret; its uid must match),
  // then above the maximum the lifetime is shortened with a warning, and
  // status.expirationTimestamp tells the real expiry.
  tokenRequest(ns, name, body) {
    const sa = this.store.get('serviceaccounts', ns, name);
    const spec = { audiences: ['https://kubernetes.default.svc.cluster.local'], expirationSeconds: 3600, ...(body?.spec ?? {}) };
    if (!Array.isArray(spec.audiences) || spec.audiences.length === 0) spec.audiences = ['https://kubernetes.default.svc.cluster.local'];
    let seconds = Number(spec.expirationSeconds);
    if (!Number.isInteger(seconds) || seconds < MIN_TOKEN_SECONDS || seconds > MAX_TOKEN_SECONDS) {
      throw invalid('TokenRequest.authentication.k8s.io', '', [{
        field: 'spec.expirationSeconds', type: 'Invalid',
        message: `${spec.expirationSeconds}: ${seconds < MIN_TOKEN_SECONDS ? 'may not specify a duration less than 10 minutes' : 'may not specify a duration larger than 2^32 seconds'}`,
      }]);
    }
    let bound = null;
    if (spec.boundObjectRef) {
      const ref = spec.boundObjectRef;
      const group = (ref.apiVersion ?? '').includes('/') ? ref.apiVersion.split('/')[0] : '';
      const resource = group === '' ? { Pod: 'pods', Secret: 'secrets' }[ref.kind] : undefined;
      if (!resource) throw badRequest(`cannot bind token to object of type ${ref.apiVersion ?? ''}, Kind=${ref.kind ?? ''}`);
      const obj = this.store.get(resource, ns, ref.name);
      if (resource === 'pods' && obj.spec.serviceAccountName !== name) throw badRequest(`cannot bind token for serviceaccount "${name}" to pod running with different serviceaccount name.`);
      if (ref.uid && ref.uid !== obj.metadata.uid) {
        throw conflict(ref.kind, ref.name, `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
      }
      bound = { kind: ref.kind, name: ref.name, uid: obj.metadata.uid };
    }
    const warnings = [];
    if (this.maxTokenExpirationSeconds > 0 && seconds > this.maxTokenExpirationSeconds) {
      warnings.push(`requested expiration of ${seconds} seconds shortened to ${this.maxTokenExpirationSeconds} seconds`);
      seconds = this.maxTokenExpirationSeconds;
    }
    const { token, expirationTimestamp } = this.auth.mintServiceAccountToken(sa, seconds, bound);
    return {
      code: 201,
      warnings,
      body: {
        kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1',
        metadata: { name, namespace: ns, creationTimestamp: this.clock.iso() },
        spec: { ...spec, expirationSeconds: seconds, boundObjectRef: spec.boundObjectRef ?? null },
        status: { token, expirationTimestamp },
      },
    };
  }

  // POST /apis/authentication.k8s.io/v1/selfsubjectreviews: who the (impersonated) caller is.
  selfSubjectReview(identity) {
    const userInfo = { username: identity.username, groups: identity.groups };
    if (identity.uid) userInfo.uid = identity.uid;
    if (Object.keys(identity.extra ?? {}).length) userInfo.extra = identity.extra;
    return {
      code: 201,
      body: { kind: 'SelfSubjectReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, status: { userInfo } },
    };
  }
}
