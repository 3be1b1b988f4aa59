// The EKS parts of the AWS fake, and the apiserver fake's EKS authenticator, checked with
// real clients: the AWS CLI's `eks get-token` (its token must reach the apiserver fake and
// be refused once tampered with), `aws eks describe-cluster`, kubectl with the token, and
// botocore's own credential providers against the Pod Identity agent and IMDSv2.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from '../../lib/bounded-test.mjs';
import { promisify } from 'node:util';

import { startApiserver } from '../apiserver/server.mjs';
import { findKubectl } from '../apiserver/kubectl.mjs';
import { startAws } from './server.mjs';

const run = promisify(execFile);
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const SERVER_ROLE = `arn:aws:iam::${ACCOUNT}:role/periscope-server`;
const CLUSTER = 'local';

describe('AWS fake: EKS, Pod Identity and IMDS with real clients', () => {
  let aws;
  let api;
  let dir;
  let creds;
  const cliEnv = (extra = {}) => ({
    PATH: process.env.PATH, HOME: dir, AWS_CONFIG_FILE: path.join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'),
    AWS_CA_BUNDLE: aws.caFile, AWS_DEFAULT_REGION: REGION, AWS_EC2_METADATA_DISABLED: 'true', ...extra,
  });
  const withCreds = (c) => ({ AWS_ACCESS_KEY_ID: c.AccessKeyId, AWS_SECRET_ACCESS_KEY: c.SecretAccessKey, AWS_SESSION_TOKEN: c.Token });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-eksfake-'));
    api = await startApiserver({ readyDelayMs: 50, nodes: [{ name: 'n1', providerID: 'aws:///eu-west-1a/i-0123456789abcdef0' }] });
    aws = await startAws({
      region: REGION, account: ACCOUNT, clusterName: CLUSTER,
      podIdentity: { roleArn: SERVER_ROLE, token: 'pod-identity-token-1' },
      instanceProfile: { roleArn: `arn:aws:iam::${ACCOUNT}:role/periscope-instance` },
      eksClusters: [{ name: CLUSTER, endpoint: api.url, caPem: api.caPem }],
    });
    api.setEksAuth({ clusterId: CLUSTER, stsUrl: aws.stsUrl, stsCaPem: aws.caPem,
      mapRoles: [{ rolearn: SERVER_ROLE, username: 'periscope:{{SessionName}}', groups: ['system:masters'] }] });
    const r = await fetch(aws.podIdentityUrl, { headers: { Authorization: 'pod-identity-token-1' } });
    assert.equal(r.status, 200);
    creds = await r.json();
  });
  after(async () => {
    await aws?.close();
    await api?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the Pod Identity agent refuses a missing or wrong token', async () => {
    assert.equal((await fetch(aws.podIdentityUrl)).status, 401);
    assert.equal((await fetch(aws.podIdentityUrl, { headers: { Authorization: 'stale' } })).status, 403);
    assert.match(creds.AccessKeyId, /^ASIA/);
    assert.ok(Date.parse(creds.Expiration) > Date.now());
  });

  it('botocore ContainerProvider reads Pod Identity credentials (token from the file)', async () => {
    const tokenFile = path.join(dir, 'pod-token');
    fs.writeFileSync(tokenFile, 'pod-identity-token-1');
    const py = 'import botocore.session as s; c=s.get_session().get_credentials(); print(c.method, c.access_key)';
    const { stdout } = await run('python3', ['-c', py], { env: cliEnv({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: aws.podIdentityUrl, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile }) });
    const [method, key] = stdout.trim().split(' ');
    assert.equal(method, 'container-role');
    assert.match(key, /^ASIA/);
  });

  it('botocore InstanceMetadataProvider gets IMDSv2 credentials; a GET without the PUT token is 401', async () => {
    assert.equal((await fetch(`${aws.metadataUrl}/latest/meta-data/iam/security-credentials/`)).status, 401);
    assert.equal((await fetch(`${aws.metadataUrl}/latest/api/token`, { method: 'PUT' })).status, 400, 'no TTL header');
    const py = 'import botocore.session as s; c=s.get_session().get_credentials(); print(c.method, c.access_key)';
    const { stdout } = await run('python3', ['-c', py], { env: cliEnv({
      AWS_EC2_METADATA_DISABLED: 'false', AWS_EC2_METADATA_SERVICE_ENDPOINT: aws.metadataUrl }) });
    const [method, key] = stdout.trim().split(' ');
    assert.equal(method, 'iam-role');
    assert.match(key, /^ASIA/);
  });

  it('aws eks describe-cluster names the apiserver and its CA', async () => {
    const { stdout } = await run('aws', ['eks', 'describe-cluster', '--name', CLUSTER, '--output', 'json'],
      { env: cliEnv({ ...withCreds(creds), AWS_ENDPOINT_URL_EKS: aws.eksUrl }) });
    const c = JSON.parse(stdout).cluster;
    assert.equal(c.endpoint, api.url);
    assert.equal(c.status, 'ACTIVE');
    assert.equal(Buffer.from(c.certificateAuthority.data, 'base64').toString(), api.caPem);
    await assert.rejects(run('aws', ['eks', 'describe-cluster', '--name', 'nope'],
      { env: cliEnv({ ...withCreds(creds), AWS_ENDPOINT_URL_EKS: aws.eksUrl }) }), /ResourceNotFoundException/);
  });

  it('a token from `aws eks get-token` reaches the apiserver fake; a tampered one does not', async () => {
    const env = cliEnv({ ...withCreds(creds), AWS_ENDPOINT_URL_STS: aws.stsUrl });
    const { stdout } = await run('aws', ['eks', 'get-token', '--cluster-name', CLUSTER, '--region', REGION], { env });
    const token = JSON.parse(stdout).status.token;
    assert.match(token, /^k8s-aws-v1\./);
    const url = new URL(Buffer.from(token.slice(11), 'base64url').toString());
    assert.equal(url.searchParams.get('X-Amz-Expires'), '60');
    assert.ok(url.searchParams.get('X-Amz-SignedHeaders').split(';').includes('x-k8s-aws-id'));
    const kubectl = findKubectl();
    const kenv = { PATH: process.env.PATH, HOME: dir, KUBECONFIG: path.join(dir, 'none') };
    const caFile = path.join(dir, 'api-ca.pem');
    fs.writeFileSync(caFile, api.caPem);
    const who = await run(kubectl, ['--server', api.url, '--certificate-authority', caFile, '--token', token, 'auth', 'whoami', '-o', 'json'], { env: kenv });
    assert.match(JSON.parse(who.stdout).status.userInfo.username, /^periscope:eks-local-periscope-/);
    // Signed for another cluster: STS's signature check fails with this cluster's header.
    const other = JSON.parse((await run('aws', ['eks', 'get-token', '--cluster-name', 'other', '--region', REGION], { env })).stdout).status.token;
    await assert.rejects(run(kubectl, ['--server', api.url, '--certificate-authority', caFile, '--token', other, 'get', 'nodes'], { env: kenv }), /Unauthorized|provide credentials/);
    assert.match(api.state.eksRefusals.at(-1), /expected 200, got 403.*SignatureDoesNotMatch/s);
    // The x-k8s-aws-id header left out of the signature.
    const unsigned = new URL(url);
    unsigned.searchParams.set('X-Amz-SignedHeaders', 'host');
    const bad = `k8s-aws-v1.${Buffer.from(unsigned.toString()).toString('base64url')}`;
    await assert.rejects(run(kubectl, ['--server', api.url, '--certificate-authority', caFile, '--token', bad, 'get', 'nodes'], { env: kenv }), /Unauthorized|provide credentials/);
    assert.match(api.state.eksRefusals.at(-1), /client did not sign the x-k8s-aws-id header/);
  });
});
