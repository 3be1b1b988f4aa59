#include "k8s/cluster_access.h"

#include <stdio.h>

int cluster_kube_target(const struct cluster_config *c, struct kube_target *out, char *err,
			size_t errlen)
{
	switch (c->backend) {
	case BACKEND_KUBECONFIG:
		return kubeconfig_load(c->kubeconfig_path, c->kubeconfig_context, out, err, errlen);
	case BACKEND_IN_CLUSTER:
		return kubeconfig_in_cluster(out, err, errlen);
	default:
		snprintf(err, errlen, "%s clusters are not reachable without AWS credentials of the "
				      "server's own; use a kubeconfig or in-cluster backend",
			 cluster_backend_name(c->backend));
		return -2;
	}
}
