#include "k8s/kubeconfig.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "core/encoding.h"
#include "k8s/kube_exec.h"

#define KUBECONFIG_MAX (1 << 20)
#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

void kube_target_clear(struct kube_target *t)
{
	if (t->ca_mem_used)
		memfile_close(&t->ca_mem);
	if (t->cert_mem_used) {
		memfile_close(&t->cert_mem);
		memfile_close(&t->key_mem);
	}
	free(t->cert_file);
	free(t->key_file);
	free(t->ca_file);
	free(t->server);
	free(t->connect_to);
	free(t->ca_pem);
	if (t->token) {
		explicit_bzero(t->token, strlen(t->token));
		free(t->token);
	}
	memset(t, 0, sizeof *t);
}

/* libcurl with GnuTLS reads trust anchors only from files: an in-memory one, so that
 * nothing of the cluster's is left on disk. */
int kube_target_keep_ca(struct kube_target *t)
{
	if (memfile_create(&t->ca_mem, "periscope-cluster-ca", t->ca_pem, strlen(t->ca_pem)) != 0)
		return -1;
	t->ca_mem_used = true;
	free(t->ca_file);
	t->ca_file = strdup(t->ca_mem.path);
	return t->ca_file ? 0 : -1;
}

int kube_target_keep_client_cert(struct kube_target *t, const char *cert_pem, const char *key_pem)
{
	struct memfile cert = MEMFILE_INIT, key = MEMFILE_INIT;
	char *cert_path = NULL, *key_path = NULL;

	if (memfile_create(&cert, "periscope-client-cert", cert_pem, strlen(cert_pem)) != 0 ||
	    memfile_create(&key, "periscope-client-key", key_pem, strlen(key_pem)) != 0 ||
	    !(cert_path = strdup(cert.path)) || !(key_path = strdup(key.path))) {
		memfile_close(&cert);
		memfile_close(&key);
		free(cert_path);
		return -1;
	}
	if (t->cert_mem_used) {
		memfile_close(&t->cert_mem);
		memfile_close(&t->key_mem);
	}
	free(t->cert_file);
	free(t->key_file);
	t->cert_mem = cert;
	t->key_mem = key;
	t->cert_mem_used = true;
	t->cert_file = cert_path;
	t->key_file = key_path;
	return 0;
}

int kube_target_fresh(struct kube_target *t, bool force, char *err, size_t errlen)
{
	if (!t->source.renew)
		return force ? -1 : 0;
	if (!force && (t->token_expiry == 0 ||
		       (long long)time(NULL) + t->source.renew_before_s < t->token_expiry))
		return 0;
	return t->source.renew(t->source.ud, t, err, errlen);
}

static char *read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	size_t n;

	if (!f)
		return NULL;
	data = malloc(max + 1);
	n = data ? fread(data, 1, max + 1, f) : 0;
	fclose(f);
	if (!data || n > max) {
		free(data);
		return NULL;
	}
	data[n] = '\0';
	if (len)
		*len = n;
	return data;
}

/* libyaml's document API → Jansson, so the lookups below read like the kubeconfig. */
static json_t *node_to_json(yaml_document_t *doc, yaml_node_t *node, int depth)
{
	json_t *out = NULL;

	if (!node || depth > 32)
		return NULL;
	switch (node->type) {
	case YAML_SCALAR_NODE:
		return json_stringn((const char *)node->data.scalar.value, node->data.scalar.length);
	case YAML_SEQUENCE_NODE:
		out = json_array();
		for (yaml_node_item_t *i = node->data.sequence.items.start;
		     out && i < node->data.sequence.items.top; i++) {
			json_t *v = node_to_json(doc, yaml_document_get_node(doc, *i), depth + 1);
			if (v)
				json_array_append_new(out, v);
		}
		return out;
	case YAML_MAPPING_NODE:
		out = json_object();
		for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
		     out && p < node->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			json_t *v = node_to_json(doc, yaml_document_get_node(doc, p->value), depth + 1);
			if (k && k->type == YAML_SCALAR_NODE && v)
				json_object_setn_new(out, (const char *)k->data.scalar.value,
						     k->data.scalar.length, v);
			else
				json_decref(v);
		}
		return out;
	default:
		return NULL;
	}
}

json_t *kubeconfig_parse(const char *text, size_t len, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	json_t *out = NULL;

	if (!yaml_parser_initialize(&parser))
		return NULL;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "not YAML: %s at line %zu", parser.problem ? parser.problem : "?",
			 parser.problem_mark.line + 1);
		yaml_parser_delete(&parser);
		return NULL;
	}
	out = node_to_json(&doc, yaml_document_get_root_node(&doc), 0);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (!out || !json_is_object(out)) {
		snprintf(err, errlen, "not a kubeconfig");
		json_decref(out);
		return NULL;
	}
	return out;
}

/* The entry named `name` of list `key` (clusters, users, contexts), its inner object. */
static json_t *named(json_t *cfg, const char *key, const char *inner, const char *name)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(cfg, key), i, e) {
		const char *n = json_string_value(json_object_get(e, "name"));
		if (n && name && strcmp(n, name) == 0)
			return json_object_get(e, inner);
	}
	return NULL;
}

static char *decode_b64_text(const char *b64)
{
	unsigned char *out = NULL;
	size_t len;

	if (!b64 || b64_decode(b64, strlen(b64), &out, &len) != 0)
		return NULL;
	return (char *)out;
}

/* A file named in the kubeconfig: relative names are relative to the kubeconfig's own
 * directory (clientcmd's ResolveLocalPaths). malloc'd, or NULL. */
static char *resolve(const char *dir, const char *file)
{
	char *out = NULL;

	if (file[0] == '/' || !dir)
		return strdup(file);
	return asprintf(&out, "%s/%s", dir, file) < 0 ? NULL : out;
}

static char *read_named(const char *dir, const char *file, size_t max)
{
	char *p = resolve(dir, file), *data = p ? read_file(p, max, NULL) : NULL;

	free(p);
	return data;
}

static char *ca_of_cluster(json_t *cluster, const char *dir)
{
	const char *data = json_string_value(json_object_get(cluster, "certificate-authority-data"));
	const char *file = json_string_value(json_object_get(cluster, "certificate-authority"));

	if (data)
		return decode_b64_text(data);
	if (file)
		return read_named(dir, file, KUBECONFIG_MAX);
	return NULL;
}

/* client-certificate(-data) and client-key(-data): both, or neither. The -data forms go to
 * in-memory files; file names are handed to libcurl as they are (resolved). */
static int client_cert_of(json_t *user, const char *dir, struct kube_target *out, char *err,
			  size_t errlen)
{
	const char *cd = json_string_value(json_object_get(user, "client-certificate-data"));
	const char *cf = json_string_value(json_object_get(user, "client-certificate"));
	const char *kd = json_string_value(json_object_get(user, "client-key-data"));
	const char *kf = json_string_value(json_object_get(user, "client-key"));
	char *cert = NULL, *key = NULL;
	int rc = -1;

	if (!cd && !cf && !kd && !kf)
		return 0;
	if ((!cd && !cf) || (!kd && !kf)) {
		snprintf(err, errlen, "a client certificate needs its key and a key its certificate "
				      "(client-certificate(-data) with client-key(-data))");
		return -1;
	}
	cert = cd ? decode_b64_text(cd) : read_named(dir, cf, KUBECONFIG_MAX);
	key = kd ? decode_b64_text(kd) : read_named(dir, kf, KUBECONFIG_MAX);
	if (!cert || !key) {
		snprintf(err, errlen, "cannot read the client certificate or key (%s)",
			 !cert ? (cd ? "client-certificate-data is not base64" : cf)
			       : (kd ? "client-key-data is not base64" : kf));
		goto done;
	}
	if (kube_target_keep_client_cert(out, cert, key) != 0) {
		snprintf(err, errlen, "cannot keep the client certificate in memory");
		goto done;
	}
	rc = 0;
done:
	free(cert);
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	return rc;
}

int kubeconfig_load(const char *path, const char *context, struct cred_cache *cache,
		    struct kube_target *out, char *err, size_t errlen)
{
	size_t len = 0;
	char *text = read_file(path, KUBECONFIG_MAX, &len), *dir = NULL, *key = NULL;
	json_t *cfg = NULL, *ctx, *cluster, *user, *exec;
	const char *ctx_name, *server, *token, *token_file;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (errlen)
		err[0] = '\0';
	if (!text) {
		snprintf(err, errlen, "cannot read kubeconfig %s: %s", path, strerror(errno));
		return -1;
	}
	dir = strdup(path);
	if (!dir)
		goto done;
	if (strrchr(dir, '/'))
		*strrchr(dir, '/') = '\0';
	else
		strcpy(dir, ".");
	cfg = kubeconfig_parse(text, len, err, errlen);
	if (!cfg)
		goto done;
	ctx_name = context && *context ? context : json_string_value(json_object_get(cfg, "current-context"));
	ctx = named(cfg, "contexts", "context", ctx_name);
	if (!ctx) {
		snprintf(err, errlen, "kubeconfig %s has no context \"%s\"", path, ctx_name ? ctx_name : "");
		goto done;
	}
	cluster = named(cfg, "clusters", "cluster", json_string_value(json_object_get(ctx, "cluster")));
	user = named(cfg, "users", "user", json_string_value(json_object_get(ctx, "user")));
	server = json_string_value(json_object_get(cluster, "server"));
	if (!cluster || !server) {
		snprintf(err, errlen, "kubeconfig %s: context \"%s\" names no cluster with a server", path,
			 ctx_name);
		goto done;
	}
	token = json_string_value(json_object_get(user, "token"));
	token_file = json_string_value(json_object_get(user, "tokenFile"));
	exec = json_object_get(user, "exec");
	out->server = strdup(server);
	out->ca_pem = ca_of_cluster(cluster, dir);
	if (!out->server)
		goto done;
	if (client_cert_of(user, dir, out, err, errlen) != 0)
		goto done;
	if (token) {
		out->token = strdup(token);
		out->auth_kind = "a bearer token";
	} else if (token_file) {
		out->auth_kind = "a token file";
		out->token = read_named(dir, token_file, 65536);
		if (!out->token) {
			snprintf(err, errlen, "kubeconfig %s: cannot read tokenFile %s", path, token_file);
			goto done;
		}
		out->token[strcspn(out->token, "\r\n")] = '\0';
	} else if (json_is_object(exec)) {
		char perr[512];

		if (asprintf(&key, "%s\n%s", path, ctx_name) < 0) {
			key = NULL;
			goto done;
		}
		out->auth_kind = "an exec credential plugin";
		if (kube_exec_target(cache, key, exec, dir, cluster, out, perr, sizeof perr) != 0) {
			snprintf(err, errlen, "kubeconfig %s, context \"%s\": %s", path, ctx_name, perr);
			goto done;
		}
	}
	if (!out->auth_kind && out->cert_file)
		out->auth_kind = "a client certificate";
	if (!out->token && !out->cert_file) {
		snprintf(err, errlen, "kubeconfig %s: user of context \"%s\" has no token, tokenFile, "
				      "client certificate or exec plugin", path, ctx_name);
		goto done;
	}
	if (out->ca_pem && kube_target_keep_ca(out) != 0) {
		snprintf(err, errlen, "cannot keep the cluster CA in memory");
		goto done;
	}
	rc = 0;
done:
	if (rc != 0) {
		if (!*err)
			snprintf(err, errlen, "out of memory");
		kube_target_clear(out);
	}
	json_decref(cfg);
	free(dir);
	free(key);
	if (text) {
		explicit_bzero(text, len);
		free(text);
	}
	return rc;
}

int kubeconfig_in_cluster(struct kube_target *out, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	char url[512];

	memset(out, 0, sizeof *out);
	if (!host || !port) {
		snprintf(err, errlen, "not running in a cluster: KUBERNETES_SERVICE_HOST is unset");
		return -1;
	}
	snprintf(url, sizeof url, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
	out->server = strdup(url);
	out->ca_pem = read_file(SA_DIR "/ca.crt", KUBECONFIG_MAX, NULL);
	out->ca_file = strdup(SA_DIR "/ca.crt");
	out->token = read_file(SA_DIR "/token", 65536, NULL);
	if (!out->server || !out->ca_pem || !out->ca_file || !out->token) {
		snprintf(err, errlen, "cannot read the service account in " SA_DIR);
		kube_target_clear(out);
		return -1;
	}
	out->token[strcspn(out->token, "\r\n")] = '\0';
	out->auth_kind = "the service account token";
	return 0;
}

char *kubeconfig_render_shell(const struct shell_kubeconfig *k)
{
	json_t *cluster = json_pack("{s:s, s:s}", "server", k->server, "certificate-authority",
				    k->ca_file), *doc;
	char *text = NULL;

	doc = json_pack(
		"{s:s, s:s, s:[{s:s, s:o}], s:[{s:s, s:{s:s, s:s, s:[s], s:{s:[s], s:[s]}}}],"
		" s:[{s:s, s:{s:s, s:s}}], s:s}",
		"apiVersion", "v1", "kind", "Config",
		"clusters", "name", "in-cluster", "cluster", cluster,
		"users", "name", "periscope-session", "user", "token", k->token, "as", k->as_user,
		"as-groups", k->as_group, "as-user-extra", "audit.periscope.io/session-id",
		k->session_id, "audit.periscope.io/actor", k->actor,
		"contexts", "name", k->session_id, "context", "cluster", "in-cluster", "user",
		"periscope-session",
		"current-context", k->session_id);
	if (doc)
		text = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	return text;
}
