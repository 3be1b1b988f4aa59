// Retries and the clock, through lib/aws (tests/tools/aws-probe) against the AWS fake:
// throttling, IDPCommunicationError, 5xx and connection resets are tried again (3 attempts
// in all, like the SDKs' standard retry mode); a request refused for clock skew is signed
// again once with AWS's clock from the Date header. The fake's faults are also checked with
// boto3 (standard retry mode), a real client that must read them as AWS's.
import { after, before, describe, test } from '../lib/bounded-test.mjs';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAws } from '../fakes/aws/server.mjs';
import { startStandInIdp, assumeRole } from '../fakes/aws/test-helpers.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const buildDir = path.resolve(root, process.env.PERISCOPE_BUILD_DIR ?? 'build');
const probe = path.join(buildDir, 'tests/tools/aws-probe');
const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/periscope-node-shell`;
const NODE = 'i-0542b1a3d47e76f48';
const CLIENT_ID = 'periscope-web';

let idp;
let aws;

before(async () => {
  idp = await startStandInIdp();
  aws = await startAws({
    account: ACCOUNT,
    clusterName: 'prod',
    idpIssuer: idp.issuer,
    roles: [{ arn: ROLE, trust: { aud: CLIENT_ID } }],
    instances: [{ id: NODE, tags: { 'eks:cluster-name': 'prod' }, pingStatus: 'Online', platform: 'Amazon Linux' }],
  });
});

after(async () => {
  await aws?.close();
  await idp?.close();
});

// The probe runs as a child while the fake serves from this process: never spawnSync.
function runProbe(args, input) {
  return new Promise((resolve, reject) => {
    const child = execFile(probe, [...args, '--ca-file', aws.caFile], { timeout: 60000, env: { PATH: process.env.PATH } }, (err, stdout, stderr) => {
      let out;
      try {
        out = JSON.parse(stdout);
      } catch {
        reject(new Error(`aws-probe printed no JSON (${err?.code}): ${stdout} ${stderr}`));
        return;
      }
      resolve(out);
    });
    child.stdin.end(input);
  });
}

async function credentials() {
  const c = await assumeRole(aws, { token: await idp.token({ aud: CLIENT_ID, sub: 'auth0|abc123' }), roleArn: ROLE, sessionName: 'periscope-auth0-abc123' });
  return JSON.stringify({ AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, SessionToken: c.sessionToken });
}

const describeNode = (creds) => runProbe(['describe-instance-information', '--endpoint', aws.ssmUrl, '--region', 'us-east-1', '--instance-id', NODE], creds);

// The outcomes the fake recorded for one action since `from`.
const outcomes = (from, service, action) => aws.state.requests.slice(from)
  .filter((r) => r.service === service && r.action === action)
  .map((r) => r.errorCode ?? r.status);

describe('SSM calls are retried like the SDKs\' standard mode', () => {
  test('two throttled answers, then the answer: the call succeeds on the third attempt', async () => {
    const creds = await credentials();
    const from = aws.state.requests.length;
    aws.setFaults({ ssmApi: ['throttle', 'throttle'] });
    const r = await describeNode(creds);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.pingStatus, 'Online');
    assert.deepEqual(outcomes(from, 'ssm', 'DescribeInstanceInformation'), ['ThrottlingException', 'ThrottlingException', 200]);
  });

  test('three attempts at most: a third throttled answer is the error', async () => {
    const creds = await credentials();
    const from = aws.state.requests.length;
    aws.setFaults({ ssmApi: ['throttle', 'throttle', 'throttle'] });
    const r = await describeNode(creds);
    assert.equal(r.ok, false);
    assert.equal(r.error.code, 'ThrottlingException');
    assert.deepEqual(r.product, { code: 'E_AWS_THROTTLED', status: 429, retryable: true });
    assert.deepEqual(outcomes(from, 'ssm', 'DescribeInstanceInformation'), ['ThrottlingException', 'ThrottlingException', 'ThrottlingException']);
  });

  test('a connection reset and a 500 are tried again', async () => {
    const creds = await credentials();
    const from = aws.state.requests.length;
    aws.setFaults({ ssmApi: ['reset', 'internal'] });
    const r = await describeNode(creds);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(outcomes(from, 'ssm', 'DescribeInstanceInformation'), ['connection-reset', 'InternalServerError', 200]);
  });

  test('a refusal is not retried', async () => {
    const creds = await credentials();
    const from = aws.state.requests.length;
    const r = await runProbe(['start-session', '--endpoint', aws.ssmUrl, '--region', 'us-east-1', '--target', 'i-0000000000000dead'], creds);
    assert.equal(r.ok, false);
    assert.equal(r.error.code, 'AccessDeniedException');
    assert.deepEqual(outcomes(from, 'ssm', 'StartSession'), ['AccessDeniedException']);
  });

  test('a clock 20 minutes off is corrected from the Date header, once', async () => {
    const creds = await credentials();
    const from = aws.state.requests.length;
    aws.setFaults({ clockSkewMs: 20 * 60 * 1000 });
    try {
      const r = await describeNode(creds);
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.deepEqual(outcomes(from, 'ssm', 'DescribeInstanceInformation'), ['InvalidSignatureException', 200]);
    } finally {
      aws.setFaults({ clockSkewMs: 0 });
    }
  });
});

describe('STS calls are retried too', () => {
  test('IDPCommunicationError, throttling and a reset, then the credentials', async () => {
    const token = await idp.token({ aud: CLIENT_ID, sub: 'auth0|abc123' });
    const from = aws.state.requests.length;
    aws.setFaults({ stsApi: ['idp', 'reset'] });
    const r = await runProbe(['assume-role-with-web-identity', '--endpoint', aws.stsUrl, '--role-arn', ROLE, '--sub', 'auth0|abc123'], token);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.match(r.credentials.AccessKeyId, /^ASIA/);
    assert.deepEqual(outcomes(from, 'sts', 'AssumeRoleWithWebIdentity'), ['IDPCommunicationError', 'connection-reset', 200]);
    const from2 = aws.state.requests.length;
    aws.setFaults({ stsApi: ['throttle', 'throttle', 'throttle'] });
    const t = await runProbe(['assume-role-with-web-identity', '--endpoint', aws.stsUrl, '--role-arn', ROLE, '--sub', 'auth0|abc123'], token);
    assert.equal(t.ok, false);
    assert.equal(t.error.code, 'Throttling');
    assert.deepEqual(outcomes(from2, 'sts', 'AssumeRoleWithWebIdentity'), ['Throttling', 'Throttling', 'Throttling']);
  });
});

// boto3 in standard retry mode: the fake's throttling, reset and skew are what botocore
// expects from AWS (it retries the first two, and reports the third as AWS does).
const BOTO = `
import json, sys, boto3, botocore.config, botocore.exceptions
a = json.load(sys.stdin)
c = boto3.client("ssm", region_name="us-east-1", endpoint_url=a["endpoint"], verify=a["ca"],
                 aws_access_key_id=a["key"], aws_secret_access_key=a["secret"], aws_session_token=a["token"],
                 config=botocore.config.Config(retries={"mode": "standard", "max_attempts": 3}))
try:
    r = c.describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": [a["node"]]}])
    print(json.dumps({"ok": len(r["InstanceInformationList"]), "attempts": r["ResponseMetadata"]["RetryAttempts"]}))
except botocore.exceptions.ClientError as e:
    print(json.dumps({"error": e.response["Error"]}))
`;
function boto3(c) {
  return new Promise((resolve, reject) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
    const child = execFile('python3', ['-c', BOTO], { env: { ...env, AWS_CONFIG_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true' }, timeout: 60000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`boto3: ${stderr}`));
      else resolve(JSON.parse(stdout));
    });
    child.stdin.end(JSON.stringify({ endpoint: aws.ssmUrl, ca: aws.caFile, key: c.accessKeyId, secret: c.secretAccessKey, token: c.sessionToken, node: NODE }));
  });
}

describe('the fake\'s faults read as AWS\'s to boto3', () => {
  test('throttling and a reset are retried by botocore; a skewed clock is InvalidSignatureException', async () => {
    const c = await assumeRole(aws, { token: await idp.token({ aud: CLIENT_ID, sub: 'auth0|abc123' }), roleArn: ROLE, sessionName: 'periscope-auth0-abc123' });
    aws.setFaults({ ssmApi: ['throttle', 'reset'] });
    assert.deepEqual(await boto3(c), { ok: 1, attempts: 2 });
    aws.setFaults({ clockSkewMs: 20 * 60 * 1000 });
    try {
      const r = await boto3(c);
      assert.equal(r.error?.Code, 'InvalidSignatureException');
      assert.match(r.error.Message, /^Signature expired: \d{8}T\d{6}Z is now earlier than /);
    } finally {
      aws.setFaults({ clockSkewMs: 0 });
    }
  });
});
