// Benchmark: the throughput of a cluster shell's output through an agent's tunnel next to
// the same shell without it, in the same run: a shell on `local` (periscope dials the
// apiserver fake directly) and one on `edge` (the same kind of fake, reached only through
// periscope-agent's OpenSSH forward over a WebSocket through the web server). Each moves
// SIZE random bytes as base64 through the terminal, checked by hash, ROUNDS times; the
// ratio of the medians is the number to watch. Then the tunnel alone: the agent forwards to
// a plain HTTP server on its side serving RAW random megabytes, downloaded through the
// agent's port (WebSocket through the web server, sshd, ssh, the connector) and directly.
// Usage:
//   node bench/agent-tunnel.mjs [megabytes=8] [rounds=3] [raw megabytes=64]   (PERISCOPE_SERVER=apache too)
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

import { EDGE_CLUSTER, startEdge, tunnelStatus } from '../tests/lib/edge.mjs';
import { signIn } from '../tests/lib/session.mjs';
import { startStack, waitFor } from '../tests/lib/stack.mjs';
import { Terminal } from '../tests/lib/terminal.mjs';
import { transfer } from '../tests/lib/transfer.mjs';

const size = Number(process.argv[2] || 8) * 1024 * 1024;
const rounds = Number(process.argv[3] || 3);
const raw = Number(process.argv[4] || 64) * 1024 * 1024;

// Downloads url whole: MB/s.
function download(url, size) {
	return new Promise((resolve, reject) => {
		const started = Date.now();
		http.get(url, (res) => {
			let got = 0;
			res.on('data', (c) => { got += c.length; });
			res.on('end', () => (got === size ? resolve((size / (1024 * 1024)) / ((Date.now() - started) / 1000))
				: reject(new Error(`${url}: ${got} of ${size} bytes`))));
		}).on('error', reject);
	});
}
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
			if (!r.intact) throw new Error(`${cluster}: the transfer arrived damaged: ${r.bytes} bytes, sha256 ${r.got}, the shell's ${r.sent}`);
			rates.push((size / (1024 * 1024)) / (r.ms / 1000));
		}
		t.send({ type: 'close' });
		await t.end(30000);
		results[cluster] = median(rates);
		console.log(`${cluster.padEnd(6)} ${rates.map((x) => x.toFixed(1)).join(' / ')} MB/s of shell output (median ${results[cluster].toFixed(1)})`);
	}
	console.log(`through the tunnel / direct: ${(results.edge / results.local).toFixed(2)} (${stack.server}, ${size / (1024 * 1024)} MB x ${rounds})`);

	const blob = randomBytes(raw);
	const server = http.createServer((req, res) => {
		res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length });
		res.end(blob);
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	try {
		await edge.agent.stop();
		edge.agent.env.PERISCOPE_APISERVER = `127.0.0.1:${server.address().port}`;
		edge.agent.start();
		await waitFor('the agent to forward to the blob server', async () => (await tunnelStatus(admin))?.connected === true, { timeoutMs: 30000 });
		const port = JSON.parse(fs.readFileSync(path.join(edge.agent.env.PERISCOPE_AGENT_STATE, 'registration.json'), 'utf8')).tunnelPort;
		const tunnel = [];
		const direct = [];
		for (let i = 0; i < rounds; i++) {
			tunnel.push(await download(`http://127.0.0.1:${port}/`, raw));
			direct.push(await download(`http://127.0.0.1:${server.address().port}/`, raw));
		}
		console.log(`raw tunnel ${tunnel.map((x) => x.toFixed(0)).join(' / ')} MB/s, direct ${direct.map((x) => x.toFixed(0)).join(' / ')} MB/s; ratio ${(median(tunnel) / median(direct)).toFixed(3)} (${raw / (1024 * 1024)} MB x ${rounds})`);
	} finally {
		server.close();
	}
} finally {
	if (edge) await edge.stop();
	await stack.stop();
}
