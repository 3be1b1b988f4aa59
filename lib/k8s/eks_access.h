/* How periscope reaches an EKS cluster's apiserver as itself: the server's own AWS
 * credentials (aws/server_creds.h), the cluster's endpoint and CA (from config, or
 * eks:DescribeCluster signed with those credentials), and an EKS token
 * (aws/eks_token.h) renewed before it expires, kept in the process's cred_cache:
 * credentials are fetched again ten minutes before they expire, tokens a minute
 * before their fourteen minutes are up, DescribeCluster once. */
#ifndef PERISCOPE_EKS_ACCESS_H
#define PERISCOPE_EKS_ACCESS_H

#include <stddef.h>

#include "config/config.h"
#include "k8s/cred_cache.h"
#include "k8s/kubeconfig.h"

/* The kube_target of eks cluster c: server, CA, a token, and a token source that renews
 * it through the cache (which must outlive the target). 0, or -1 with err. */
int eks_kube_target(struct cred_cache *cache, const struct cluster_config *c,
		    struct kube_target *out, char *err, size_t errlen);

/* The cluster's region: clusters[].region, else the ARN's. NULL when neither. */
const char *eks_cluster_region(const struct cluster_config *c, char *buf, size_t len);


#endif
