// metav1.Status bodies, worded the way a real kube-apiserver words them, so that clients
// (kubectl, the C code) print and branch on exactly what they would see from a cluster.

export function status(code, reason, message, details) {
  const body = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason };
  if (details) body.details = details;
  body.code = code;
  return body;
}

export function success(details) {
  const body = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' };
  if (details) body.details = details;
  return body;
}

export class ApiError extends Error {
  constructor(body) {
    super(body.message);
    this.body = body;
    this.code = body.code;
  }
}

// schema.GroupResource.String(): "pods", "clusterroles.rbac.authorization.k8s.io".
const qualified = (resource, group) => (group ? `${resource}.${group}` : resource);
const details = (name, resource, group) => (group ? { name, group, kind: resource } : { name, kind: resource });

export const notFound = (resource, name, group = '') =>
  new ApiError(status(404, 'NotFound', `${qualified(resource, group)} "${name}" not found`, details(name, resource, group)));

export const alreadyExists = (resource, name, group = '') =>
  new ApiError(status(409, 'AlreadyExists', `${qualified(resource, group)} "${name}" already exists`, details(name, resource, group)));

export const conflict = (resource, name, why, group = '') =>
  new ApiError(status(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${why}`, details(name, resource, group)));

export const badRequest = (message) => new ApiError(status(400, 'BadRequest', message));

export const unauthorized = () => new ApiError(status(401, 'Unauthorized', 'Unauthorized'));

export const internalError = (message) =>
  new ApiError(status(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }));

export const methodNotAllowed = () =>
  new ApiError(status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));

// A denied request, as staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/
// errors.go Forbidden words it (forbiddenMessage, then errors.NewForbidden on the group and
// resource without the subresource):
//   pods "x" is forbidden: User "u" cannot get resource "pods" in API group "" in the namespace "ns"
//   forbidden: User "u" cannot get path "/apis"
export function forbidden({ user, verb, resource, subresource, apiGroup = '', name, namespace, path, reason = '' }) {
  let message;
  let body;
  if (resource === undefined) {
    message = `User "${user}" cannot ${verb} path "${path}"`;
    body = (m) => status(403, 'Forbidden', `forbidden: ${m}`, {});
  } else {
    const what = subresource ? `${resource}/${subresource}` : resource;
    const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
    message = `User "${user}" cannot ${verb} resource "${what}" in API group "${apiGroup}" ${scope}`;
    const q = qualified(resource, apiGroup);
    body = (m) => status(403, 'Forbidden', name ? `${q} "${name}" is forbidden: ${m}` : `${q} is forbidden: ${m}`,
      { ...(name ? { name } : {}), ...(apiGroup ? { group: apiGroup } : {}), kind: resource });
  }
  return new ApiError(body(reason ? `${message}: ${reason}` : message));
}

// causes: [{ field, type: 'Required' | 'Invalid' | 'NotFound' | 'NotSupported' | 'Forbidden', message }]
const CAUSE = {
  Required: ['FieldValueRequired', 'Required value'],
  Invalid: ['FieldValueInvalid', 'Invalid value'],
  NotFound: ['FieldValueNotFound', 'Not found'],
  NotSupported: ['FieldValueNotSupported', 'Unsupported value'],
  Forbidden: ['FieldValueForbidden', 'Forbidden'],
};

export function invalid(kind, name, causes) {
  const described = causes.map((c) => {
    const [reason, text] = CAUSE[c.type] ?? CAUSE.Invalid;
    return { reason, message: c.message ? `${text}: ${c.message}` : text, field: c.field };
  });
  const text = described.map((c) => `${c.field}: ${c.message}`);
  const summary = text.length === 1 ? text[0] : `[${text.join(', ')}]`;
  return new ApiError(status(422, 'Invalid', `${kind} "${name ?? ''}" is invalid: ${summary}`, { name: name ?? '', kind, causes: described }));
}
