// Helpers shared by the AWS fake's own tests: a minimal stand-in IdP (discovery + JWKS
// over HTTP on loopback, tokens signed with jose), and plain HTTPS calls to the fake STS and
// SSM. The real clients (AWS CLI, boto3) are exercised in aws.test.mjs; these helpers only
// set up state for the data-channel tests.
import http from 'node:http';
import https from 'node:https';
import aws4 from 'aws4';
import { SignJWT, exportJWK } from 'jose';
import { freshRsaKeyPair } from '../common/rsa-key.mjs';

export async function startStandInIdp() {
  const { publicKey, privateKey } = freshRsaKeyPair();
  const jwk = { ...(await exportJWK(publicKey)), kid: 'standin-1', alg: 'RS256', use: 'sig' };
  const server = http.createServer((req, res) => {
    const base = `http://127.0.0.1:${server.address().port}`;
    let body;
    if (req.url === '/.well-known/openid-configuration') {
      body = { issuer: base, jwks_uri: `${base}/jwks`, id_token_signing_alg_values_supported: ['RS256'] };
    } else if (req.url === '/jwks') {
      body = { keys: [jwk] };
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  return {
    issuer,
    // An id_token like the IdP's: claims default to a valid one for `clientId`.
    async token(claims = {}, { key = privateKey, kid = 'standin-1', expiresIn = '10m' } = {}) {
      const { iss = issuer, ...rest } = claims;
      return new SignJWT({ email: 'alice@example.com', ...rest })
        .setProtectedHeader({ alg: 'RS256', kid })
        .setIssuer(iss)
        .setIssuedAt()
        .setExpirationTime(expiresIn)
        .sign(key);
    },
    async otherKey() { return freshRsaKeyPair().privateKey; },
    close() { return new Promise((r) => { server.closeAllConnections(); server.close(r); }); },
  };
}

export function httpsRequest(url, { method = 'GET', headers = {}, body, ca } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// AssumeRoleWithWebIdentity over plain HTTPS; returns { accessKeyId, secretAccessKey, sessionToken }.
export async function assumeRole(aws, { token, roleArn, sessionName }) {
  const form = new URLSearchParams({
    Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: roleArn, RoleSessionName: sessionName, WebIdentityToken: token,
  }).toString();
  const res = await httpsRequest(`${aws.stsUrl}/`, {
    method: 'POST', ca: aws.caPem, body: form, headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
  });
  if (res.status !== 200) throw new Error(`AssumeRoleWithWebIdentity: HTTP ${res.status} ${res.body}`);
  const pick = (tag) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(res.body)[1];
  return { accessKeyId: pick('AccessKeyId'), secretAccessKey: pick('SecretAccessKey'), sessionToken: pick('SessionToken') };
}

// One signed SSM JSON call; returns { status, json }.
export async function ssmCall(aws, creds, operation, input) {
  const url = new URL(aws.ssmUrl);
  const body = JSON.stringify(input);
  const signed = aws4.sign({
    host: url.host,
    path: '/',
    method: 'POST',
    service: 'ssm',
    region: aws.config.region,
    body,
    headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `AmazonSSM.${operation}` },
  }, creds);
  const res = await httpsRequest(`${aws.ssmUrl}/`, { method: 'POST', headers: signed.headers, body, ca: aws.caPem });
  return { status: res.status, json: JSON.parse(res.body) };
}

// One signed KMS JSON call (TrentService.<operation>, service kms); returns { status, json }.
export async function kmsCall(aws, creds, operation, input) {
  const url = new URL(aws.kmsUrl);
  const body = JSON.stringify(input);
  const signed = aws4.sign({
    host: url.host,
    path: '/',
    method: 'POST',
    service: 'kms',
    region: aws.config.region,
    body,
    headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `TrentService.${operation}` },
  }, creds);
  const res = await httpsRequest(`${aws.kmsUrl}/`, { method: 'POST', headers: signed.headers, body, ca: aws.caPem });
  return { status: res.status, json: JSON.parse(res.body) };
}
