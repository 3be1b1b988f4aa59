#include "k8s/cluster_check.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "aws/server_creds.h"
#include "k8s/cluster_access.h"
#include "k8s/cred_cache_internal.h"
#include "k8s/k8s_client.h"

#define CHECK_TIMEOUT_MS 10000

/* POST a SelfSubjectReview: the user the apiserver sees, or -1 with err. */
static int whoami(struct kube_target *t, char *user, size_t len, char *err, size_t errlen)
{
	struct k8s_client k = { .target = t, .timeout_ms = CHECK_TIMEOUT_MS };
	struct k8s_response r;
	json_t *body = json_pack("{s:s, s:s}", "apiVersion", "authentication.k8s.io/v1", "kind",
				 "SelfSubjectReview");
	const char *name;
	int rc = -1;

	if (!body || k8s_call(&k, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", body, &r,
			      err, errlen) != 0) {
		json_decref(body);
		return -1;
	}
	json_decref(body);
	name = json_string_value(json_object_get(json_object_get(json_object_get(r.body, "status"),
								 "userInfo"), "username"));
	if (r.status / 100 == 2 && name) {
		snprintf(user, len, "%s", name);
		rc = 0;
	} else {
		snprintf(err, errlen, "the apiserver refused the credential: HTTP %ld: %s", r.status,
			 k8s_status_text(&r));
	}
	k8s_response_clear(&r);
	return rc;
}

int cluster_check(const struct cluster_config *c, struct cred_cache *creds, char *out, size_t outlen)
{
	const char *backend = cluster_backend_name(c->backend), *source = NULL;
	struct kube_target t;
	char err[768], user[256], src[128] = "";
	int rc = -1;

	if (c->backend == BACKEND_EKS) {
		source = server_creds_source_present(&creds->cfg->eks, err, sizeof err);
		if (!source) {
			snprintf(out, outlen, "eks: server credentials: %s", err);
			return -1;
		}
		snprintf(src, sizeof src, "credential source %s, ", source);
	}
	if (cluster_kube_target(c, creds, &t, err, sizeof err) != 0) {
		snprintf(out, outlen, "%s: %s%s", backend, src, err);
		return -1;
	}
	if (whoami(&t, user, sizeof user, err, sizeof err) != 0)
		snprintf(out, outlen, "%s: %sapiserver %s%s with %s: %s", backend, src, t.server,
			 c->backend != BACKEND_EKS ? "" : c->endpoint[0] ? " (from config)" : " (from eks:DescribeCluster)",
			 t.auth_kind ? t.auth_kind : "no credential", err);
	else {
		snprintf(out, outlen, "%s: %sapiserver %s%s, %s, authenticated as %s", backend, src, t.server,
			 c->backend != BACKEND_EKS ? "" : c->endpoint[0] ? " (from config)" : " (from eks:DescribeCluster)",
			 t.auth_kind ? t.auth_kind : "no credential", user);
		rc = 0;
	}
	kube_target_clear(&t);
	return rc;
}
