// The two places a workload on AWS finds its own credentials, over plain HTTP on loopback
// (as the real ones are link-local HTTP endpoints):
//
// - EKS Pod Identity agent: GET <AWS_CONTAINER_CREDENTIALS_FULL_URI> with the projected
//   token in Authorization. The agent refuses a request without it, or with a token it does
//   not know (aws/eks-pod-identity-agent, and the client side in botocore utils.py
//   ContainerMetadataFetcher.retrieve_full_uri: the token is sent as the Authorization
//   header, the answer is {AccessKeyId, SecretAccessKey, Token, AccountId, Expiration}).
// - IMDSv2: PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds (1..21600) gives
//   a session token; every GET under /latest/ without a valid X-aws-ec2-metadata-token is
//   401, as on an instance with HttpTokens=required; a PUT carrying X-Forwarded-For is
//   refused (IMDS's guard against forwarded requests). GET
//   /latest/meta-data/iam/security-credentials/ names the role, .../<role> answers
//   {Code: "Success", LastUpdated, Type: "AWS-HMAC", AccessKeyId, SecretAccessKey, Token,
//   Expiration} (botocore utils.py InstanceMetadataFetcher._fetch_metadata_token,
//   _get_iam_role, _get_credentials).
import { randomBytes } from 'node:crypto';

const isoSeconds = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

// issue({ roleArn, sessionName, source, permissions }) -> credential record (with secret).
export function createMetadata({ podIdentity, instanceProfile, issue, record }) {
  const imdsTokens = new Map(); // token -> expiresAt

  const send = (res, status, body, type = 'application/json') => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };

  function podIdentityCredentials(req, res) {
    const rec = record('podIdentity', req);
    if (!podIdentity) return send(res, 404, { message: 'no Pod Identity association for this pod' });
    const auth = req.headers.authorization;
    if (!auth) { rec.status = 401; return send(res, 401, { message: 'Authorization header is missing' }); }
    if (auth !== podIdentity.token()) { rec.status = 403; return send(res, 403, { message: 'The service account token is not valid' }); }
    const cred = issue({ ...podIdentity, source: 'podIdentity' });
    rec.status = 200;
    rec.accessKeyId = cred.accessKeyId;
    return send(res, 200, {
      AccessKeyId: cred.accessKeyId, SecretAccessKey: cred.secretAccessKey, Token: cred.sessionToken,
      AccountId: cred.account, Expiration: isoSeconds(cred.expiresAt),
    });
  }

  function imds(req, res, path) {
    const rec = record('imds', req);
    if (!instanceProfile) { rec.status = 404; return send(res, 404, 'Not Found', 'text/plain'); }
    if (path === '/latest/api/token') {
      if (req.method !== 'PUT') { rec.status = 405; return send(res, 405, 'Method Not Allowed', 'text/plain'); }
      if (req.headers['x-forwarded-for']) { rec.status = 403; return send(res, 403, 'Forbidden', 'text/plain'); }
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) { rec.status = 400; return send(res, 400, 'Bad Request', 'text/plain'); }
      const token = randomBytes(40).toString('base64');
      imdsTokens.set(token, Date.now() + ttl * 1000);
      rec.status = 200;
      return send(res, 200, token, 'text/plain');
    }
    const token = req.headers['x-aws-ec2-metadata-token'];
    const until = token && imdsTokens.get(token);
    if (!until || until < Date.now()) { rec.status = 401; return send(res, 401, 'Unauthorized', 'text/plain'); }
    const base = '/latest/meta-data/iam/security-credentials/';
    const roleName = instanceProfile.roleArn.split('/').pop();
    if (req.method === 'GET' && path === base) { rec.status = 200; return send(res, 200, roleName, 'text/plain'); }
    if (req.method === 'GET' && path === `${base}${roleName}`) {
      const cred = issue({ ...instanceProfile, source: 'instanceProfile' });
      rec.status = 200;
      rec.accessKeyId = cred.accessKeyId;
      return send(res, 200, {
        Code: 'Success', LastUpdated: isoSeconds(Date.now()), Type: 'AWS-HMAC',
        AccessKeyId: cred.accessKeyId, SecretAccessKey: cred.secretAccessKey, Token: cred.sessionToken,
        Expiration: isoSeconds(cred.expiresAt),
      });
    }
    rec.status = 404;
    return send(res, 404, 'Not Found', 'text/plain');
  }

  return function handle(req, res) {
    const path = new URL(req.url, 'http://metadata.invalid').pathname;
    if (path === '/v1/credentials' && req.method === 'GET') return podIdentityCredentials(req, res);
    if (path.startsWith('/latest/')) return imds(req, res, path);
    return send(res, 404, { message: 'not found' });
  };
}
