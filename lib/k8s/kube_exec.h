/* kubeconfig `exec` credential plugins (what `aws eks update-kubeconfig`,
 * gke-gcloud-auth-plugin and kubelogin write): the command runs with the environment of
 * the spec and KUBERNETES_EXEC_INFO, prints a client.authentication.k8s.io ExecCredential,
 * and its token or client certificate is used until expirationTimestamp; it runs again
 * when that passes or when the apiserver answers 401. As client-go does it
 * (plugin/pkg/client/auth/exec/exec.go: newAuthenticator, Authenticator.getCreds,
 * maybeRefreshCreds, refreshCredsLocked), without a terminal: interactiveMode Always is
 * refused, stdin is /dev/null. */
#ifndef PERISCOPE_KUBE_EXEC_H
#define PERISCOPE_KUBE_EXEC_H

#include <jansson.h>
#include <stddef.h>

#include "k8s/cred_cache.h"
#include "k8s/kubeconfig.h"

#define KUBE_EXEC_TIMEOUT_MS 30000
#define KUBE_EXEC_MAX_OUTPUT (1u << 20)

struct kube_exec_credential {
	char *token;           /* status.token, or NULL */
	char *cert_pem;        /* status.clientCertificateData, with key_pem, or NULL */
	char *key_pem;
	long long expiry;      /* status.expirationTimestamp, Unix seconds; 0 = none given */
};

void kube_exec_credential_clear(struct kube_exec_credential *c);

/* The plugin's stdout as the ExecCredential of api_version. 0, or -1 with err in
 * client-go's words. (A fuzz target reads through here.) */
int kube_exec_parse_output(const char *text, size_t len, const char *api_version,
			   struct kube_exec_credential *out, char *err, size_t errlen);

/* Runs the user's `exec` object (dir: the kubeconfig's directory, for a relative command
 * path; cluster: the kubeconfig's cluster object, sent when provideClusterInfo). */
int kube_exec_run(json_t *exec, const char *dir, json_t *cluster, struct kube_exec_credential *out,
		  char *err, size_t errlen);

/* Fills t's token (and client certificate) from the plugin, cached in cache under key
 * (NULL cache: run once, no renewal), and makes t renew through it. 0, or -1 with err. */
int kube_exec_target(struct cred_cache *cache, const char *key, json_t *exec, const char *dir,
		     json_t *cluster, struct kube_target *t, char *err, size_t errlen);

#endif
