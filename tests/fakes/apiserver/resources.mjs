// The REST verbs on the core resources (namespaces, pods, secrets, configmaps,
// serviceaccounts) plus the two subresources the shell uses (serviceaccounts/token and
// authentication's selfsubjectreviews). Each handler returns { code, body } or throws an
// ApiError; watches write to the response themselves.
import { RESOURCES } from './store.mjs';
import { parseFieldSelector, parseLabelSelector } from './selectors.mjs';
import { badRequest, conflict, invalid, notFound, success, ApiError, status } from './status.mjs';
import { toTable, wantsTable } from './table.mjs';
import { checkNamespace, validateGeneric, validatePod, validateSecret } from './validate.mjs';
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

export class ResourceApi {
  constructor({ store, auth, pods, namespaceDefaults }) {
    this.store = store;
    this.auth = auth;
    this.pods = pods;
    this.namespaceDefaults = namespaceDefaults; // (ns) -> objects every new namespace gets
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
    const { items, resourceVersion } = this.store.list(resource, ns, this.predicate(params));
    if (wantsTable(accept)) return { code: 200, body: toTable(resource, items, resourceVersion, params.get('includeObject')) };
    return { code: 200, body: { kind: `${RESOURCES[resource].kind}List`, apiVersion: 'v1', metadata: { resourceVersion }, items: items.map(stripTypeMeta) } };
  }

  get(resource, ns, name, params, accept) {
    const obj = this.store.get(resource, ns, name);
    if (wantsTable(accept)) return { code: 200, body: toTable(resource, [obj], obj.metadata.resourceVersion, params.get('includeObject')) };
    return { code: 200, body: obj };
  }

  // Streams {"type","object"} lines until timeoutSeconds or the client goes.
  watch(resource, ns, params, res) {
    const match = this.predicate(params);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders(); // a watch with nothing to report yet must still answer at once
    const write = (type, object) => res.write(`${JSON.stringify({ type, object })}\n`);
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

  create(resource, ns, body, params) {
    if (!body || typeof body !== 'object') throw badRequest('the body of the request was in an unknown format');
    if (body.kind && body.kind !== RESOURCES[resource].kind) {
      throw badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (v1)`);
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
    } else {
      validateGeneric(RESOURCES[resource].kind, body, { label: resource === 'namespaces' });
    }
    if (resource === 'namespaces') body.status = { phase: 'Active' };
    if (params.get('dryRun') === 'All') {
      if (this.store.has(resource, ns, body.metadata.name)) this.store.create(resource, ns, body); // throws 409
      return { code: 201, body: { ...body, kind: RESOURCES[resource].kind, apiVersion: 'v1' } };
    }
    const created = this.store.create(resource, ns, body);
    if (resource === 'namespaces') for (const [r, obj] of this.namespaceDefaults(created.metadata.name)) this.store.create(r, created.metadata.name, obj);
    return { code: 201, body: created };
  }

  update(resource, ns, name, body) {
    if (!body || typeof body !== 'object') throw badRequest('the body of the request was in an unknown format');
    if (body.metadata?.name !== name) throw badRequest(`the name of the object (${body.metadata?.name}) does not match the name on the URL (${name})`);
    const current = this.store.get(resource, ns, name);
    const rv = body.metadata.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) {
      throw conflict(resource, name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    return { code: 200, body: this.replace(resource, ns, name, body) };
  }

  patch(resource, ns, name, body, contentType) {
    if (/json-patch\+json/.test(contentType ?? '')) {
      throw new ApiError(status(415, 'UnsupportedMediaType', `the fake apiserver does not implement JSON patch (${contentType})`));
    }
    const current = this.store.get(resource, ns, name);
    return { code: 200, body: this.replace(resource, ns, name, mergePatch(current, body)) };
  }

  // Keeps what the server owns (identity, creation time, a pod's status).
  replace(resource, ns, name, next) {
    return this.store.update(resource, ns, name, (obj) => {
      const keep = { uid: obj.metadata.uid, creationTimestamp: obj.metadata.creationTimestamp, namespace: obj.metadata.namespace, name };
      const status = obj.status;
      for (const k of Object.keys(obj)) delete obj[k];
      Object.assign(obj, next, { kind: RESOURCES[resource].kind, apiVersion: 'v1' });
      obj.metadata = { ...next.metadata, ...keep };
      if (ns === undefined) delete obj.metadata.namespace;
      if (resource === 'pods') obj.status = status;
    });
  }

  deleteOne(resource, ns, name, options) {
    const current = this.store.get(resource, ns, name);
    const uid = options?.preconditions?.uid;
    if (uid && uid !== current.metadata.uid) {
      throw conflict(resource, name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid}`);
    }
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
    return { code: 200, body: success({ name, kind: resource, uid: removed.metadata.uid }) };
  }

  deleteCollection(resource, ns, params) {
    const { items, resourceVersion } = this.store.list(resource, ns, this.predicate(params));
    const deleted = items.map((o) => (resource === 'pods' ? this.pods.delete(o.metadata.namespace, o.metadata.name) : this.store.remove(resource, o.metadata.namespace, o.metadata.name)));
    return { code: 200, body: { kind: `${RESOURCES[resource].kind}List`, apiVersion: 'v1', metadata: { resourceVersion }, items: deleted.map(stripTypeMeta) } };
  }

  // POST .../serviceaccounts/{name}/token
  tokenRequest(ns, name, body) {
    const sa = this.store.get('serviceaccounts', ns, name);
    const spec = { audiences: ['https://kubernetes.default.svc.cluster.local'], expirationSeconds: 3600, ...(body?.spec ?? {}) };
    if (!Array.isArray(spec.audiences) || spec.audiences.length === 0) spec.audiences = ['https://kubernetes.default.svc.cluster.local'];
    const seconds = Number(spec.expirationSeconds);
    if (!Number.isInteger(seconds) || seconds < MIN_TOKEN_SECONDS || seconds > MAX_TOKEN_SECONDS) {
      throw invalid('TokenRequest.authentication.k8s.io', name, [{
        field: 'spec.expirationSeconds', type: 'Invalid',
        message: `${spec.expirationSeconds}: ${seconds < MIN_TOKEN_SECONDS ? 'may not specify a duration less than 10 minutes' : 'may not specify a duration larger than 2^32 seconds'}`,
      }]);
    }
    if (spec.boundObjectRef) {
      const ref = spec.boundObjectRef;
      const resource = { Pod: 'pods', Secret: 'secrets' }[ref.kind];
      if (!resource) throw badRequest(`cannot bind token to object of kind ${ref.kind}`);
      const obj = this.store.get(resource, ns, ref.name);
      if (ref.uid && ref.uid !== obj.metadata.uid) throw conflict(resource, ref.name, `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
      if (resource === 'pods' && obj.spec.serviceAccountName !== name) throw badRequest(`cannot bind token for serviceaccount "${name}" to pod running with different serviceaccount name.`);
    }
    const { token, expirationTimestamp } = this.auth.mintServiceAccountToken(ns, sa.metadata.name, seconds);
    return {
      code: 201,
      body: {
        kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1',
        metadata: { name, namespace: ns, creationTimestamp: null },
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
