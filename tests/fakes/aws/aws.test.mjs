// The fake STS and SSM checked against the real clients: the AWS CLI (v1, botocore) and
// boto3, both talking HTTPS to the fake with AWS_CA_BUNDLE / verify= pointing at its CA.
//
// The id_tokens come from a stand-in IdP inside this file (discovery + JWKS, tokens signed
// with jose): the IdP fake (tests/fakes/idp) is written in parallel and is not on this
// branch yet.
import { test, before, after, describe } from '../../lib/bounded-test.mjs';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { startAws } from './server.mjs';
import { seedPermissionPolicy } from './iam.mjs';
import aws4 from 'aws4';
import { startStandInIdp, httpsRequest, assumeRole } from './test-helpers.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ACCOUNT = '111122223333';
const CLIENT_ID = 'periscope-web';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/periscope-node-shell`;
const ROLE_SUBS = `arn:aws:iam::${ACCOUNT}:role/periscope-node-shell-named`;
const ROLE_GROUPS = `arn:aws:iam::${ACCOUNT}:role/periscope-node-shell-groups`;
const ROLE_FOLDED = `arn:aws:iam::${ACCOUNT}:role/periscope-node-shell-folded`;
const ROLE_SEED = `arn:aws:iam::${ACCOUNT}:role/periscope-node-shell-seed`;
const NODE = 'i-0542b1a3d47e76f48';
const NODE_LOST = 'i-0abc1234';
const NODE_OTHER = 'i-0fedcba9876543210';

// The classic mistake of seed §4b: the document folded into the tag-conditioned statement.
const FOLDED_POLICY = [
  {
    Effect: 'Allow',
    Action: 'ssm:StartSession',
    Resource: [`arn:aws:ec2:us-east-1:${ACCOUNT}:instance/*`, `arn:aws:ssm:us-east-1:${ACCOUNT}:document/SSM-SessionManagerRunShell`],
    Condition: { StringEquals: { 'ssm:resourceTag/eks:cluster-name': 'prod' } },
  },
  { Effect: 'Allow', Action: 'ssm:DescribeInstanceInformation', Resource: '*' },
];

let idp;
let aws;
let work;

before(async () => {
  idp = await startStandInIdp();
  aws = await startAws({
    account: ACCOUNT,
    clusterName: 'prod',
    idpIssuer: idp.issuer,
    roles: [
      { arn: ROLE, trust: { aud: CLIENT_ID } },
      { arn: ROLE_SUBS, trust: { aud: CLIENT_ID, sub: ['auth0|abc123', 'auth0|def456'] } },
      { arn: ROLE_GROUPS, trust: { aud: CLIENT_ID, groups: ['admins'] } },
      { arn: ROLE_FOLDED, trust: { aud: CLIENT_ID }, permissions: FOLDED_POLICY },
      // The seed's "own sessions" statement, session/${aws:userid}-*.
      { arn: ROLE_SEED, trust: { aud: CLIENT_ID }, permissions: seedPermissionPolicy({ region: 'us-east-1', account: ACCOUNT, clusterName: 'prod' }) },
    ],
    instances: [
      { id: NODE, tags: { 'eks:cluster-name': 'prod' }, pingStatus: 'Online', platform: 'Amazon Linux' },
      { id: NODE_LOST, tags: { 'eks:cluster-name': 'prod' }, pingStatus: 'ConnectionLost', platform: 'Amazon Linux' },
      { id: NODE_OTHER, tags: { 'eks:cluster-name': 'staging' }, pingStatus: 'Online', platform: 'Bottlerocket' },
    ],
  });
  work = mkdtempSync(join(tmpdir(), 'aws-fake-test-'));
});

after(async () => {
  await aws?.close();
  await idp?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

// The environment for the real clients: no ambient AWS configuration of the test runner.
function clientEnv(extra = {}) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  return {
    ...env,
    AWS_CONFIG_FILE: join(work, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CA_BUNDLE: aws.caFile,
    ...extra,
  };
}

function run(cmd, args, env, input) {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env, timeout: 60000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input);
  });
}

let tokenFiles = 0;
async function tokenFile(claims, opts) {
  const file = join(work, `token-${tokenFiles += 1}.jwt`);
  writeFileSync(file, await idp.token({ aud: CLIENT_ID, sub: 'auth0|abc123', ...claims }, opts));
  return file;
}

function cliAssume({ roleArn = ROLE, sessionName = 'periscope-auth0-abc123', file, extra = [] }) {
  return run('aws', ['sts', 'assume-role-with-web-identity', '--endpoint-url', aws.stsUrl, '--region', 'us-east-1',
    '--role-arn', roleArn, '--role-session-name', sessionName, '--web-identity-token', `file://${file}`,
    '--output', 'json', ...extra], clientEnv());
}

const credsEnv = (c) => clientEnv({
  AWS_ACCESS_KEY_ID: c.AccessKeyId ?? c.accessKeyId,
  AWS_SECRET_ACCESS_KEY: c.SecretAccessKey ?? c.secretAccessKey,
  AWS_SESSION_TOKEN: c.SessionToken ?? c.sessionToken,
});

function cliSsm(creds, args) {
  return run('aws', ['ssm', ...args, '--endpoint-url', aws.ssmUrl, '--region', 'us-east-1', '--output', 'json'], credsEnv(creds));
}

// One boto3 SSM call; returns { ok: response } or { error: { Code, Message } }.
const BOTO = `
import json, sys, boto3, botocore.exceptions
a = json.load(sys.stdin)
c = boto3.client("ssm", region_name="us-east-1", endpoint_url=a["endpoint"], verify=a["ca"],
                 aws_access_key_id=a["key"], aws_secret_access_key=a["secret"], aws_session_token=a.get("token"))
try:
    r = getattr(c, a["op"])(**a["params"])
    r.pop("ResponseMetadata", None)
    print(json.dumps({"ok": r}, default=str))
except botocore.exceptions.ClientError as e:
    print(json.dumps({"error": e.response["Error"], "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}))
`;
async function boto3(creds, op, params, override = {}) {
  const input = JSON.stringify({
    endpoint: aws.ssmUrl, ca: aws.caFile, op, params,
    key: creds.accessKeyId, secret: creds.secretAccessKey, token: creds.sessionToken, ...override,
  });
  const r = await run('python3', ['-c', BOTO], clientEnv(), input);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function credsFor(roleArn = ROLE, sub = 'auth0|abc123', sessionName = `periscope-${sub.replace('|', '-')}`) {
  return assumeRole(aws, { token: await idp.token({ aud: CLIENT_ID, sub }), roleArn, sessionName });
}

describe('STS AssumeRoleWithWebIdentity with the AWS CLI', () => {
  test('returns temporary credentials and the assumed-role ARN', async () => {
    const r = await cliAssume({ file: await tokenFile({}) });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.match(out.Credentials.AccessKeyId, /^ASIA[A-Z0-9]{16}$/);
    assert.ok(out.Credentials.SecretAccessKey.length >= 40);
    assert.ok(out.Credentials.SessionToken.length > 500);
    assert.ok(Date.parse(out.Credentials.Expiration) > Date.now() + 50 * 60 * 1000);
    assert.equal(out.AssumedRoleUser.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/periscope-node-shell/periscope-auth0-abc123`);
    assert.match(out.AssumedRoleUser.AssumedRoleId, /^AROA[A-Z0-9]{17}:periscope-auth0-abc123$/);
    assert.equal(out.SubjectFromWebIdentityToken, 'auth0|abc123');
    assert.equal(out.Audience, CLIENT_ID);
    assert.equal(out.Provider, idp.issuer.replace(/^https?:\/\//, ''));
    // The call is unsigned: the web identity token is the only credential.
    const rec = aws.state.requests.filter((q) => q.service === 'sts').at(-1);
    assert.equal(rec.authorization, null);
    assert.equal(rec.status, 200);
  });

  test('the seed\'s verification command prints the assumed-role ARN', async () => {
    const r = await cliAssume({ file: await tokenFile({}), sessionName: 'verify-operator', extra: ['--query', 'AssumedRoleUser.Arn', '--output', 'text'] });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `arn:aws:sts::${ACCOUNT}:assumed-role/periscope-node-shell/verify-operator`);
  });

  test('a sub condition admits the listed subjects and denies everyone else', async () => {
    const ok = await cliAssume({ roleArn: ROLE_SUBS, file: await tokenFile({ sub: 'auth0|def456' }) });
    assert.equal(ok.code, 0, ok.stderr);
    const denied = await cliAssume({ roleArn: ROLE_SUBS, file: await tokenFile({ sub: 'auth0|mallory' }) });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /\(AccessDenied\).*Not authorized to perform sts:AssumeRoleWithWebIdentity/);
  });

  test('a groups condition denies even a member of the group', async () => {
    const r = await cliAssume({ roleArn: ROLE_GROUPS, file: await tokenFile({ groups: ['admins'], 'https://periscope/groups': ['admins'] }) });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\(AccessDenied\)/);
    assert.equal(aws.state.trustDenials.at(-1).why, 'groups condition cannot be evaluated by STS');
  });

  test('an id_token for another client (aud) is denied', async () => {
    const r = await cliAssume({ file: await tokenFile({ aud: 'some-api-audience' }) });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\(AccessDenied\)/);
  });

  test('the issuer must equal the OIDC provider URL exactly (trailing slash)', async () => {
    const r = await cliAssume({ file: await tokenFile({ iss: `${idp.issuer}/` }) });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\(InvalidIdentityToken\).*No OpenIDConnect provider found in your account for/);
  });

  test('an expired id_token is refused with ExpiredTokenException', async () => {
    const r = await cliAssume({ file: await tokenFile({}, { expiresIn: Math.floor(Date.now() / 1000) - 60 }) });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\(ExpiredTokenException\)/);
  });

  test('a token signed by a key not in the JWKS is refused', async () => {
    const r = await cliAssume({ file: await tokenFile({}, { key: await idp.otherKey() }) });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\(InvalidIdentityToken\)/);
  });

  test('errors are ErrorResponse XML with the right status, and GET works too', async () => {
    const token = await idp.token({ aud: CLIENT_ID, sub: 'auth0|abc123' });
    const q = new URLSearchParams({ Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: ROLE, RoleSessionName: 'bad name', WebIdentityToken: token });
    const bad = await httpsRequest(`${aws.stsUrl}/?${q}`, { ca: aws.caPem });
    assert.equal(bad.status, 400);
    assert.match(bad.headers['content-type'], /text\/xml/);
    assert.match(bad.body, /^<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">\s*<Error>\s*<Type>Sender<\/Type>\s*<Code>ValidationError<\/Code>\s*<Message>[^<]*roleSessionName[^<]*<\/Message>\s*<\/Error>\s*<RequestId>[0-9a-f-]{36}<\/RequestId>\s*<\/ErrorResponse>/);
    q.set('RoleSessionName', 'good-name');
    q.set('RoleArn', `arn:aws:iam::${ACCOUNT}:role/no-such-role`);
    const denied = await httpsRequest(`${aws.stsUrl}/?${q}`, { ca: aws.caPem });
    assert.equal(denied.status, 403);
    assert.match(denied.body, /<Code>AccessDenied<\/Code>/);
    q.set('RoleArn', ROLE);
    const ok = await httpsRequest(`${aws.stsUrl}/?${q}`, { ca: aws.caPem });
    assert.equal(ok.status, 200);
    assert.match(ok.body, /<AssumeRoleWithWebIdentityResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">/);
    assert.match(ok.body, /<Arn>arn:aws:sts::111122223333:assumed-role\/periscope-node-shell\/good-name<\/Arn>/);
    assert.match(ok.body, /<ResponseMetadata>\s*<RequestId>[0-9a-f-]{36}<\/RequestId>/);
  });
});

describe('SSM with the AWS CLI and boto3', () => {
  test('aws ssm describe-instance-information reports the agent Online, signed with the STS credentials', async () => {
    const r = await cliAssume({ file: await tokenFile({}) });
    assert.equal(r.code, 0, r.stderr);
    const creds = JSON.parse(r.stdout).Credentials;
    const d = await run('aws', ['ssm', 'describe-instance-information', '--endpoint-url', aws.ssmUrl, '--region', 'us-east-1',
      '--filters', `Key=InstanceIds,Values=${NODE}`, '--query', 'InstanceInformationList[0].PingStatus', '--output', 'text'], credsEnv(creds));
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.stdout.trim(), 'Online');
    const rec = aws.state.requests.filter((q) => q.service === 'ssm').at(-1);
    assert.equal(rec.action, 'DescribeInstanceInformation');
    assert.equal(rec.accessKeyId, creds.AccessKeyId);
    assert.equal(rec.securityToken, true);
    assert.match(rec.authorization, new RegExp(`^AWS4-HMAC-SHA256 Credential=${creds.AccessKeyId}/\\d{8}/us-east-1/ssm/aws4_request, SignedHeaders=[a-z0-9;-]*x-amz-security-token`));
    assert.equal(rec.status, 200);
  });

  test('describe-instance-information shows a lost agent and the platform', async () => {
    const creds = await credsFor();
    const d = await cliSsm(creds, ['describe-instance-information', '--filters', `Key=InstanceIds,Values=${NODE_LOST},${NODE_OTHER}`]);
    assert.equal(d.code, 0, d.stderr);
    const list = JSON.parse(d.stdout).InstanceInformationList;
    assert.deepEqual(list.map((i) => [i.InstanceId, i.PingStatus, i.PlatformName]).sort(), [
      [NODE_LOST, 'ConnectionLost', 'Amazon Linux'],
      [NODE_OTHER, 'Online', 'Bottlerocket'],
    ].sort());
    const none = await cliSsm(creds, ['describe-instance-information', '--filters', 'Key=InstanceIds,Values=i-00000000']);
    assert.deepEqual(JSON.parse(none.stdout).InstanceInformationList, []);
  });

  test('aws ssm start-session starts a session and, lacking the plugin, terminates it', async (t) => {
    const which = await run('sh', ['-c', 'command -v session-manager-plugin'], process.env);
    if (which.code === 0) { t.skip('session-manager-plugin is installed; this checks the CLI without it'); return; }
    const creds = await credsFor();
    const r = await cliSsm(creds, ['start-session', '--target', NODE]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /SessionManagerPlugin is not found/);
    const calls = aws.state.requests.filter((q) => q.accessKeyId === creds.accessKeyId).map((q) => `${q.action}:${q.status}`);
    assert.deepEqual(calls, ['StartSession:200', 'TerminateSession:200']);
    const session = [...aws.state.sessions.values()].find((s) => s.owner.accessKeyId === creds.accessKeyId);
    assert.equal(session.status, 'Terminated');
    assert.equal(session.target, NODE);
    assert.ok(aws.state.terminated.some((x) => x.sessionId === session.sessionId && x.accessKeyId === creds.accessKeyId));
  });

  test('boto3 start_session returns a session id built from the role-session-name, a token and a wss StreamUrl', async () => {
    const creds = await credsFor();
    const r = await boto3(creds, 'start_session', { Target: NODE, Reason: 'periscope cluster=prod node=ip-10-0-1-23 actor=auth0|abc123' });
    assert.ok(r.ok, JSON.stringify(r));
    assert.match(r.ok.SessionId, /^periscope-auth0-abc123-[0-9a-f]{17}$/);
    assert.ok(r.ok.TokenValue.length > 100);
    const url = new URL(r.ok.StreamUrl);
    assert.equal(url.protocol, 'wss:');
    assert.equal(url.host, new URL(aws.ssmUrl).host);
    assert.equal(url.pathname, `/v1/data-channel/${r.ok.SessionId}`);
    assert.equal(url.searchParams.get('role'), 'publish_subscribe');
    assert.equal(aws.state.sessions.get(r.ok.SessionId).reason, 'periscope cluster=prod node=ip-10-0-1-23 actor=auth0|abc123');
    const t = await boto3(creds, 'terminate_session', { SessionId: r.ok.SessionId });
    assert.deepEqual(t.ok, { SessionId: r.ok.SessionId });
    assert.equal(aws.state.sessions.get(r.ok.SessionId).status, 'Terminated');
  });

  test('a request signed with the wrong secret is rejected with InvalidSignatureException', async () => {
    const creds = await credsFor();
    // Another last character, always: the issued secret is random and may end in x.
    const last = creds.secretAccessKey.at(-1);
    const wrong = `${creds.secretAccessKey.slice(0, -1)}${last === 'x' ? 'y' : 'x'}`;
    assert.notEqual(wrong, creds.secretAccessKey);
    const r = await boto3(creds, 'describe_instance_information', {}, { secret: wrong });
    assert.equal(r.error?.Code, 'InvalidSignatureException');
    assert.equal(r.status, 400);
    assert.match(r.error.Message, /signature we calculated does not match/);
  });

  // Real clients sign every header AWS requires (the CLI and boto3 tests above pass); a
  // client that leaves one out, with an otherwise valid signature, is refused like AWS does.
  test('a raw request whose X-Amz-Target (or session token, or Content-Type) is not signed is refused', async () => {
    const creds = await credsFor();
    const url = new URL(aws.ssmUrl);
    const call = (ignore) => {
      const body = JSON.stringify({});
      const signed = aws4.sign({
        host: url.host, path: '/', method: 'POST', service: 'ssm', region: aws.config.region, body,
        headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AmazonSSM.DescribeInstanceInformation' },
        extraHeadersToIgnore: Object.fromEntries(ignore.map((h) => [h, true])),
      }, creds);
      return httpsRequest(`${aws.ssmUrl}/`, { method: 'POST', headers: signed.headers, body, ca: aws.caPem });
    };
    const ok = await call([]);
    assert.equal(ok.status, 200, ok.body);
    for (const [header, shown] of [['x-amz-target', 'X-Amz-Target'], ['x-amz-security-token', 'X-Amz-Security-Token'], ['content-type', 'Content-Type']]) {
      const r = await call([header]);
      assert.equal(r.status, 400, r.body);
      assert.deepEqual(JSON.parse(r.body), { __type: 'InvalidSignatureException', message: `'${shown}' must be a 'SignedHeader' in the AWS Authorization.` });
      assert.doesNotMatch(aws.state.requests.at(-1).authorization, new RegExp(`SignedHeaders=[^,]*${header}`));
    }
  });

  test('unknown keys, a wrong session token and expired credentials are refused', async () => {
    const creds = await credsFor();
    const unknown = await boto3(creds, 'describe_instance_information', {}, { key: 'ASIAAAAAAAAAAAAAAAAA' });
    assert.equal(unknown.error?.Code, 'UnrecognizedClientException');
    const noToken = await boto3(creds, 'describe_instance_information', {}, { token: null });
    assert.equal(noToken.error?.Code, 'UnrecognizedClientException');
    aws.expireCredentials(creds.accessKeyId);
    const expired = await boto3(creds, 'describe_instance_information', {});
    assert.equal(expired.error?.Code, 'ExpiredTokenException');
  });

  test('StartSession is refused on another cluster\'s node and on a node whose agent is not connected', async () => {
    const creds = await credsFor();
    const other = await boto3(creds, 'start_session', { Target: NODE_OTHER });
    assert.equal(other.error?.Code, 'AccessDeniedException');
    assert.match(other.error.Message, new RegExp(`not authorized to perform: ssm:StartSession on resource: arn:aws:ec2:us-east-1:${ACCOUNT}:instance/${NODE_OTHER}`));
    const lost = await boto3(creds, 'start_session', { Target: NODE_LOST });
    assert.equal(lost.error?.Code, 'TargetNotConnected');
    assert.match(lost.error.Message, new RegExp(`${NODE_LOST} is not connected`));
  });

  test('folding the document into the tag-conditioned statement denies StartSession on the document', async () => {
    const creds = await credsFor(ROLE_FOLDED);
    const r = await boto3(creds, 'start_session', { Target: NODE });
    assert.equal(r.error?.Code, 'AccessDeniedException');
    assert.match(r.error.Message, new RegExp(`assumed-role/periscope-node-shell-folded/.* is not authorized to perform: ssm:StartSession on resource: arn:aws:ssm:us-east-1:${ACCOUNT}:document/SSM-SessionManagerRunShell`));
  });

  test('TerminateSession and ResumeSession work only on one\'s own sessions', async () => {
    const alice = await credsFor(ROLE, 'auth0|abc123');
    const bob = await credsFor(ROLE, 'auth0|def456');
    const s = await boto3(alice, 'start_session', { Target: NODE });
    const id = s.ok.SessionId;
    const resumeBob = await boto3(bob, 'resume_session', { SessionId: id });
    assert.equal(resumeBob.error?.Code, 'AccessDeniedException');
    const byBob = await boto3(bob, 'terminate_session', { SessionId: id });
    assert.equal(byBob.error?.Code, 'AccessDeniedException');
    assert.match(byBob.error.Message, new RegExp(`on resource: arn:aws:ssm:us-east-1:${ACCOUNT}:session/${id}`));
    assert.equal(aws.state.sessions.get(id).status, 'Connecting');
    const resumed = await boto3(alice, 'resume_session', { SessionId: id });
    assert.equal(resumed.ok.SessionId, id);
    assert.ok(resumed.ok.TokenValue);
    const byAlice = await boto3(alice, 'terminate_session', { SessionId: id });
    assert.equal(byAlice.ok.SessionId, id);
    assert.equal(aws.state.sessions.get(id).status, 'Terminated');
  });

  test('the seed\'s session/${aws:userid}-* cannot match an assumed role\'s own session', async () => {
    const alice = await credsFor(ROLE_SEED, 'auth0|abc123');
    const s = await boto3(alice, 'start_session', { Target: NODE });
    const id = s.ok.SessionId;
    // The session id starts with the role session name; aws:userid is AROA…:<that name>.
    assert.match(id, /^[\w+=,.@-]+-[0-9a-f]{17}$/);
    for (const op of ['resume_session', 'terminate_session']) {
      const r = await boto3(alice, op, { SessionId: id });
      assert.equal(r.error?.Code, 'AccessDeniedException', op);
      assert.match(r.error.Message, new RegExp(`assumed-role/periscope-node-shell-seed/.* is not authorized to perform: ssm:(Resume|Terminate)Session on resource: arn:aws:ssm:us-east-1:${ACCOUNT}:session/${id}`));
    }
    assert.equal(aws.state.sessions.get(id).status, 'Connecting');
    assert.match(aws.state.sessions.get(id).resourceTags['aws:ssmmessages:session-id'], /^AROA[A-Z2-7]{17}:/);
  });
});

// KMS GenerateDataKey as boto3 calls it (the shape the session-manager-plugin's SDK reads).
const BOTO_KMS = `
import json, sys, base64, boto3, botocore.exceptions
a = json.load(sys.stdin)
c = boto3.client("kms", region_name="us-east-1", endpoint_url=a["endpoint"], verify=a["ca"],
                 aws_access_key_id=a["key"], aws_secret_access_key=a["secret"], aws_session_token=a["token"])
try:
    r = c.generate_data_key(KeyId=a["keyId"], NumberOfBytes=64, EncryptionContext=a["context"])
    print(json.dumps({"ok": {"keyId": r["KeyId"], "plaintextLen": len(r["Plaintext"]), "blob": base64.b64encode(r["CiphertextBlob"]).decode()}}))
except botocore.exceptions.ClientError as e:
    print(json.dumps({"error": e.response["Error"]}))
`;

describe('KMS GenerateDataKey with boto3', () => {
  test('returns a 64-byte key and a blob only the same encryption context opens', async () => {
    const creds = await credsFor();
    const context = { 'aws:ssm:SessionId': 'periscope-auth0-abc123-0a1b2c3d4e5f6a7b8', 'aws:ssm:TargetId': NODE };
    const input = { endpoint: aws.kmsUrl, ca: aws.caFile, key: creds.accessKeyId, secret: creds.secretAccessKey, token: creds.sessionToken, keyId: aws.kmsKeyArn, context };
    const r = await run('python3', ['-c', BOTO_KMS], clientEnv(), JSON.stringify(input));
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.ok.keyId, aws.kmsKeyArn);
    assert.equal(out.ok.plaintextLen, 64);
    // The agent's kms:Decrypt needs exactly that context.
    assert.equal(aws.kmsDecrypt(out.ok.blob, context).length, 64);
    assert.throws(() => aws.kmsDecrypt(out.ok.blob, { ...context, 'aws:ssm:TargetId': 'i-other' }), (e) => e.code === 'InvalidCiphertextException');
    const other = await credsFor(ROLE_FOLDED);
    const denied = JSON.parse((await run('python3', ['-c', BOTO_KMS], clientEnv(), JSON.stringify({
      ...input, key: other.accessKeyId, secret: other.secretAccessKey, token: other.sessionToken,
    }))).stdout);
    assert.equal(denied.error?.Code, 'AccessDeniedException');
    assert.match(denied.error.Message, /is not authorized to perform: kms:GenerateDataKey on resource: arn:aws:kms:us-east-1:111122223333:key\//);
  });
});

describe('running the fake as a program', () => {
  test('prints one ready line, serves /__test/state and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [join(HERE, 'server.mjs'), '--idp-issuer', idp.issuer, '--audience', CLIENT_ID], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    try {
      const line = await new Promise((resolve, reject) => {
        const rl = createInterface({ input: child.stdout });
        rl.once('line', resolve);
        child.once('exit', () => reject(new Error('server exited before its ready line')));
      });
      const ready = JSON.parse(line);
      assert.equal(ready.ready, true);
      assert.match(ready.stsUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = (await import('node:fs')).readFileSync(ready.caFile, 'utf8');
      const st = await httpsRequest(`${ready.testUrl}/state`, { ca });
      assert.equal(st.status, 200);
      assert.deepEqual(JSON.parse(st.body).instances.map((i) => i.id), ['i-0123456789abcdef0']);
      // The demo's default role trusts the given audience.
      const creds = await assumeRole({ stsUrl: ready.stsUrl, caPem: ca }, {
        token: await idp.token({ aud: CLIENT_ID, sub: 'demo' }), roleArn: ready.roles[0], sessionName: 'periscope-demo',
      });
      assert.match(creds.accessKeyId, /^ASIA/);
    } finally {
      child.kill('SIGTERM');
    }
    assert.deepEqual(await exited, { code: 0, signal: null });
  });
});
