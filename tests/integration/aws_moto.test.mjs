// lib/aws/sts.c and lib/aws/ssm_api.c (through tests/tools/aws-probe) against moto, a second AWS
// implementation: moto's STS issues the credentials, and with moto's authentication on,
// every SSM call is checked by botocore's SigV4 code inside moto. moto 5.2 lacks the three
// Session Manager calls; tests/integration/moto_aws.py adds them to moto's SSM responder.
import { after, before, describe, test } from '../lib/bounded-test.mjs';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { fetchWithin } from '../lib/deadline.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const buildDir = path.resolve(root, process.env.PERISCOPE_BUILD_DIR ?? 'build');
const probe = path.join(buildDir, 'tests/tools/aws-probe');
const SUB = 'auth0|69f5a1b2';
const SESSION_NAME = 'periscope-auth0-69f5a1b2';
const ID_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhdXRoMHw2OWY1YTFiMiJ9.c2ln';

// Canary credentials and dead proxies: the probe must use neither.
const poisonedEnv = {
  ...process.env,
  AWS_ACCESS_KEY_ID: 'AKIACANARYCANARYXXXX',
  AWS_SECRET_ACCESS_KEY: 'canarycanarycanarycanarycanarycanary0000',
  AWS_SESSION_TOKEN: 'CANARYSESSIONTOKEN',
  AWS_PROFILE: 'canary',
  http_proxy: 'http://127.0.0.1:1',
  HTTP_PROXY: 'http://127.0.0.1:1',
  ALL_PROXY: 'http://127.0.0.1:1',
};

let moto;
let world;

function runProbe(args, input) {
  const r = spawnSync(probe, args, { input, env: poisonedEnv, encoding: 'utf8', timeout: 30000 });
  assert.equal(r.error, undefined, `aws-probe did not run: ${r.error}`);
  let out;
  try {
    out = JSON.parse(r.stdout);
  } catch {
    assert.fail(`aws-probe printed no JSON (exit ${r.status}): ${r.stdout} ${r.stderr}`);
  }
  assert.equal(r.status, out.ok ? 0 : 1, 'exit status matches ok');
  return out;
}

function assume(roleArn, extra = []) {
  return runProbe(['assume-role-with-web-identity', '--endpoint', world.url, '--role-arn', roleArn,
    '--sub', SUB, ...extra], ID_TOKEN);
}

const ssm = (creds, command, ...args) =>
  runProbe([command, '--endpoint', world.url, '--region', world.region, ...args], JSON.stringify(creds));

async function enableMotoAuthentication() {
  const { res } = await fetchWithin(`${world.url}/moto-api/reset-auth`, {
    method: 'POST', headers: { 'content-type': 'text/plain' }, body: '0',
  });
  assert.equal(res.status, 200);
}

before(async () => {
  assert.ok(existsSync(probe), `${probe} is missing: run make check in the build directory`);
  moto = spawn('python3', [path.join(root, 'tests/integration/moto_aws.py')], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  moto.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const firstLine = new Promise((resolve, reject) => {
    createInterface({ input: moto.stdout }).once('line', resolve);
    moto.once('exit', (code) => reject(new Error(`moto exited (${code}): ${stderr}`)));
  });
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`moto did not start in 60 s: ${stderr}`)), 60000);
  });
  world = JSON.parse(await Promise.race([firstLine, deadline]));
  clearTimeout(timer);
});

after(async () => {
  if (!moto || moto.exitCode !== null) return;
  const exited = new Promise((resolve) => moto.once('exit', resolve));
  moto.stdin.end(); // moto_aws.py serves until stdin closes
  let timer;
  const gaveUp = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), 10000); });
  if ((await Promise.race([exited, gaveUp])) === 'timeout') moto.kill('SIGKILL');
  clearTimeout(timer);
});

describe('aws client against moto', () => {
  let creds;
  let credsWithoutSsm;

  test('STS AssumeRoleWithWebIdentity gives credentials for the sanitised session name', () => {
    const before = Date.now() / 1000;
    const r = assume(world.roleArn);
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.equal(r.roleSessionName, SESSION_NAME);
    assert.match(r.credentials.AccessKeyId, /^ASIA[A-Z0-9]{16}$/);
    assert.equal(r.credentials.SecretAccessKey.length, 40);
    assert.ok(r.credentials.SessionToken.length > 100);
    assert.equal(r.assumedRoleArn,
      `arn:aws:sts::123456789012:assumed-role/periscope-node-shell/${SESSION_NAME}`);
    assert.ok(r.assumedRoleId.endsWith(`:${SESSION_NAME}`), r.assumedRoleId);
    // No DurationSeconds sent: the STS default of one hour.
    assert.ok(Math.abs(r.expirationUnix - (before + 3600)) < 120, `${r.credentials.Expiration}`);
    assert.equal(Date.parse(r.credentials.Expiration) / 1000 | 0, r.expirationUnix);
    creds = r.credentials;
  });

  test('STS honours DurationSeconds', () => {
    const before = Date.now() / 1000;
    const r = assume(world.roleArn, ['--duration', '900']);
    assert.equal(r.ok, true);
    assert.ok(Math.abs(r.expirationUnix - (before + 900)) < 120);
  });

  test('a role without SSM permissions can still be assumed', () => {
    const r = assume(world.roleWithoutSsmArn);
    assert.equal(r.ok, true);
    credsWithoutSsm = r.credentials;
  });

  test('moto checks signatures from here on', async () => {
    await enableMotoAuthentication();
  });

  test('DescribeInstanceInformation: a running instance is Online', () => {
    const r = ssm(creds, 'describe-instance-information', '--instance-id', world.runningInstance);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.found, true);
    assert.equal(r.agentOnline, true);
    assert.equal(r.instanceId, world.runningInstance);
    assert.equal(r.pingStatus, 'Online');
    assert.equal(r.platformType, 'Linux');
    assert.equal(r.platformName, 'Amazon Linux');
    assert.equal(r.resourceType, 'EC2Instance');
    assert.match(r.agentVersion, /^\d+\.\d+\.\d+\.\d+$/);
    assert.match(r.ipAddress, /^\d+\.\d+\.\d+\.\d+$/);
    assert.ok(Math.abs(r.lastPingDateTime - Date.now() / 1000) < 300);
  });

  test('DescribeInstanceInformation: a stopped instance is not online, an unknown one not found', () => {
    const stopped = ssm(creds, 'describe-instance-information', '--instance-id', world.stoppedInstance);
    assert.equal(stopped.ok, true);
    assert.equal(stopped.pingStatus, 'ConnectionLost');
    assert.equal(stopped.agentOnline, false);
    const unknown = ssm(creds, 'describe-instance-information', '--instance-id', 'i-00000000000000000');
    assert.equal(unknown.ok, true);
    assert.equal(unknown.found, false);
    assert.equal(unknown.pingStatus, '');
  });

  let sessionId;
  test('StartSession opens a session named after the role session', () => {
    const r = ssm(creds, 'start-session', '--target', world.runningInstance,
      '--reason', `periscope cluster=dev node=ip-10-0-1-23 actor=${SUB}`);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.ok(r.sessionId.startsWith(`${SESSION_NAME}-`), r.sessionId);
    assert.ok(r.tokenValue.length > 20);
    assert.ok(r.streamUrl.startsWith(
      `wss://ssmmessages.${world.region}.amazonaws.com/v1/data-channel/${r.sessionId}?`), r.streamUrl);
    sessionId = r.sessionId;
  });

  test('StartSession on a stopped instance is TargetNotConnected', () => {
    const r = ssm(creds, 'start-session', '--target', world.stoppedInstance);
    assert.equal(r.ok, false);
    assert.equal(r.error.code, 'TargetNotConnected');
    assert.equal(r.error.httpStatus, 400);
    assert.equal(r.product.code, 'E_NODE_SHELL_TARGET_NOT_CONNECTED');
    assert.match(r.message, /^SSM StartSession: TargetNotConnected: /);
  });

  test('TerminateSession ends the session', () => {
    const r = ssm(creds, 'terminate-session', '--session-id', sessionId);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.sessionId, sessionId);
  });

  test('a wrong secret key fails moto\'s signature check', () => {
    // Another first character, always: the secret is random and may itself start with X.
    const first = creds.SecretAccessKey[0];
    const bad = { ...creds, SecretAccessKey: `${first === 'X' ? 'Y' : 'X'}${creds.SecretAccessKey.slice(1)}` };
    assert.notEqual(bad.SecretAccessKey, creds.SecretAccessKey);
    const r = ssm(bad, 'describe-instance-information', '--instance-id', world.runningInstance);
    assert.equal(r.ok, false);
    assert.equal(r.error.code, 'SignatureDoesNotMatch');
    assert.equal(r.error.httpStatus, 403);
    assert.equal(r.product.code, 'E_AWS_FORBIDDEN');
    assert.ok(!r.message.includes(bad.SecretAccessKey) && !r.message.includes(creds.SessionToken));
  });

  test('a wrong session token is refused', () => {
    const r = ssm({ ...creds, SessionToken: 'bogus' }, 'start-session', '--target', world.runningInstance);
    assert.equal(r.ok, false);
    assert.equal(r.error.code, 'InvalidClientTokenId');
    assert.equal(r.product.code, 'E_AWS_FORBIDDEN');
  });

  test('a role without SSM permissions is AccessDenied', () => {
    const r = ssm(credsWithoutSsm, 'start-session', '--target', world.runningInstance);
    assert.equal(r.ok, false);
    assert.equal(r.error.code, 'AccessDenied');
    assert.match(r.error.message, /ssm:StartSession/);
    assert.equal(r.product.code, 'E_AWS_FORBIDDEN');
    assert.equal(r.product.status, 403);
  });
});
