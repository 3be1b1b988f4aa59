/* The process's cache of what periscope reaches its clusters with as itself: the server's
 * own AWS credentials and the EKS tokens made from them (k8s/eks_access.h), and the
 * credentials kubeconfig exec plugins printed (k8s/kube_exec.h). One per process (main owns
 * it), shared by its threads under one lock. */
#ifndef PERISCOPE_CRED_CACHE_H
#define PERISCOPE_CRED_CACHE_H

#include "metrics/upstream_tally.h"
#include "config/config.h"

struct cred_cache;

struct cred_cache *cred_cache_new(const struct config *cfg);
void cred_cache_free(struct cred_cache *cache);
/* Moves the upstream requests the cache made (EKS DescribeCluster, under its lock, for
 * whichever thread asked) into the caller's tally, for its next metrics flush. */
void cred_cache_take_tally(struct cred_cache *cache, struct upstream_tally *into);

#endif
