/* What --check-config says about a cluster: what its backend needs and whether it is there.
 * For eks, which credential source the chain finds; then the target (credentials,
 * eks:DescribeCluster, the EKS token, or the kubeconfig's user); then whether the apiserver
 * takes the credential and as whom (a SelfSubjectReview, which every authenticated user may
 * create), which shows whether the access entry or aws-auth mapping is in place. */
#ifndef PERISCOPE_CLUSTER_CHECK_H
#define PERISCOPE_CLUSTER_CHECK_H

#include <stddef.h>

#include "config/config.h"
#include "k8s/cred_cache.h"

/* One line into out; 0 when the cluster is reachable as periscope, -1 otherwise. */
int cluster_check(const struct cluster_config *c, struct cred_cache *creds, char *out, size_t outlen);

#endif
