// dev/up's foreground process: starts the local stack on PERISCOPE_PORT (default 8080) and
// keeps it until Ctrl-C, then stops everything it started. PERISCOPE_SERVER=apache puts
// Apache in front instead of lighttpd; PERISCOPE_TLS=1 serves https:// (trust the CA file
// it prints in the browser, or accept the warning). PERISCOPE_DB=postgres keeps the shared
// state in a throwaway PostgreSQL; PERISCOPE_REPLICAS=2 runs two periscope.fcgi + websocketd
// sets behind the web server (docs/deployment.md "N replicas").
//
// Your own settings, merged over the configuration the stack generates (objects key by key,
// lists and values replaced): `dev/up --config my.yaml` (a file, YAML or JSON) and/or
// PERISCOPE_OVERRIDES='{clusterShell: {maxDurationSeconds: 120}}' (inline YAML or JSON;
// applied after the file). docs/HACKING.md "Your own settings" shows examples.
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';

import { parse as parseYaml } from 'yaml';

import { EDGE_CLUSTER, EDGE_NAME, startEdge } from './edge.mjs';
import { signIn } from './session.mjs';
import { EKS_CLUSTER, EKS_NAME, NODES, baseConfig, deepMerge, startStack } from './stack.mjs';

function overridesFrom(text, where) {
	let doc;
	try {
		doc = parseYaml(text);
	} catch (e) {
		throw new Error(`${where} is not valid YAML: ${e.message}`);
	}
	if (doc === null || doc === undefined) return {};
	if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${where} must be a mapping of configuration keys (docs/configuration.md)`);
	return doc;
}

function userOverrides() {
	const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } }, allowPositionals: false });
	const overrides = {};
	if (values.config) deepMerge(overrides, overridesFrom(fs.readFileSync(values.config, 'utf8'), values.config));
	if (process.env.PERISCOPE_OVERRIDES) deepMerge(overrides, overridesFrom(process.env.PERISCOPE_OVERRIDES, 'PERISCOPE_OVERRIDES'));
	return overrides;
}

let overrides;
try {
	overrides = userOverrides();
} catch (e) {
	console.error(`dev/up: ${e.message}`);
	process.exit(2);
}
// PERISCOPE_PORT=0: any free port (the stack picks, and picks again when taken).
const port = process.env.PERISCOPE_PORT === '0' ? undefined : Number(process.env.PERISCOPE_PORT || 8080);
// The usual clusters, and the stand-in apiserver once more as an eks cluster: reached with
// EKS tokens of the server's own (EKS Pod Identity) role. Your settings come last.
const { clusters } = baseConfig({ url: '', issuer: '', runDir: '' });
const stack = await startStack({
	port, idpPort: Number(process.env.PERISCOPE_IDP_PORT || 0),
	config: deepMerge({ clusters: [...clusters.map((c) => (c.name === 'local' ? { ...c, kubeconfigPath: '@KUBECONFIG@' } : c)), EKS_CLUSTER, EDGE_CLUSTER] }, overrides),
});
// The agent cluster: a second stand-in apiserver, reached only through a real
// periscope-agent's tunnel (docs/agent.md), registered with a token the admin mints.
const edge = stack.config.clusters.some((c) => c.name === EDGE_NAME && c.backend === 'agent')
	? await startEdge(stack, await signIn(stack, 'admin')) : null;
console.log(`
periscope is up:   ${stack.url}   (behind ${stack.server}${stack.tls ? `, certificate from the CA in ${stack.caFile}` : ''})
identity provider: ${stack.idp.issuer}   (users admin/admin, viewer/viewer, ops/ops)
run directory:     ${stack.runDir}   (config, database, logs)
database:          ${stack.pg ? `PostgreSQL ${stack.pg.url}` : `SQLite ${stack.config.audit.dbPath}`}   (PERISCOPE_DB=sqlite|postgres)
replicas:          ${stack.replicas.map((r) => `${r.name} (periscope.fcgi ${r.fcgiAddr}, websocketd :${r.wsPort})`).join(', ')}   (PERISCOPE_REPLICAS=N)${Object.keys(overrides).length ? `\nyour settings:     ${Object.keys(overrides).join(', ')} (merged into ${stack.configPath})` : ''}
metrics:           ${stack.metricsUrl}   (Prometheus; not on the site itself, docs/monitoring.md)
readiness:         ${stack.url}/readyz
terminals:         websocketd --maxforks=${stack.maxforks} (periscope.fcgi --print-maxforks: the caps plus headroom)

Stand-ins: a Kubernetes apiserver (cluster "local", whose shell pods run locally; also
cluster "${EKS_NAME}" through the EKS API and EKS tokens) at ${stack.api.url}, and AWS
STS/SSM/EKS at ${stack.aws.stsUrl} / ${stack.aws.ssmUrl} / ${stack.aws.eksUrl}, the EKS Pod
Identity agent at ${stack.aws.podIdentityUrl}
(node ${NODES[0].name} is an EC2 host with its SSM agent online).${edge ? `
Cluster "${EDGE_NAME}" is another stand-in apiserver that periscope reaches only through
periscope-agent (pid ${edge.agent.pid}, log ${stack.runDir}/periscope-agent-${EDGE_NAME}.log),
whose tunnel runs over ${stack.url}/agent/tunnel.` : ''}

Cluster shell: ${stack.wsUrl}/api/clusters/local/shell
Node shell:    ${stack.wsUrl}/api/clusters/local/nodes/${NODES[0].name}/shell
Ctrl-C stops everything.
`);
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
	process.on(sig, async () => {
		if (stopping) return;
		stopping = true;
		console.log('\nstopping…');
		if (edge) await edge.stop();
		await stack.stop();
		process.exit(0);
	});
}
