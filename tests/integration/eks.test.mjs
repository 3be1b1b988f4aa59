// An eks cluster through the real stack: periscope reaches its apiserver (the fake, behind
// the fake EKS API) with EKS tokens signed by the server's own identity from EKS Pod
// Identity; the Nodes page, a cluster shell running kubectl, and a node shell on one of its
// nodes. The node shell uses only the operator's STS credentials: the server's own (a
// distinct canary) never reach STS AssumeRoleWithWebIdentity, SSM or ssmmessages.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from '../lib/bounded-test.mjs';
import { promisify } from 'node:util';

import { ACCOUNT, BUILD_DIR, CLIENT, EKS_CLUSTER, EKS_NAME, NODES, NODE_ROLE, SERVER_ROLE, startStack } from '../lib/stack.mjs';
import { signIn } from '../lib/session.mjs';
import { signIn as oidcSignIn } from '../lib/oidc-client.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { toYaml } from '../lib/yaml.mjs';

const run = promisify(execFile);
const IRSA_ROLE = `arn:aws:iam::${ACCOUNT}:role/periscope-server-irsa`;
const INSTANCE_ROLE = `arn:aws:iam::${ACCOUNT}:role/periscope-server-instance`;
const DESCRIBE = [{ Effect: 'Allow', Action: 'eks:DescribeCluster', Resource: EKS_CLUSTER.arn }];

const PROMPT = /[$#] $/m;
const ONLINE = NODES[0].name;

describe('eks backend', () => {
	let stack;
	let admin;
	before(async () => {
		stack = await startStack({
			config: { clusters: [{ name: 'local', backend: 'kubeconfig', kubeconfigPath: '@KUBECONFIG@', region: 'eu-west-1' }, EKS_CLUSTER] },
			aws: {
				roles: [{ arn: NODE_ROLE, trust: { aud: CLIENT.id } }, { arn: IRSA_ROLE, trust: { aud: CLIENT.id }, permissions: DESCRIBE }],
				instanceProfile: { roleArn: INSTANCE_ROLE, permissions: DESCRIBE },
			},
		});
		// The access entries of the three server roles (Pod Identity's is the stack's).
		stack.api.setEksAuth({ clusterId: EKS_NAME, stsUrl: stack.aws.stsUrl, stsCaPem: stack.aws.caPem,
			mapRoles: [SERVER_ROLE, IRSA_ROLE, INSTANCE_ROLE].map((rolearn) => ({ rolearn, username: 'periscope', groups: [] })) });
		admin = await signIn(stack, 'admin');
	});
	after(async () => {
		if (stack) await stack.stop();
	});

	const serverKeys = () => new Set(stack.aws.snapshot().credentials.filter((c) => c.serverIdentity).map((c) => c.accessKeyId));

	it('lists the nodes of an eks cluster, reached with an EKS token of the server role', async () => {
		const r = await admin.get(`/api/clusters/${EKS_NAME}/nodes`);
		assert.equal(r.status, 200, r.text);
		assert.deepEqual(r.json.nodes.map((n) => n.name).sort(), NODES.map((n) => n.name).sort());
		assert.equal(r.json.nodes.find((n) => n.name === ONLINE).instanceId, 'i-0123456789abcdef0');
		const reqs = stack.aws.snapshot().requests;
		const describe = reqs.filter((q) => q.service === 'eks' && q.action === 'DescribeCluster');
		assert.ok(describe.length >= 1 && describe.every((q) => q.status === 200), 'DescribeCluster answered');
		const gci = reqs.filter((q) => q.service === 'sts' && q.action === 'GetCallerIdentity' && q.status === 200);
		assert.ok(gci.length >= 1, 'the apiserver checked the token with STS');
		assert.ok(gci.every((q) => q.k8sAwsId === EKS_NAME));
		assert.ok(gci.every((q) => q.assumedRoleArn.startsWith(`arn:aws:sts::123456789012:assumed-role/${SERVER_ROLE.split('/').pop()}/`)));
		assert.ok(gci.every((q) => serverKeys().has(q.accessKeyId)));
		const nodeReads = stack.api.state.requests.filter((q) => q.path === '/api/v1/nodes' && q.status === 200);
		assert.ok(nodeReads.some((q) => q.user.username === 'periscope' && /k8s-aws-v1|<redacted>/.test(JSON.stringify(q.headers))));
		// The Pod Identity agent was asked with the token from the file.
		assert.ok(reqs.some((q) => q.service === 'podIdentity' && q.status === 200));
	});

	it('a token whose credentials stopped counting is refused (401) and made again with fresh ones', async () => {
		assert.equal((await admin.get(`/api/clusters/${EKS_NAME}/nodes`)).status, 200);
		const before = serverKeys();
		for (const k of before) stack.aws.expireCredentials(k);
		stack.api.forgetWebhookTokens();
		const r = await admin.get(`/api/clusters/${EKS_NAME}/nodes`);
		assert.equal(r.status, 200, r.text);
		const reads = stack.api.state.requests.filter((q) => q.path === '/api/v1/nodes');
		assert.deepEqual(reads.slice(-2).map((q) => q.status), [401, 200], 'refused once, then taken');
		assert.ok([...serverKeys()].some((k) => !before.has(k)), 'new credentials from the Pod Identity agent');
		assert.match(stack.api.state.eksRefusals.at(-1), /ExpiredToken/);
	});

	it('a cluster shell on the eks cluster runs kubectl get pods', async () => {
		const t = await Terminal.open(stack, `/api/clusters/${EKS_NAME}/shell`, { cookie: `periscope_session=${admin.cookie()}` });
		t.resize(100, 30);
		const hello = await t.waitFrame('hello', 30000);
		assert.equal(hello.cluster, EKS_NAME);
		await t.waitOutput(PROMPT, 30000);
		t.type('kubectl get pods -n periscope-system\r');
		await t.waitOutput(new RegExp(`periscope-shell-${hello.sessionId}\\s+1/1\\s+Running`), 30000);
		t.send({ type: 'close' });
		const end = await t.end(30000);
		assert.equal(end.type, 'closed');
	});

	it('a node shell on one of its nodes opens, with the operator credentials only', async () => {
		const t = await Terminal.open(stack, `/api/clusters/${EKS_NAME}/nodes/${ONLINE}/shell`, { cookie: `periscope_session=${admin.cookie()}` });
		t.resize(100, 30);
		const hello = await t.waitFrame('hello', 30000);
		assert.equal(hello.kind, 'node_shell');
		assert.equal(hello.target, ONLINE);
		t.send({ type: 'close' });
		await t.end(30000);
		// The canary: the server's own keys were used (for DescribeCluster and the EKS token),
		// and never for the node shell's STS, SSM or data channel.
		const keys = serverKeys();
		const snap = stack.aws.snapshot();
		assert.ok(keys.size >= 1);
		assert.ok(snap.requests.some((q) => q.service === 'eks' && keys.has(q.accessKeyId)), 'the canary is live');
		for (const q of snap.requests) {
			if (q.service === 'ssm' || (q.service === 'sts' && q.action !== 'GetCallerIdentity')) {
				assert.ok(!keys.has(q.accessKeyId), `${q.service} ${q.action} carried the server's key`);
				assert.ok(!String(q.authorization ?? '').includes([...keys][0]));
			}
		}
		for (const s of snap.sessions) assert.ok(!keys.has(s.accessKeyId), 'a data channel opened with the server key');
		const assumed = snap.requests.filter((q) => q.service === 'sts' && q.action === 'AssumeRoleWithWebIdentity' && q.status === 200);
		assert.ok(assumed.length >= 1 && assumed.every((q) => /assumed-role\/periscope-node-shell\/periscope-user-admin$/.test(q.assumedRoleArn)));
	});

	// periscope.fcgi --check-config with the stack's configuration (sources as given) and
	// environment (as given): the lines it prints, by cluster.
	const checkConfig = async (sources, env) => {
		const cfg = structuredClone(stack.config);
		cfg.eks.credentialSources = sources;
		const file = path.join(stack.runDir, `check-${sources.join('-')}.yaml`);
		fs.writeFileSync(file, toYaml(cfg));
		const { stdout } = await run(path.join(BUILD_DIR, 'fcgi/periscope.fcgi'), ['--check-config', '--config', file],
			{ env: { PATH: process.env.PATH, ...env }, timeout: 60000 });
		fs.rmSync(file);
		// The cluster lines (others, such as the database's, say other things).
		return Object.fromEntries(stdout.trim().split('\n').map((l) => [/^cluster ([^:]+):/.exec(l)?.[1], l]).filter(([name]) => name));
	};
	const podIdentityEnv = () => ({
		AWS_CONTAINER_CREDENTIALS_FULL_URI: stack.env.AWS_CONTAINER_CREDENTIALS_FULL_URI,
		AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: stack.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
	});

	it('--check-config says, per cluster, what its backend needs and whether it is there', async () => {
		const lines = await checkConfig(['podIdentity', 'irsa', 'instanceProfile'], podIdentityEnv());
		assert.match(lines.local, /^cluster local: ready: kubeconfig: apiserver https:\/\/127\.0\.0\.1:\d+, a bearer token, authenticated as periscope$/);
		assert.match(lines[EKS_NAME], new RegExp(`^cluster ${EKS_NAME}: ready: eks: credential source podIdentity, apiserver https://127\\.0\\.0\\.1:\\d+ \\(from eks:DescribeCluster\\), an EKS token, authenticated as periscope$`));
		// No source set up: said so, naming the variables each needs.
		const none = await checkConfig(['podIdentity', 'irsa', 'instanceProfile'], { AWS_EC2_METADATA_DISABLED: 'true' });
		assert.match(none[EKS_NAME], /NOT READY: eks: server credentials: none of eks\.credentialSources is set up \(podIdentity needs AWS_CONTAINER_CREDENTIALS_FULL_URI, irsa AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, instanceProfile an IMDS not disabled by AWS_EC2_METADATA_DISABLED\)/);
		// A token file the agent does not know (rotated away): the agent's refusal.
		const stale = path.join(stack.runDir, 'stale-token');
		fs.writeFileSync(stale, 'stale');
		const refused = await checkConfig(['podIdentity'], { ...podIdentityEnv(), AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: stale });
		assert.match(refused[EKS_NAME], /NOT READY: eks: credential source podIdentity, EKS Pod Identity: the Pod Identity agent: HTTP 403/);
		fs.rmSync(stale);
	});

	it('IRSA: AssumeRoleWithWebIdentity with the token file, then the EKS token of that role', async () => {
		const { tokens } = await oidcSignIn({ issuer: stack.idp.issuer, username: 'admin', password: 'admin', redirectUri: `${stack.url}/api/auth/callback` });
		const tokenFile = path.join(stack.runDir, 'irsa-token');
		fs.writeFileSync(tokenFile, tokens.id_token);
		const lines = await checkConfig(['irsa'], { AWS_ROLE_ARN: IRSA_ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_SESSION_NAME: 'periscope-test' });
		fs.rmSync(tokenFile);
		assert.match(lines[EKS_NAME], /ready: eks: credential source irsa, .* an EKS token, authenticated as periscope$/);
		const assumed = stack.aws.snapshot().requests.filter((q) => q.action === 'AssumeRoleWithWebIdentity' && q.status === 200);
		assert.ok(assumed.some((q) => q.assumedRoleArn === `arn:aws:sts::${ACCOUNT}:assumed-role/periscope-server-irsa/periscope-test`));
	});

	it('the instance profile: IMDSv2 token, role name, credentials', async () => {
		const lines = await checkConfig(['podIdentity', 'instanceProfile'], {});
		assert.match(lines[EKS_NAME], /ready: eks: credential source instanceProfile, .* an EKS token, authenticated as periscope$/);
		const imds = stack.aws.snapshot().requests.filter((q) => q.service === 'imds');
		assert.deepEqual(imds.slice(-3).map((q) => [q.method, q.status]), [['PUT', 200], ['GET', 200], ['GET', 200]]);
		// Without an access entry for the role, the apiserver does not take the token.
		const auth = { clusterId: EKS_NAME, stsUrl: stack.aws.stsUrl, stsCaPem: stack.aws.caPem };
		stack.api.setEksAuth({ ...auth, mapRoles: [{ rolearn: SERVER_ROLE, username: 'periscope', groups: [] }] });
		try {
			const unmapped = await checkConfig(['instanceProfile'], {});
			assert.match(unmapped[EKS_NAME], /NOT READY: eks: credential source instanceProfile, apiserver \S+ \(from eks:DescribeCluster\) with an EKS token: the apiserver refused the credential: HTTP 401: Unauthorized$/);
			assert.match(stack.api.state.eksRefusals.at(-1), /ARN is not mapped: arn:aws:iam::123456789012:role\/periscope-server-instance/);
		} finally {
			stack.api.setEksAuth({ ...auth, mapRoles: [SERVER_ROLE, IRSA_ROLE, INSTANCE_ROLE].map((rolearn) => ({ rolearn, username: 'periscope', groups: [] })) });
		}
	});
});

describe('eks backend: the Pod Identity token file is read on every fetch', () => {
	let stack;
	let admin;
	before(async () => {
		// Credentials of 5 minutes are inside the 10-minute refresh window: each use fetches.
		stack = await startStack({ podIdentitySeconds: 300, config: { clusters: [EKS_CLUSTER] } });
		admin = await signIn(stack, 'admin');
	});
	after(async () => {
		if (stack) await stack.stop();
	});

	it('follows the agent rotating its token', async () => {
		assert.equal((await admin.get(`/api/clusters/${EKS_NAME}/nodes`)).status, 200);
		const fresh = 'pod-identity.rotated';
		fs.writeFileSync(stack.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, fresh);
		stack.aws.setPodIdentityToken(fresh);
		const r = await admin.get(`/api/clusters/${EKS_NAME}/nodes`);
		assert.equal(r.status, 200, r.text);
		const agent = stack.aws.snapshot().requests.filter((q) => q.service === 'podIdentity');
		assert.ok(agent.length >= 2 && agent.every((q) => q.status === 200), 'every fetch carried the current token');
		// A token the agent no longer takes: the Nodes page says why.
		stack.aws.setPodIdentityToken('pod-identity.next');
		const refused = await admin.get(`/api/clusters/${EKS_NAME}/nodes`);
		assert.deepEqual([refused.status, refused.json.code], [502, 'E_UPSTREAM']);
		assert.match(refused.json.err, /EKS Pod Identity: the Pod Identity agent: HTTP 403/);
	});
});

