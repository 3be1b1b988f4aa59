// Fake STS: AssumeRoleWithWebIdentity over the query protocol (ssm-protocol.md §B).
// The web identity token is verified like AWS does against the IAM OIDC provider: issuer
// must equal the registered provider URL exactly, the signature must verify against the
// IdP's JWKS, exp must be in the future, aud must be one of the provider's client ids
// (when a list is configured), and the role's trust policy must allow the claims.
import { randomBytes, randomUUID, createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, errors as joseErrors } from 'jose';
import { trustAllows } from './iam.mjs';
import { recordRequest, resetConnection } from './requests.mjs';
import { AwsAuthError, verifyPresigned, verifyRequest } from './sigv4.mjs';

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const SESSION_NAME_RE = /^[\w+=,.@-]{2,64}$/;

export function xmlEscape(s) {
  return String(s).replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' }[c]));
}

class StsError extends Error {
  constructor(status, code, message, type = 'Sender') {
    super(message);
    Object.assign(this, { status, code, type });
  }
}

function getJson(url, ca) {
  return new Promise((resolve, reject) => {
    const lib = url.startsWith('https:') ? https : http;
    const req = lib.get(url, { ca, timeout: 5000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${url}: HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (e) {
          reject(new Error(`${url}: ${e.message}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: timed out`)));
    req.on('error', reject);
  });
}

// Random uppercase alphanumerics, the shape of AWS key and role ids.
function awsId(prefix, length) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = randomBytes(length);
  let out = prefix;
  for (let i = 0; i < length; i += 1) out += alphabet[bytes[i] % alphabet.length];
  return out;
}

// A stable role id (AROA...) for a role ARN, so AssumedRoleId and aws:userid stay the same
// across calls as on AWS.
export function roleIdFor(arn) {
  const h = createHash('sha256').update(arn).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let id = 'AROA';
  for (let i = 0; i < 17; i += 1) id += alphabet[h[i] % alphabet.length];
  return id;
}

const isoSeconds = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function createSts({ config, state }) {
  let jwks = null; // cached key set; refetched once when a token names an unknown key

  async function loadJwks() {
    const base = config.idpIssuer.replace(/\/$/, '');
    const discovery = await getJson(`${base}/.well-known/openid-configuration`, config.idpCa);
    if (!discovery.jwks_uri) throw new Error('discovery document has no jwks_uri');
    return createLocalJWKSet(await getJson(discovery.jwks_uri, config.idpCa));
  }

  async function verifyToken(token) {
    let claims;
    try {
      decodeProtectedHeader(token);
      claims = decodeJwt(token);
    } catch {
      throw new StsError(400, 'InvalidIdentityToken', 'The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)');
    }
    // AWS finds the IAM OIDC provider by the token's iss; an exact string match is needed
    // (a missing or extra trailing slash is a different provider).
    if (!config.idpIssuer || claims.iss !== config.oidcProviderUrl) {
      throw new StsError(400, 'InvalidIdentityToken', `No OpenIDConnect provider found in your account for ${claims.iss}`);
    }
    for (let attempt = 0; attempt < 2; attempt += 1) {
      if (!jwks || attempt === 1) {
        try {
          jwks = await loadJwks();
        } catch (e) {
          throw new StsError(400, 'IDPCommunicationError', `Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements (${e.message})`);
        }
      }
      try {
        await jwtVerify(token, jwks, { algorithms: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256'] });
        return claims;
      } catch (e) {
        if (e instanceof joseErrors.JWTExpired) {
          throw new StsError(400, 'ExpiredTokenException', `Token expired: current date/time ${Math.floor(Date.now() / 1000)} must be before the expiration date/time${claims.exp}`);
        }
        if (e instanceof joseErrors.JWKSNoMatchingKey && attempt === 0) continue;
        if (e instanceof joseErrors.JWTClaimValidationFailed) {
          throw new StsError(400, 'InvalidIdentityToken', `The web identity token is not valid: ${e.message}`);
        }
        throw new StsError(400, 'InvalidIdentityToken', 'The web identity token signature could not be verified against the identity provider\'s keys');
      }
    }
    throw new StsError(400, 'InvalidIdentityToken', 'No key in the identity provider\'s JWKS matches the token');
  }

  function assumeRole(params, claims) {
    const role = config.roles.find((r) => r.arn === params.RoleArn);
    const denied = () => new StsError(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
    if (!role) throw denied();
    const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (config.idpClientIds && !auds.some((a) => config.idpClientIds.includes(a))) {
      throw new StsError(400, 'InvalidIdentityToken', 'Incorrect token audience');
    }
    const verdict = trustAllows(role.trust, claims);
    if (!verdict.allowed) {
      state.trustDenials.push({ roleArn: role.arn, sub: claims.sub, why: verdict.why });
      throw denied();
    }
    const maxDuration = role.maxSessionDuration ?? 3600;
    const duration = params.DurationSeconds === undefined ? 3600 : Number(params.DurationSeconds);
    if (duration > maxDuration) {
      throw new StsError(400, 'ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    }
    const roleName = role.arn.split('/').pop();
    const roleId = roleIdFor(role.arn);
    const cred = {
      accessKeyId: awsId('ASIA', 16),
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: `IQoJb3JpZ2luX2VjE${randomBytes(600).toString('base64')}`,
      // faults.credentialLifetimeMs: a fake clock for credentials, so a test can outlive them.
      expiresAt: Date.now() + (state.faults.credentialLifetimeMs ?? duration * 1000),
      roleArn: role.arn,
      roleName,
      roleSessionName: params.RoleSessionName,
      userId: `${roleId}:${params.RoleSessionName}`,
      assumedRoleArn: `arn:aws:sts::${config.account}:assumed-role/${roleName}/${params.RoleSessionName}`,
      assumedRoleId: `${roleId}:${params.RoleSessionName}`,
      sub: claims.sub,
      audience: auds[0],
      // The role's policy goes with its credentials (for the EKS API and SSM to evaluate).
      ...(role.permissions ? { permissions: role.permissions } : {}),
    };
    state.credentials.set(cred.accessKeyId, cred);
    return cred;
  }

  function validate(params) {
    const errors = [];
    if (!params.RoleArn || params.RoleArn.length < 20 || params.RoleArn.length > 2048) {
      errors.push(`Value '${params.RoleArn ?? 'null'}' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20`);
    }
    if (!SESSION_NAME_RE.test(params.RoleSessionName ?? '')) {
      errors.push(`Value '${params.RoleSessionName ?? 'null'}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
    }
    const tok = params.WebIdentityToken ?? '';
    if (tok.length < 4 || tok.length > 20000) {
      errors.push("Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4");
    }
    if (params.DurationSeconds !== undefined) {
      const d = Number(params.DurationSeconds);
      if (!Number.isInteger(d) || d < 900 || d > 43200) {
        errors.push(`Value '${params.DurationSeconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`);
      }
    }
    if (errors.length) {
      throw new StsError(400, 'ValidationError', `${errors.length} validation error${errors.length > 1 ? 's' : ''} detected: ${errors.join('; ')}`);
    }
  }

  function successXml(cred, requestId) {
    return `<AssumeRoleWithWebIdentityResponse xmlns="${NS}">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>${xmlEscape(cred.sub ?? '')}</SubjectFromWebIdentityToken>
    <Audience>${xmlEscape(cred.audience ?? '')}</Audience>
    <AssumedRoleUser>
      <Arn>${xmlEscape(cred.assumedRoleArn)}</Arn>
      <AssumedRoleId>${xmlEscape(cred.assumedRoleId)}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>${cred.accessKeyId}</AccessKeyId>
      <SecretAccessKey>${xmlEscape(cred.secretAccessKey)}</SecretAccessKey>
      <SessionToken>${xmlEscape(cred.sessionToken)}</SessionToken>
      <Expiration>${isoSeconds(cred.expiresAt)}</Expiration>
    </Credentials>
    <Provider>${xmlEscape(config.oidcProviderUrl.replace(/^https?:\/\//, ''))}</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>${requestId}</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
`;
  }

  function successJson(cred, requestId) {
    return JSON.stringify({
      AssumeRoleWithWebIdentityResponse: {
        AssumeRoleWithWebIdentityResult: {
          Credentials: {
            AccessKeyId: cred.accessKeyId,
            SecretAccessKey: cred.secretAccessKey,
            SessionToken: cred.sessionToken,
            Expiration: Math.floor(cred.expiresAt / 1000),
          },
          AssumedRoleUser: { Arn: cred.assumedRoleArn, AssumedRoleId: cred.assumedRoleId },
          SubjectFromWebIdentityToken: cred.sub ?? null,
          Audience: cred.audience ?? null,
          Provider: config.oidcProviderUrl.replace(/^https?:\/\//, ''),
          PackedPolicySize: null,
          SourceIdentity: null,
        },
        ResponseMetadata: { RequestId: requestId },
      },
    });
  }

  function errorXml(err, requestId) {
    return `<ErrorResponse xmlns="${NS}">
  <Error>
    <Type>${err.type}</Type>
    <Code>${err.code}</Code>
    <Message>${xmlEscape(err.message)}</Message>
  </Error>
  <RequestId>${requestId}</RequestId>
</ErrorResponse>
`;
  }

  // GetCallerIdentity: who signed the request. Either header-signed (`aws sts
  // get-caller-identity`) or query-signed, the presigned GET an EKS token is made of, which
  // the apiserver's authenticator sends on with the token's x-k8s-aws-id header
  // (aws-iam-authenticator pkg/token/token.go tokenVerifier.Verify). The answer names the
  // assumed role (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION) and its UserId
  // (ROLEID:SESSION), as STS does.
  function callerIdentity(req, params, body) {
    const url = new URL(req.url, 'https://sts.invalid');
    const lookup = (akid) => state.credentials.get(akid);
    let verified;
    if (url.searchParams.has('X-Amz-Signature')) {
      if (req.method !== 'GET') throw new StsError(400, 'InvalidAction', 'A presigned request must be a GET');
      verified = verifyPresigned({ method: 'GET', host: req.headers.host, query: url.searchParams, rawHeaders: req.rawHeaders },
        { service: 'sts', region: config.region }, lookup);
    } else if (req.headers.authorization) {
      verified = verifyRequest({ method: req.method, path: req.url, rawHeaders: req.rawHeaders, body }, { service: 'sts', region: config.region }, lookup);
    } else {
      throw new StsError(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
    }
    return verified;
  }

  function callerXml(cred, requestId) {
    return `<GetCallerIdentityResponse xmlns="${NS}">
  <GetCallerIdentityResult>
    <Arn>${xmlEscape(cred.assumedRoleArn)}</Arn>
    <UserId>${xmlEscape(cred.userId)}</UserId>
    <Account>${config.account}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>${requestId}</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>
`;
  }

  // (req, res, body) for POST / (form body) and GET /?Action=...
  return async function handle(req, res, body) {
    const requestId = randomUUID();
    const url = new URL(req.url, 'https://sts.invalid');
    const params = Object.fromEntries(req.method === 'GET'
      ? url.searchParams
      : new URLSearchParams(body.toString('utf8')));
    const wantsJson = /application\/json/.test(req.headers.accept ?? '');
    const record = recordRequest(state, req, 'sts', params.Action);
    let status = 200;
    let text;
    const fault = state.faults.stsApi?.shift();
    if (fault === 'reset') {
      record.status = 0;
      record.errorCode = 'connection-reset';
      resetConnection(req.socket);
      return;
    }
    try {
      // Faults on demand, worded as STS answers them.
      if (fault === 'throttle') throw new StsError(400, 'Throttling', 'Rate exceeded');
      if (fault === 'idp') {
        throw new StsError(400, 'IDPCommunicationError', 'Couldn\'t retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements');
      }
      if (fault === 'unavailable') throw new StsError(503, 'ServiceUnavailable', 'Service is unavailable', 'Receiver');
      if (req.method !== 'GET' && req.method !== 'POST') {
        throw new StsError(405, 'InvalidAction', `Method ${req.method} is not supported`);
      }
      if (params.Action === 'GetCallerIdentity' && params.Version === '2011-06-15') {
        let verified;
        try {
          verified = callerIdentity(req, params, body);
        } catch (e) {
          if (e instanceof AwsAuthError) throw new StsError(403, e.code, e.message);
          throw e;
        }
        const cred = verified.credential;
        record.accessKeyId = verified.accessKeyId;
        record.assumedRoleArn = cred.assumedRoleArn;
      record.issuedAccessKeyId = cred.accessKeyId;
        record.k8sAwsId = req.headers['x-k8s-aws-id'] ?? null;
        text = wantsJson
          ? JSON.stringify({ GetCallerIdentityResponse: { GetCallerIdentityResult: { Account: config.account, Arn: cred.assumedRoleArn, UserId: cred.userId }, ResponseMetadata: { RequestId: requestId } } })
          : callerXml(cred, requestId);
      } else {
        if (params.Action !== 'AssumeRoleWithWebIdentity') {
          throw new StsError(400, 'InvalidAction', `Could not find operation ${params.Action ?? ''} for version ${params.Version ?? 'NO_VERSION_SPECIFIED'}`);
        }
        if (params.Version !== '2011-06-15') {
          throw new StsError(400, 'InvalidAction', `Could not find operation AssumeRoleWithWebIdentity for version ${params.Version ?? 'NO_VERSION_SPECIFIED'}`);
        }
        record.durationSeconds = params.DurationSeconds === undefined ? null : Number(params.DurationSeconds);
      record.roleSessionName = params.RoleSessionName ?? null;
      validate(params);
        const claims = await verifyToken(params.WebIdentityToken);
        const cred = assumeRole(params, claims);
        record.assumedRoleArn = cred.assumedRoleArn;
      record.issuedAccessKeyId = cred.accessKeyId;
        text = wantsJson ? successJson(cred, requestId) : successXml(cred, requestId);
      }
    } catch (e) {
      const err = e instanceof StsError ? e : new StsError(500, 'InternalFailure', 'An internal error occurred', 'Receiver');
      if (!(e instanceof StsError)) console.error('aws fake: sts internal error:', e);
      status = err.status;
      record.errorCode = err.code;
      text = wantsJson
        ? JSON.stringify({ Error: { Code: err.code, Message: err.message, Type: err.type }, RequestId: requestId })
        : errorXml(err, requestId);
    }
    record.status = status;
    res.writeHead(status, {
      'Content-Type': wantsJson ? 'application/json' : 'text/xml',
      'x-amzn-RequestId': requestId,
      'Content-Length': Buffer.byteLength(text),
    });
    res.end(text);
  };
}
