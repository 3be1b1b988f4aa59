// Benchmark: the throughput of a cluster shell's output through an agent's tunnel next to
// the same shell without it, in the same run: a shell on `local` (periscope dials the
// apiserver fake directly) and one on `edge` (the same kind of fake, reached only through
// periscope-agent's OpenSSH forward over a WebSocket through the web server). Each moves
// SIZE random bytes as base64 through the terminal, checked by hash, ROUNDS times; the
// ratio of the medians is the number to watch. Usage:
//   node bench/agent-tunnel.mjs [megabytes=8] [rounds=3]      (PERISCOPE_SERVER=apache too)
import { EDGE_CLUSTER, startEdge } from '../tests/lib/edge.mjs';
import { signIn } from '../tests/lib/session.mjs';
import { startStack } from '../tests/lib/stack.mjs';
import { Terminal } from '../tests/lib/terminal.mjs';
import { transfer } from '../tests/lib/transfer.mjs';

const size = Number(process.argv[2] || 8) * 1024 * 1024;
const rounds = Number(process.argv[3] || 3);
const PROMPT = /[$#] $/m;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const stack = await startStack({
	config: { clusters: [{ name: 'local', backend: 'kubeconfig', kubeconfigPath: '@KUBECONFIG@' }, EDGE_CLUSTER] },
});
let edge;
try {
	const admin = await signIn(stack, 'admin');
	edge = await startEdge(stack, admin);
	const results = {};
	for (const cluster of ['local', 'edge']) {
		const t = await Terminal.open(stack, `/api/clusters/${cluster}/shell`, { cookie: `periscope_session=${admin.cookie()}` });
		await t.waitFrame('hello', 60000);
		await t.waitOutput(PROMPT, 30000);
		const rates = [];
		for (let i = 0; i < rounds; i++) {
			const r = await transfer(t, size, { timeoutMs: 300000 });
			if (!r.intact) throw new Error(`${cluster}: the transfer arrived damaged`);
			rates.push((size / (1024 * 1024)) / (r.ms / 1000));
		}
		t.send({ type: 'close' });
		await t.end(30000);
		results[cluster] = median(rates);
		console.log(`${cluster.padEnd(6)} ${rates.map((x) => x.toFixed(1)).join(' / ')} MB/s of shell output (median ${results[cluster].toFixed(1)})`);
	}
	console.log(`through the tunnel / direct: ${(results.edge / results.local).toFixed(2)} (${stack.server}, ${size / (1024 * 1024)} MB x ${rounds})`);
} finally {
	if (edge) await edge.stop();
	await stack.stop();
}
