// dev/up's foreground process: starts the local stack on PERISCOPE_PORT (default 8080) and
// keeps it until Ctrl-C, then stops everything it started. PERISCOPE_SERVER=apache puts
// Apache in front instead of lighttpd; PERISCOPE_TLS=1 serves https:// (trust the CA file
// it prints in the browser, or accept the warning).
import { EKS_CLUSTER, EKS_NAME, NODES, baseConfig, startStack } from './stack.mjs';

const port = Number(process.env.PERISCOPE_PORT || 8080);
// The usual clusters, and the stand-in apiserver once more as an eks cluster: reached with
// EKS tokens of the server's own (EKS Pod Identity) role.
const { clusters } = baseConfig({ url: '', issuer: '', runDir: '' });
const stack = await startStack({
	port, idpPort: Number(process.env.PERISCOPE_IDP_PORT || 0),
	config: { clusters: [...clusters.map((c) => (c.name === 'local' ? { ...c, kubeconfigPath: '@KUBECONFIG@' } : c)), EKS_CLUSTER] },
});
console.log(`
periscope is up:   ${stack.url}   (behind ${stack.server}${stack.tls ? `, certificate from the CA in ${stack.caFile}` : ''})
identity provider: ${stack.idp.issuer}   (users admin/admin, viewer/viewer, ops/ops)
run directory:     ${stack.runDir}   (config, database, logs)
metrics:           ${stack.metricsUrl}   (Prometheus; not on the site itself, docs/monitoring.md)
readiness:         ${stack.url}/readyz
terminals:         websocketd --maxforks=${stack.maxforks} (periscope.fcgi --print-maxforks: the caps plus headroom)

Stand-ins: a Kubernetes apiserver (cluster "local", whose shell pods run locally; also
cluster "${EKS_NAME}" through the EKS API and EKS tokens) at ${stack.api.url}, and AWS
STS/SSM/EKS at ${stack.aws.stsUrl} / ${stack.aws.ssmUrl} / ${stack.aws.eksUrl}, the EKS Pod
Identity agent at ${stack.aws.podIdentityUrl}
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
