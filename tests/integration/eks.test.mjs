// An eks cluster through the real stack: periscope reaches its apiserver (the fake, behind
// the fake EKS API) with EKS tokens signed by the server's own identity from EKS Pod
// Identity; the Nodes page, a cluster shell running kubectl, and a node shell on one of its
// nodes. The node shell uses only the operator's STS credentials: the server's own (a
// distinct canary) never reach STS AssumeRoleWithWebIdentity, SSM or ssmmessages.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { EKS_CLUSTER, EKS_NAME, NODES, SERVER_ROLE, startStack } from '../lib/stack.mjs';
import { signIn } from '../lib/session.mjs';
import { Terminal } from '../lib/terminal.mjs';

const PROMPT = /[$#] $/m;
const ONLINE = NODES[0].name;

describe('eks backend', () => {
	let stack;
	let admin;
	before(async () => {
		stack = await startStack({
			config: { clusters: [{ name: 'local', backend: 'kubeconfig', kubeconfigPath: '@KUBECONFIG@', region: 'eu-west-1' }, EKS_CLUSTER] },
		});
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
});
