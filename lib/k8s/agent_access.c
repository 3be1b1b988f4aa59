#include "k8s/agent_access.h"

#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/encoding.h"
#include "k8s/cred_cache_internal.h"
#include "net/http_client.h"
#include "store/agent_registry.h"
#include "store/dbx.h"
#include "store/dbx_config.h"

#define CLUSTER_INFO_PATH "/api/v1/namespaces/kube-public/configmaps/cluster-info"

/* Hex SHA-256 of a PEM certificate's DER, as the agent pins it. 0 or -1. */
static int ca_hash(const char *pem, char out[2 * SHA256_LEN + 1])
{
	gnutls_datum_t in = { (unsigned char *)pem, (unsigned int)strlen(pem) }, der = { 0 };
	gnutls_x509_crt_t crt = NULL;
	int rc = -1;

	if (gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_PEM) < 0 ||
	    gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) < 0)
		goto fail;
	rc = sha256_hex(der.data, der.size, out);
fail:
	gnutls_free(der.data);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

/* The CA in cluster-info's kubeconfig (certificate-authority-data), PEM, malloc'd. */
static char *cluster_info_ca(const struct http_response *rs, char *err, size_t errlen)
{
	json_t *cm = NULL, *kc = NULL;
	const char *text, *data;
	unsigned char *pem = NULL;
	size_t pem_len;

	cm = json_loadb(rs->body.data, rs->body.len, 0, NULL);
	text = json_string_value(json_object_get(json_object_get(cm, "data"), "kubeconfig"));
	if (!text) {
		snprintf(err, errlen, "cluster-info has no data.kubeconfig");
		goto done;
	}
	kc = kubeconfig_parse(text, strlen(text), err, errlen);
	data = json_string_value(json_object_get(
		json_object_get(json_array_get(json_object_get(kc, "clusters"), 0), "cluster"),
		"certificate-authority-data"));
	if (!data || b64_decode(data, strlen(data), &pem, &pem_len) != 0) {
		snprintf(err, errlen, "cluster-info's kubeconfig has no certificate-authority-data");
		goto done;
	}
done:
	json_decref(kc);
	json_decref(cm);
	return (char *)pem;
}

/* Fetches cluster-info through the tunnel and returns its CA when it matches the pin. */
static char *discover_ca(const char *connect_to, const char *pin, char *err, size_t errlen)
{
	const char *headers[] = { "Accept: application/json", NULL };
	struct http_request rq = {
		.url = "https://" AGENT_APISERVER_NAME ":443" CLUSTER_INFO_PATH,
		.headers = headers, .connect_to = connect_to, .unverified_tls = true,
		.timeout_ms = 10000,
	};
	struct http_response rs = { 0 };
	char hash[2 * SHA256_LEN + 1];
	char *ca = NULL;

	if (http_do(&rq, &rs, err, errlen) != 0)
		goto fail;
	if (rs.status != 200) {
		snprintf(err, errlen, "cluster-info answered HTTP %ld", rs.status);
		goto fail;
	}
	ca = cluster_info_ca(&rs, err, errlen);
	if (!ca)
		goto fail;
	if (ca_hash(ca, hash) != 0 || strcmp(hash, pin) != 0) {
		snprintf(err, errlen, "the CA in cluster-info does not match the one the agent "
			 "registered (sha256 %s)", pin);
		free(ca);
		ca = NULL;
	}
fail:
	http_response_free(&rs);
	return ca;
}

int agent_kube_target(struct cred_cache *cache, const struct cluster_config *c,
		      struct kube_target *out, char *err, size_t errlen)
{
	struct agent_record rec;
	struct dbx *db = NULL;
	char *token = NULL, *pin = NULL, *ca = NULL;
	char connect_to[128];
	int found, rc = -1;

	if (!cache) {
		snprintf(err, errlen, "no credential cache for agent cluster %s", c->name);
		return -1;
	}
	if (dbx_open_configured(cache->cfg, &db, err, errlen) != 0)
		goto done;
	found = agent_lookup_dbx(db, c->name, &rec);
	if (found <= 0) {
		snprintf(err, errlen, found < 0 ? "cannot read the agent registry" :
			 "no agent is registered for cluster %s", c->name);
		rc = found < 0 ? -1 : AGENT_UNREACHABLE;
		goto done;
	}
	if (!rec.connected_since) {
		snprintf(err, errlen, "the agent of cluster %s is not connected", c->name);
		rc = AGENT_UNREACHABLE;
		goto done;
	}
	snprintf(connect_to, sizeof connect_to, AGENT_APISERVER_NAME ":443:127.0.0.1:%d",
		 rec.tunnel_port);
	if (agent_credentials_dbx(db, c->name, &token, &pin, &ca) != 1) {
		snprintf(err, errlen, "cannot read the agent's credentials");
		goto done;
	}
	if (!ca) {
		ca = discover_ca(connect_to, pin, err, errlen);
		if (!ca || agent_cache_ca_dbx(db, c->name, ca) != 0)
			goto done;
	}
	out->server = strdup("https://" AGENT_APISERVER_NAME ":443");
	out->connect_to = strdup(connect_to);
	out->ca_pem = ca;
	ca = NULL;
	out->token = token;
	token = NULL;
	out->auth_kind = "the agent's ServiceAccount token";
	if (!out->server || !out->connect_to || kube_target_keep_ca(out) != 0) {
		snprintf(err, errlen, "out of memory");
		kube_target_clear(out);
		goto done;
	}
	rc = 0;
done:
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	free(pin);
	free(ca);
	dbx_close(db);
	return rc;
}
