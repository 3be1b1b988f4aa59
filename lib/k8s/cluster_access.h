/* How periscope reaches a cluster's apiserver as itself: the kubeconfig backend's entry,
 * the in-cluster service account, or (eks) an EKS token of the server's own AWS identity
 * (k8s/eks_access.h). */
#ifndef PERISCOPE_CLUSTER_ACCESS_H
#define PERISCOPE_CLUSTER_ACCESS_H

#include <stddef.h>

#include "config/config.h"
#include "k8s/eks_access.h"
#include "k8s/kubeconfig.h"

/* agent: AGENT_UNREACHABLE (k8s/agent_access.h) when the cluster's tunnel is down.
 * eks: the process's cache of the server's credentials and tokens (needed for eks
 * clusters, unused otherwise). 0; -1 with err; -2 when the backend is not supported. */
int cluster_kube_target(const struct cluster_config *c, struct cred_cache *creds,
			struct kube_target *out, char *err, size_t errlen);

#endif
