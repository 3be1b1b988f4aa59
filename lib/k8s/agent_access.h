/* How periscope reaches an agent cluster's apiserver (backend: agent, docs/agent.md):
 * through the loopback port the cluster's agent holds with its OpenSSH remote forward
 * (agent/tunnel_*), with TLS end to end. The apiserver is dialled at 127.0.0.1:<port> but
 * verified under its own name, kubernetes.default.svc, against the cluster's CA; the
 * bearer token is the one the agent registered (its ServiceAccount's).
 *
 * The CA comes from kube-public/cluster-info fetched through the tunnel (the seeds'
 * kubeadm-style discovery), read without verification as kubeadm's token discovery reads
 * it, and accepted only when its SHA-256 equals the pin the agent registered with
 * (cmd/kubeadm/app/discovery/token/token.go: the CA pinned by hash, then trusted). It is
 * then cached in the registry; a re-registration clears it. */
#ifndef PERISCOPE_AGENT_ACCESS_H
#define PERISCOPE_AGENT_ACCESS_H

#include <stddef.h>

#include "config/config.h"
#include "k8s/cred_cache.h"
#include "k8s/kubeconfig.h"

/* The apiserver's name as the cluster's own certificate carries it. */
#define AGENT_APISERVER_NAME "kubernetes.default.svc"

/* 0; -1 with err; AGENT_UNREACHABLE when no agent is registered or its tunnel is down. */
#define AGENT_UNREACHABLE (-3)
int agent_kube_target(struct cred_cache *cache, const struct cluster_config *c,
		      struct kube_target *out, char *err, size_t errlen);

#endif
