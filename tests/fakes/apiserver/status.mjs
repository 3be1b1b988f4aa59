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

export const notFound = (resource, name) =>
  new ApiError(status(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource }));

export const alreadyExists = (resource, name) =>
  new ApiError(status(409, 'AlreadyExists', `${resource} "${name}" already exists`, { name, kind: resource }));

export const conflict = (resource, name, why) =>
  new ApiError(status(409, 'Conflict', `Operation cannot be fulfilled on ${resource} "${name}": ${why}`, { name, kind: resource }));

export const badRequest = (message) => new ApiError(status(400, 'BadRequest', message));

export const unauthorized = () => new ApiError(status(401, 'Unauthorized', 'Unauthorized'));

export const internalError = (message) =>
  new ApiError(status(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }));

export const methodNotAllowed = () =>
  new ApiError(status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));

// `pods "x" is forbidden: User "u" cannot get resource "pods" in API group "" in the namespace "ns"`
export function forbidden({ user, verb, resource, subresource, group = '', name, namespace }) {
  const what = subresource ? `${resource}/${subresource}` : resource;
  const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
  const subject = name ? `${what} "${name}"` : what;
  const message = `${subject} is forbidden: User "${user}" cannot ${verb} resource "${what}" in API group "${group}" ${scope}`;
  const details = { kind: resource };
  if (name) details.name = name;
  if (group) details.group = group;
  return new ApiError(status(403, 'Forbidden', message, details));
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
