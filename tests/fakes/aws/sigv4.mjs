// Checks an incoming SigV4 Authorization header the way an AWS JSON service does, by
// recomputing the signature with the npm `aws4` package from the secret the fake STS
// issued for that access key. The C signer is written separately; using a third
// implementation here keeps the two from agreeing on a shared mistake.
import aws4 from 'aws4';

const MAX_SKEW_MS = 5 * 60 * 1000;

// Which headers a request must sign when it carries them. AWS's rule (AWS General
// Reference, "Create a canonical request for Signature Version 4",
// docs.aws.amazon.com/general/latest/gr/sigv4-create-canonical-request.html, and the IAM
// User Guide's "Create a signed AWS API request", reference_sigv-create-signed-request.html):
// the canonical headers must include the host header, the Content-Type header when the
// request has one, and every x-amz-* header the request carries: x-amz-date, the
// x-amz-security-token of temporary credentials, and, for the JSON protocols, x-amz-target,
// which names the operation (left unsigned, a captured request could be replayed as
// another operation). botocore signs all of them (botocore/auth.py SigV4Auth.headers_to_sign:
// every header but its SIGNED_HEADERS_BLACKLIST of expect, transfer-encoding, user-agent and
// x-amzn-trace-id), as does periscope's own signer (lib/aws/sigv4.c).
function mustBeSigned(name) {
  return name === 'host' || name === 'content-type' || name.startsWith('x-amz-');
}

// 'x-amz-target' -> 'X-Amz-Target', as AWS names a header in its error messages.
function displayName(name) {
  return name.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('-');
}

export class AwsAuthError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const fail = (code, message) => { throw new AwsAuthError(code, message); };

export function parseAuthorization(value) {
  const m = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(value ?? '');
  if (!m) return null;
  const parts = {};
  for (const piece of m[1].split(',')) {
    const eq = piece.indexOf('=');
    if (eq > 0) parts[piece.slice(0, eq).trim()] = piece.slice(eq + 1).trim();
  }
  return parts;
}

function amzDateToMs(amzDate) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate ?? '');
  if (!m) return NaN;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

// All values of one header in arrival order, joined with ',' as SigV4 canonicalisation
// asks (node's req.headers would join some with ', ' and drop others).
function headerValues(rawHeaders, name) {
  const values = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === name) values.push(rawHeaders[i + 1]);
  }
  return values.length ? values.join(',') : undefined;
}

// request: { method, path, rawHeaders, body (Buffer) }. expect: { service, region }.
// lookup(accessKeyId) -> { secretAccessKey, sessionToken?, expiresAt? } or undefined.
// Returns { accessKeyId, credential } or throws AwsAuthError with the AWS error code.
export function verifyRequest(request, expect, lookup, now = Date.now()) {
  const authorization = headerValues(request.rawHeaders, 'authorization');
  if (!authorization) fail('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const parts = parseAuthorization(authorization);
  if (!parts) fail('IncompleteSignatureException', `Authorization header requires the AWS4-HMAC-SHA256 algorithm. Authorization=${authorization.split(' ')[0]}`);
  for (const key of ['Credential', 'SignedHeaders', 'Signature']) {
    if (!parts[key]) fail('IncompleteSignatureException', `Authorization header requires '${key}' parameter.`);
  }
  const scope = parts.Credential.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request') {
    fail('IncompleteSignatureException', `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${parts.Credential}'`);
  }
  const [accessKeyId, datestamp, region, service] = scope;
  const signedHeaders = parts.SignedHeaders.split(';');
  // AWS's JSON front end answers an unsigned Host with this code and wording (seen from
  // SSM-style JSON services: "'Host' must be a 'SignedHeader' in the AWS Authorization."); the
  // other required headers get the same answer with their own name.
  const present = new Set();
  for (let i = 0; i < request.rawHeaders.length; i += 2) present.add(request.rawHeaders[i].toLowerCase());
  present.add('host');
  present.delete('authorization');
  for (const name of [...present].sort()) {
    if (mustBeSigned(name) && !signedHeaders.includes(name)) {
      fail('InvalidSignatureException', `'${displayName(name)}' must be a 'SignedHeader' in the AWS Authorization.`);
    }
  }
  const amzDate = headerValues(request.rawHeaders, 'x-amz-date');
  if (!amzDate) fail('IncompleteSignatureException', 'Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.');
  const signedAt = amzDateToMs(amzDate);
  if (Number.isNaN(signedAt)) fail('IncompleteSignatureException', `Date must be in ISO-8601 'basic format'. Got '${amzDate}'.`);
  if (Math.abs(now - signedAt) > MAX_SKEW_MS) {
    fail('InvalidSignatureException', `Signature expired: ${amzDate} is now earlier than ${new Date(now - MAX_SKEW_MS).toISOString()} (current time minus 5 min.)`);
  }
  if (service !== expect.service) fail('InvalidSignatureException', `Credential should be scoped to correct service: '${expect.service}'.`);
  if (region !== expect.region) fail('InvalidSignatureException', `Credential should be scoped to a valid region, not '${region}'.`);
  if (datestamp !== amzDate.slice(0, 8)) fail('InvalidSignatureException', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${datestamp}' != '${amzDate.slice(0, 8)}'`);

  const credential = lookup(accessKeyId);
  if (!credential) fail('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (credential.sessionToken !== undefined
      && headerValues(request.rawHeaders, 'x-amz-security-token') !== credential.sessionToken) {
    fail('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  if (credential.expiresAt !== undefined && now >= credential.expiresAt) {
    fail('ExpiredTokenException', 'The security token included in the request is expired');
  }

  const headers = {};
  const include = {};
  for (const name of signedHeaders) {
    const v = headerValues(request.rawHeaders, name);
    if (v === undefined) fail('InvalidSignatureException', `The request signature we calculated does not match the signature you provided. Signed header '${name}' is missing.`);
    headers[name] = v;
    include[name] = true;
  }
  const signer = new aws4.RequestSigner({
    method: request.method,
    path: request.path,
    headers,
    body: request.body,
    service,
    region,
    doNotModifyHeaders: true,
    extraHeadersToInclude: include,
  }, { accessKeyId, secretAccessKey: credential.secretAccessKey });
  signer.datetime = amzDate;
  const expected = signer.signature();
  if (signer.signedHeaders() !== parts.SignedHeaders || expected !== parts.Signature) {
    fail('InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.');
  }
  return { accessKeyId, credential };
}

// SigV4 query authentication (a presigned URL), as STS checks the GetCallerIdentity URL an
// EKS token carries: the X-Amz-* parameters, the credential scope, the signed headers
// (host at least, their values taken from the request that presents the URL) and the
// signature, recomputed with aws4's query signer. The URL stays good until 15 minutes after
// X-Amz-Date whatever X-Amz-Expires says: aws-iam-authenticator pkg/token/token.go
// (the requestPresignParam and presignedURLExpiration comments: "presigned STS urls are
// valid for 15 minutes after timestamp in x-amz-date", aws-sdk-go issue 2167), which is
// what EKS relies on.
// request: { method, host, query (URLSearchParams), rawHeaders }.
export const PRESIGNED_STS_LIFETIME_MS = 15 * 60 * 1000;
export function verifyPresigned(request, expect, lookup, now = Date.now()) {
  const q = request.query;
  const get = (k) => q.get(k) ?? undefined;
  for (const key of ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Signature']) {
    if (get(key) === undefined) fail('AuthorizationQueryParametersError', `Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.`);
  }
  if (get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') fail('IncompleteSignature', `Unsupported AWS 'algorithm': '${get('X-Amz-Algorithm')}'`);
  const expires = Number(get('X-Amz-Expires'));
  if (get('X-Amz-Expires') === undefined || !Number.isInteger(expires) || expires < 1 || expires > 604800) {
    fail('AuthorizationQueryParametersError', 'X-Amz-Expires must be an integer between 1 and 604800 (seven days)');
  }
  const scope = get('X-Amz-Credential').split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request') fail('IncompleteSignature', `Credential must have exactly 5 slash-delimited elements, got '${get('X-Amz-Credential')}'`);
  const [accessKeyId, datestamp, region, service] = scope;
  const amzDate = get('X-Amz-Date');
  const signedAt = amzDateToMs(amzDate);
  if (Number.isNaN(signedAt)) fail('IncompleteSignature', `Date must be in ISO-8601 'basic format'. Got '${amzDate}'.`);
  if (signedAt - now > MAX_SKEW_MS) fail('SignatureDoesNotMatch', 'Signature not yet current');
  if (now > signedAt + PRESIGNED_STS_LIFETIME_MS) fail('ExpiredToken', 'The security token included in the request is expired');
  if (service !== expect.service) fail('SignatureDoesNotMatch', `Credential should be scoped to correct service: '${expect.service}'.`);
  if (expect.region && region !== expect.region) fail('SignatureDoesNotMatch', `Credential should be scoped to a valid region, not '${region}'.`);
  if (datestamp !== amzDate.slice(0, 8)) fail('SignatureDoesNotMatch', 'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date');
  const signedHeaders = get('X-Amz-SignedHeaders').split(';');
  if (!signedHeaders.includes('host')) fail('SignatureDoesNotMatch', "'Host' must be a 'SignedHeader' in the AWS Authorization.");
  const credential = lookup(accessKeyId);
  if (!credential) fail('InvalidClientTokenId', 'The security token included in the request is invalid.');
  if (credential.sessionToken !== undefined && get('X-Amz-Security-Token') !== credential.sessionToken) {
    fail('InvalidClientTokenId', 'The security token included in the request is invalid.');
  }
  if (credential.expiresAt !== undefined && now >= credential.expiresAt) fail('ExpiredToken', 'The security token included in the request is expired');
  const headers = {};
  for (const name of signedHeaders) {
    const v = name === 'host' ? request.host : headerValues(request.rawHeaders, name);
    if (v === undefined) fail('SignatureDoesNotMatch', `The request signature we calculated does not match the signature you provided. Signed header '${name}' is missing.`);
    headers[name] = v;
  }
  const unsigned = new URLSearchParams();
  for (const [k, v] of q) if (k !== 'X-Amz-Signature' && k !== 'X-Amz-Security-Token') unsigned.append(k, v);
  const signer = new aws4.RequestSigner({
    method: request.method, path: `/?${unsigned.toString()}`, headers, service, region, signQuery: true, doNotModifyHeaders: true,
  }, { accessKeyId, secretAccessKey: credential.secretAccessKey, sessionToken: get('X-Amz-Security-Token') });
  signer.prepareRequest();
  if (signer.signedHeaders() !== get('X-Amz-SignedHeaders') || signer.signature() !== get('X-Amz-Signature')) {
    fail('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.');
  }
  return { accessKeyId, credential };
}
