/* Reading a kubeconfig (the kubeconfig backend's cluster entry, or the in-cluster service
 * account), and writing the per-session kubeconfig that the shell pod receives. */
#ifndef PERISCOPE_KUBECONFIG_H
#define PERISCOPE_KUBECONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/memfile.h"

struct kube_target;

/* Where a short-lived token comes from again (an EKS token, an exec plugin): called when
 * the token is about to expire, or was refused with 401. Replaces t->token and
 * t->token_expiry; 0, or -1 with err. */
struct kube_token_source {
	int (*renew)(void *ud, struct kube_target *t, char *err, size_t errlen);
	void *ud;
	int renew_before_s;    /* renew this long before token_expiry (EKS: a minute; an exec
				* plugin's credential: at expiry, as client-go does) */
};

struct kube_target {
	char *server;      /* https://host:port */
	char *connect_to;  /* agent clusters: "host:port:127.0.0.1:tunnelport" (the apiserver's
			    * name, still verified by TLS, dialled through the tunnel), or NULL */
	char *ca_pem;      /* the cluster CA, PEM; NULL = system trust */
	char *ca_file;     /* the same CA as a file name, for libcurl (GnuTLS builds take no CA
			    * blob): the kubeconfig's own file, or an in-memory file (ca_mem) */
	bool ca_mem_used;
	struct memfile ca_mem;
	char *token;       /* bearer token of the server's own identity (a secret), or NULL
			    * when a client certificate alone authenticates */
	long long token_expiry;        /* Unix seconds; 0 = does not expire */
	struct kube_token_source source; /* renew == NULL: the token is fixed */
	/* A client certificate and its key (PEM), as files for libcurl: the kubeconfig's own
	 * files, or in-memory files for -data entries and exec plugins (the key is a secret). */
	char *cert_file;
	char *key_file;
	bool cert_mem_used;
	struct memfile cert_mem, key_mem;
	const char *auth_kind;         /* what authenticates, for --check-config (static text) */
};

void kube_target_clear(struct kube_target *t);
/* Keeps ca_pem in an in-memory file and points ca_file at it. 0 or -1. */
int kube_target_keep_ca(struct kube_target *t);
/* Keeps a client certificate and key (PEM) in in-memory files and points cert_file and
 * key_file at them (replacing any). 0 or -1. */
int kube_target_keep_client_cert(struct kube_target *t, const char *cert_pem, const char *key_pem);
/* Renews the credential when it expires within source.renew_before_s (or force). 0, or -1
 * with err. */
int kube_target_fresh(struct kube_target *t, bool force, char *err, size_t errlen);

struct cred_cache;
/* Reads `context` (NULL or "" = current-context) of the kubeconfig at path. The cluster:
 * server, certificate-authority-data / certificate-authority. The user, as client-go
 * reads it: token / tokenFile, client-certificate(-data) with client-key(-data), and exec
 * credential plugins (k8s/kube_exec.h, cached in cache, NULL = not cached). Relative file
 * names are relative to the kubeconfig's directory. */
int kubeconfig_load(const char *path, const char *context, struct cred_cache *cache,
		    struct kube_target *out, char *err, size_t errlen);
/* The pod's own service account (in-cluster backend). */
int kubeconfig_in_cluster(struct kube_target *out, char *err, size_t errlen);
/* A kubeconfig document (YAML or JSON) as JSON, or NULL with err. */
json_t *kubeconfig_parse(const char *text, size_t len, char *err, size_t errlen);

struct shell_kubeconfig {
	const char *server;        /* what the pod dials: https://kubernetes.default.svc */
	const char *ca_file;       /* certificate-authority: a path, relative to the kubeconfig */
	const char *token;         /* the session's bound TokenRequest token */
	const char *as_user;       /* the operator's sub */
	const char *as_group;      /* periscope-tier:<tier> */
	const char *session_id;
	const char *actor;
};

/* The per-session kubeconfig (JSON, which kubectl reads as YAML). malloc'd, or NULL. */
char *kubeconfig_render_shell(const struct shell_kubeconfig *k);

#endif
