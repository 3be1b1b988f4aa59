// Objects as their metadata only (Accept: application/json;as=PartialObjectMetadataList;
// g=meta.k8s.io;v=v1), what client-go's metadata client (k8s.io/client-go/metadata) and
// periscope's sweep (lib/k8s/cluster_shell_sweep.c) ask for when they need names and labels,
// not specs. As staging/src/k8s.io/apiserver:
//   - pkg/endpoints/handlers/negotiation/negotiate.go NegotiateMediaTypeOptions: the Accept
//     clauses in order; a clause's as/g/v is taken when the endpoint allows that conversion
//     (RequestScope.AllowsConversion, handlers/rest.go: Table, PartialObjectMetadata and
//     PartialObjectMetadataList of meta.k8s.io v1 and v1beta1), a clause it does not allow is
//     skipped; no header at all is the plain object (accepted[0]), a header none of whose
//     clauses is taken is 406 NotAcceptable (NegotiateOutputMediaType, NewNotAcceptableError:
//     negotiation/errors.go errNotAcceptable names the media types served);
//   - pkg/endpoints/handlers/response.go doTransformObject: asPartialObjectMetadataList for
//     a list (406 NotAcceptable for a single object), asPartialObjectMetadata for a single
//     object (406 for a list); every item keeps its whole ObjectMeta and is typed
//     meta.k8s.io/<v> PartialObjectMetadata, the list keeps resourceVersion.
// Only JSON is served: a clause for YAML or protobuf, which kube-apiserver would serve, is
// passed over, and a header that names one of them gets JSON rather than a 406.
import { ApiError, status } from './status.mjs';

const SERVED = new Set(['application/json', 'application/*', '*/*']);
// What kube-apiserver serves for built-in resources (MediaTypesForSerializer of its codecs).
const REAL_SERVED = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];
const notAcceptable = (message) => new ApiError(status(406, 'NotAcceptable', message));
const KINDS = new Set(['Table', 'PartialObjectMetadata', 'PartialObjectMetadataList']);
const VERSIONS = new Set(['v1', 'v1beta1']);

// The conversion the Accept header asks for: { kind, version } or null (the plain object).
// Throws 406 when no clause can be served, as kube-apiserver does.
export function negotiateConversion(accept) {
  let servedElsewise = false; // a clause for a type the real server serves and the fake does not
  if (!accept) return null;
  for (const clause of accept.split(',')) {
    const [type, ...rest] = clause.split(';').map((s) => s.trim());
    if (!SERVED.has(type.toLowerCase())) {
      servedElsewise ||= REAL_SERVED.includes(type.toLowerCase());
      continue;
    }
    const params = Object.fromEntries(rest.map((p) => p.split('=').map((s) => s.trim())));
    if (params.as === undefined && params.g === undefined && params.v === undefined) return null;
    if (params.g === 'meta.k8s.io' && VERSIONS.has(params.v) && KINDS.has(params.as)) return { kind: params.as, version: params.v };
  }
  if (servedElsewise) return null;
  throw notAcceptable(`only the following media types are accepted: ${REAL_SERVED.join(', ')}`);
}

// Go's %T of the internal object the handler had: *core.PodList, *rbac.ClusterRole ...
const goType = (r, list) => `*${r.group ? r.group.split('.')[0] : 'core'}.${r.kind}${list ? 'List' : ''}`;

const partial = (metadata, version) => ({ kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata });

// A list answer as metadata: metadatas the items' metadata (copies), kind the resource's
// entry in RESOURCES.
export function asPartialObjectMetadataList(target, metadatas, resourceVersion, kind) {
  if (target.kind === 'PartialObjectMetadata')
    throw notAcceptable(`you requested PartialObjectMetadata, but the requested object is a list (${goType(kind, true)})`);
  return {
    kind: 'PartialObjectMetadataList', apiVersion: `meta.k8s.io/${target.version}`, metadata: { resourceVersion },
    items: metadatas.map((m) => partial(m, target.version)),
  };
}

export function asPartialObjectMetadata(target, obj, kind) {
  if (target.kind === 'PartialObjectMetadataList')
    throw notAcceptable(`you requested PartialObjectMetadataList, but the requested object is not a list (${goType(kind, false)})`);
  return partial(obj.metadata, target.version);
}
