#include "agent/agent_state.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/encoding.h"
#include "net/http_client.h"

#define FILE_MAX (64 * 1024)

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v && *v ? v : fallback;
}

int agent_env_load(struct agent_env *e, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *api = getenv("PERISCOPE_APISERVER");

	memset(e, 0, sizeof *e);
	e->server_url = env_or("PERISCOPE_URL", NULL);
	e->cluster = env_or("PERISCOPE_CLUSTER", NULL);
	e->state_dir = env_or("PERISCOPE_AGENT_STATE", "/var/lib/periscope-agent");
	e->token_file = env_or("PERISCOPE_AGENT_TOKEN_FILE", "/etc/periscope-agent/token");
	e->server_ca = env_or("PERISCOPE_SERVER_CA", NULL);
	e->api_token_file = env_or("PERISCOPE_APISERVER_TOKEN_FILE",
				   "/var/run/secrets/periscope-agent/token");
	e->api_ca_file = env_or("PERISCOPE_APISERVER_CA",
				"/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
	e->ssh = env_or("PERISCOPE_SSH", "/usr/bin/ssh");
	if (api && *api)
		snprintf(e->apiserver, sizeof e->apiserver, "%s", api);
	else if (host && *host)
		/* An IPv6 service address is bracketed for ssh's -R. */
		snprintf(e->apiserver, sizeof e->apiserver, strchr(host, ':') ? "[%s]:%s" : "%s:%s",
			 host, port && *port ? port : "443");
	if (!e->server_url || !e->cluster || !e->apiserver[0]) {
		snprintf(err, errlen, "PERISCOPE_URL, PERISCOPE_CLUSTER and the apiserver "
			 "(PERISCOPE_APISERVER, or KUBERNETES_SERVICE_HOST in a pod) are required");
		return -1;
	}
	return 0;
}

/* The whole file (at most FILE_MAX), trailing blanks cut; malloc'd or NULL. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(FILE_MAX + 1);
	if (buf) {
		n = fread(buf, 1, FILE_MAX, f);
		buf[n] = '\0';
		while (n > 0 && strchr(" \t\r\n", buf[n - 1]))
			buf[--n] = '\0';
	}
	fclose(f);
	return buf;
}

static void path_in(const struct agent_env *e, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", e->state_dir, name);
}

int agent_state_load(const struct agent_env *e, struct agent_registration_state *out)
{
	char path[4096];
	json_t *j;
	int rc = -1;

	memset(out, 0, sizeof *out);
	path_in(e, "registration.json", path, sizeof path);
	if (access(path, F_OK) != 0)
		return errno == ENOENT ? 0 : -1;
	j = json_load_file(path, 0, NULL);
	{
		const char *cluster, *user, *tpath, *hash;
		if (j && json_unpack(j, "{s:s, s:i, s:s, s:s, s:s}", "cluster", &cluster,
				     "tunnelPort", &out->tunnel_port, "sshUser", &user, "tunnelPath",
				     &tpath, "tokenSha256", &hash) == 0) {
			snprintf(out->cluster, sizeof out->cluster, "%s", cluster);
			snprintf(out->ssh_user, sizeof out->ssh_user, "%s", user);
			snprintf(out->tunnel_path, sizeof out->tunnel_path, "%s", tpath);
			snprintf(out->token_sha256, sizeof out->token_sha256, "%s", hash);
			rc = 1;
		}
	}
	json_decref(j);
	return rc;
}

/* Hex SHA-256 of the DER of the first certificate in a PEM file: the pin periscope checks
 * cluster-info's CA against (k8s/agent_access.c). */
static int ca_pin(const char *file, char out[65])
{
	char *pem = read_file(file);
	gnutls_datum_t in, der = { 0 };
	gnutls_x509_crt_t crt = NULL;
	int rc = -1;

	if (!pem)
		return -1;
	in.data = (unsigned char *)pem;
	in.size = (unsigned int)strlen(pem);
	if (gnutls_x509_crt_init(&crt) >= 0 &&
	    gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_PEM) >= 0 &&
	    gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) >= 0)
		rc = sha256_hex(der.data, der.size, out);
	gnutls_free(der.data);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	free(pem);
	return rc;
}

/* A fresh Ed25519 key at state/id_ed25519 (ssh-keygen does the cryptography). */
static int new_key(const struct agent_env *e, char *err, size_t errlen)
{
	char key[4096], pub[4200], comment[128];
	pid_t pid;
	int status = 0;

	path_in(e, "id_ed25519", key, sizeof key);
	snprintf(pub, sizeof pub, "%s.pub", key);
	snprintf(comment, sizeof comment, "periscope-agent:%s", e->cluster);
	unlink(key);
	unlink(pub);
	pid = fork();
	if (pid == 0) {
		execlp("ssh-keygen", "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment,
		       "-f", key, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "ssh-keygen could not make a key in %s", e->state_dir);
		return -1;
	}
	return 0;
}

static int write_text(const char *path, const char *text)
{
	char tmp[4200];
	FILE *f;
	int fd, rc = -1;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -1;
	}
	rc = fputs(text, f) >= 0 ? 0 : -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0)
		rc = rename(tmp, path);
	if (rc != 0)
		unlink(tmp);
	return rc;
}

static int save(const struct agent_env *e, json_t *answer, const char *token_hash,
		struct agent_registration_state *st, char *err, size_t errlen)
{
	const char *cluster = NULL, *user = NULL, *tpath = NULL, *host_key = NULL;
	char path[4096], line[2048];
	char *text = NULL;
	int port = 0, rc = -1;

	if (json_unpack(answer, "{s:s, s:i, s:s, s:s, s:s}", "cluster", &cluster, "tunnelPort",
			&port, "sshUser", &user, "tunnelPath", &tpath, "hostKey", &host_key) != 0 ||
	    strchr(host_key, '\n')) {
		snprintf(err, errlen, "periscope's registration answer is not understood");
		return -1;
	}
	snprintf(line, sizeof line, "periscope-tunnel %s\n", host_key);
	path_in(e, "known_hosts", path, sizeof path);
	if (write_text(path, line) != 0)
		goto fail;
	json_object_del(answer, "hostKey");
	json_object_set_new(answer, "tokenSha256", json_string(token_hash));
	text = json_dumps(answer, JSON_INDENT(2));
	path_in(e, "registration.json", path, sizeof path);
	if (!text || write_text(path, text) != 0)
		goto fail;
	if (agent_state_load(e, st) != 1)
		goto fail;
	rc = 0;
fail:
	if (rc != 0)
		snprintf(err, errlen, "cannot write the registration into %s", e->state_dir);
	free(text);
	return rc;
}

int agent_state_register(const struct agent_env *e, struct agent_registration_state *st,
			 int *refused, char *err, size_t errlen)
{
	char *token = read_file(e->token_file), *api_token = NULL, *pub = NULL, *body = NULL;
	char token_hash[65], pin[65], url[2048], pubpath[4200];
	const char *headers[] = { "Content-Type: application/json", "Accept: application/json", NULL };
	struct http_response rs = { 0 };
	json_t *req = NULL, *answer = NULL;
	int loaded, rc = -1;

	*refused = 0;
	loaded = agent_state_load(e, st);
	if (!token || !*token) {
		if (loaded == 1)
			rc = 0;   /* registered, and no token to register again with */
		else
			snprintf(err, errlen, "not registered yet, and no registration token in %s",
				 e->token_file);
		goto done;
	}
	if (sha256_hex(token, strlen(token), token_hash) != 0)
		goto done;
	if (loaded == 1 && strcmp(st->token_sha256, token_hash) == 0 &&
	    strcmp(st->cluster, e->cluster) == 0) {
		rc = 0;   /* this token was used already: it registered us */
		goto done;
	}
	api_token = read_file(e->api_token_file);
	if (!api_token || !*api_token || ca_pin(e->api_ca_file, pin) != 0) {
		snprintf(err, errlen, "cannot read the apiserver token %s or CA %s",
			 e->api_token_file, e->api_ca_file);
		goto done;
	}
	if (new_key(e, err, errlen) != 0)
		goto done;
	path_in(e, "id_ed25519.pub", pubpath, sizeof pubpath);
	pub = read_file(pubpath);
	req = json_pack("{s:s, s:s, s:s, s:s, s:s}", "token", token, "cluster", e->cluster,
			"publicKey", pub ? pub : "", "apiToken", api_token, "caSha256", pin);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	snprintf(url, sizeof url, "%s/api/agents/register", e->server_url);
	if (!body)
		goto done;
	{
		struct http_request rq = { .method = "POST", .url = url, .headers = headers,
					   .body = body, .body_len = strlen(body),
					   .ca_file = e->server_ca, .timeout_ms = 20000 };
		if (http_do(&rq, &rs, err, errlen) != 0)
			goto done;
	}
	if (rs.status == 401) {
		*refused = 1;
		snprintf(err, errlen, "periscope refused the registration (the token is spent: "
			 "mint a new one for cluster %s; the server's audit log says why)", e->cluster);
		goto done;
	}
	answer = rs.status == 200 ? json_loadb(rs.body.data, rs.body.len, 0, NULL) : NULL;
	if (!answer) {
		snprintf(err, errlen, "periscope answered the registration with HTTP %ld", rs.status);
		goto done;
	}
	rc = save(e, answer, token_hash, st, err, errlen);
done:
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	if (api_token) {
		explicit_bzero(api_token, strlen(api_token));
		free(api_token);
	}
	if (body) {
		explicit_bzero(body, strlen(body));
		free(body);
	}
	json_decref(req);
	json_decref(answer);
	free(pub);
	http_response_free(&rs);
	return rc;
}
