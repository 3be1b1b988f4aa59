// dev/up's foreground process: starts the local stack on PERISCOPE_PORT (default 8080) and
// keeps it until Ctrl-C, then stops everything it started. PERISCOPE_SERVER=apache puts
// Apache in front instead of lighttpd; PERISCOPE_TLS=1 serves https:// (trust the CA file
// it prints in the browser, or accept the warning).
import { NODES, startStack } from './stack.mjs';

const port = Number(process.env.PERISCOPE_PORT || 8080);
const stack = await startStack({ port, idpPort: Number(process.env.PERISCOPE_IDP_PORT || 0) });
console.log(`
periscope is up:   ${stack.url}   (behind ${stack.server}${stack.tls ? `, certificate from the CA in ${stack.caFile}` : ''})
identity provider: ${stack.idp.issuer}   (users admin/admin, viewer/viewer, ops/ops)
run directory:     ${stack.runDir}   (config, database, logs)
metrics:           ${stack.metricsUrl}   (Prometheus; not on the site itself, docs/monitoring.md)
readiness:         ${stack.url}/readyz

Stand-ins: a Kubernetes apiserver (cluster "local", whose shell pods run locally) at
${stack.api.url}, and AWS STS/SSM at ${stack.aws.stsUrl} / ${stack.aws.ssmUrl}
(node ${NODES[0].name} is an EC2 host with its SSM agent online).

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
		await stack.stop();
		process.exit(0);
	});
}
