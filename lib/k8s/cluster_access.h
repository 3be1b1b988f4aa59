/* How periscope reaches a cluster's apiserver as itself: the kubeconfig backend's entry,
 * or the in-cluster service account. (EKS needs the server's own AWS identity, which this
 * server deliberately does not have; such clusters get a clear "unsupported".) */
#ifndef PERISCOPE_CLUSTER_ACCESS_H
#define PERISCOPE_CLUSTER_ACCESS_H

#include <stddef.h>

#include "config/config.h"
#include "k8s/kubeconfig.h"

/* 0; -1 with err; -2 when the backend is not supported. */
int cluster_kube_target(const struct cluster_config *c, struct kube_target *out, char *err,
			size_t errlen);

#endif
