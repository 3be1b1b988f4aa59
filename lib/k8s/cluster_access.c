#include "k8s/cluster_access.h"
#include "k8s/agent_access.h"

#include <stdio.h>
#include <string.h>

int cluster_kube_target(const struct cluster_config *c, struct cred_cache *creds,
			struct kube_target *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	switch (c->backend) {
	case BACKEND_KUBECONFIG:
		return kubeconfig_load(c->kubeconfig_path, c->kubeconfig_context, creds, out, err, errlen);
	case BACKEND_IN_CLUSTER:
		return kubeconfig_in_cluster(out, err, errlen);
	case BACKEND_EKS:
		if (!creds) {
			snprintf(err, errlen, "no AWS credential cache for eks cluster %s", c->name);
			return -2;
		}
		return eks_kube_target(creds, c, out, err, errlen);
	case BACKEND_AGENT:
		return agent_kube_target(creds, c, out, err, errlen);
	default:
		snprintf(err, errlen, "unknown backend");
		return -2;
	}
}
