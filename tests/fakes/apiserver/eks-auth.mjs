// EKS tokens, checked the way the apiserver's webhook authenticator for EKS
// (aws-iam-authenticator) checks them: pkg/token/token.go tokenVerifier.Verify, then the
// identity mapped to a Kubernetes user like an access entry or an aws-auth mapRoles entry
// (pkg/mapper: the ARN canonicalized by pkg/arn Canonicalize, {{SessionName}} and
// {{AccountID}} substituted in the username).
//
//   k8s-aws-v1.<base64url, no padding, of https://<sts host>/?Action=GetCallerIdentity&...>
//
// Refused, with the authenticator's own words: a token over 4096 bytes, without the prefix,
// not base64url, not https, another host than the STS endpoint, a path other than "/", a
// query parameter outside the allow-list or given twice, an action other than
// GetCallerIdentity, x-k8s-aws-id missing from X-Amz-SignedHeaders, X-Amz-Expires outside
// 0..900, no X-Amz-Date or one more than 15 minutes old. Then the URL is fetched from STS
// with the header x-k8s-aws-id set to this cluster's id (so a token signed for another
// cluster fails STS's signature check) and Accept: application/json; anything but 200 is a
// refusal.
import https from 'node:https';

const PREFIX = 'k8s-aws-v1.';
const MAX_TOKEN_BYTES = 4096;
const PRESIGNED_URL_EXPIRATION_MS = 15 * 60 * 1000;
const ALLOWED_PARAMS = new Set(['action', 'version', 'x-amz-algorithm', 'x-amz-credential', 'x-amz-date',
  'x-amz-expires', 'x-amz-security-token', 'x-amz-signature', 'x-amz-signedheaders']);

export class EksTokenError extends Error {}
const formatError = (m) => new EksTokenError(`input token was not properly formatted: ${m}`);
const stsError = (m) => new EksTokenError(`sts getCallerIdentity failed: ${m}`);

function amzDateMs(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : NaN;
}

function getJson(url, headers, ca) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { headers, ca, timeout: 5000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

// pkg/arn/arn.go Canonicalize: arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION ->
// arn:aws:iam::ACCOUNT:role/ROLE.
export function canonicalArn(arn) {
  const m = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/.exec(arn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : arn;
}

// config: { clusterId, stsUrl, stsCaPem, mapRoles: [{ rolearn, username, groups }] }.
export async function verifyEksToken(token, config, now = Date.now()) {
  if (token.length > MAX_TOKEN_BYTES) throw formatError('token is too large');
  if (!token.startsWith(PREFIX)) throw formatError(`token is missing expected "${PREFIX}" prefix`);
  const b64 = token.slice(PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(b64)) throw formatError('illegal base64 data');
  let url;
  try {
    url = new URL(Buffer.from(b64, 'base64url').toString('utf8'));
  } catch (e) {
    throw formatError(e.message);
  }
  if (url.protocol !== 'https:') throw formatError(`unexpected scheme "${url.protocol.slice(0, -1)}" in pre-signed URL`);
  if (url.host !== new URL(config.stsUrl).host) throw formatError(`unexpected hostname "${url.host}" in pre-signed URL`);
  if (url.pathname !== '/') throw formatError('unexpected path in pre-signed URL');
  const lower = new Map();
  const seen = new Map();
  for (const [k, v] of url.searchParams) seen.set(k, (seen.get(k) ?? 0) + 1);
  for (const [k, n] of seen) {
    if (!ALLOWED_PARAMS.has(k.toLowerCase())) throw formatError(`non-whitelisted query parameter "${k}"`);
    if (n !== 1) throw formatError('query parameter with multiple values not supported');
    lower.set(k.toLowerCase(), url.searchParams.get(k));
  }
  if (lower.get('action') !== 'GetCallerIdentity') throw formatError('unexpected action parameter in pre-signed URL');
  const signed = (lower.get('x-amz-signedheaders') ?? '').split(';').map((h) => h.toLowerCase());
  if (!signed.includes('x-k8s-aws-id')) throw formatError('client did not sign the x-k8s-aws-id header in the pre-signed URL');
  const expires = Number.parseInt(lower.get('x-amz-expires') ?? '', 10);
  if (!Number.isInteger(expires) || expires < 0 || expires > 900) throw formatError(`invalid X-Amz-Expires parameter in pre-signed URL: ${Number.isNaN(expires) ? 0 : expires}`);
  const date = lower.get('x-amz-date');
  if (!date) throw formatError('X-Amz-Date parameter must be present in pre-signed URL');
  const dateMs = amzDateMs(date);
  if (Number.isNaN(dateMs)) throw formatError(`error parsing X-Amz-Date parameter ${date}`);
  if (now > dateMs + PRESIGNED_URL_EXPIRATION_MS) throw formatError(`X-Amz-Date parameter is expired (15 minute expiration) ${new Date(dateMs).toISOString()}`);
  let r;
  try {
    r = await getJson(url.toString(), { 'x-k8s-aws-id': config.clusterId, accept: 'application/json' }, config.stsCaPem);
  } catch (e) {
    throw stsError(`error during GET: ${e.message}`);
  }
  if (r.status !== 200) throw stsError(`error from AWS (expected 200, got ${r.status}). Body: ${r.text}`);
  let result;
  try {
    result = JSON.parse(r.text).GetCallerIdentityResponse.GetCallerIdentityResult;
  } catch (e) {
    throw stsError(e.message);
  }
  const parts = result.UserId.split(':');
  if (parts.length > 2) throw stsError(`malformed UserID "${result.UserId}"`);
  const identity = { arn: result.Arn, canonicalArn: canonicalArn(result.Arn), accountId: result.Account, userId: parts[0], sessionName: parts[1] ?? '' };
  // The mapping (an access entry's username and groups, or aws-auth mapRoles).
  const entry = (config.mapRoles ?? []).find((m) => m.rolearn === identity.canonicalArn);
  if (!entry) throw new EksTokenError(`ARN is not mapped: ${identity.canonicalArn}`);
  const username = entry.username.replaceAll('{{SessionName}}', identity.sessionName).replaceAll('{{AccountID}}', identity.accountId);
  return { username, groups: entry.groups ?? [], identity };
}
