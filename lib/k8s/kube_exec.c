#include "k8s/kube_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "k8s/cred_cache_internal.h"

extern char **environ;

#define GROUP "client.authentication.k8s.io/"
#define MAX_ENV 256
#define MAX_ARGS 128
#define STDERR_KEEP 512

struct exec_entry {
	struct exec_entry *next;
	struct cred_cache *cache;
	char *key;
	json_t *exec;
	json_t *cluster;
	char *dir;
	struct kube_exec_credential cred;
	bool have;
};

static void wipe(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void kube_exec_credential_clear(struct kube_exec_credential *c)
{
	wipe(c->token);
	wipe(c->cert_pem);
	wipe(c->key_pem);
	memset(c, 0, sizeof *c);
}

void exec_entries_free(struct exec_entry *e)
{
	for (struct exec_entry *next; e; e = next) {
		next = e->next;
		kube_exec_credential_clear(&e->cred);
		json_decref(e->exec);
		json_decref(e->cluster);
		free(e->key);
		free(e->dir);
		free(e);
	}
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && *s ? s : NULL;
}

static char *dup_opt(const char *s)
{
	return s ? strdup(s) : NULL;
}

int kube_exec_parse_output(const char *text, size_t len, const char *api_version,
			   struct kube_exec_credential *out, char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc = json_loadb(text, len, 0, &je), *status;
	const char *v, *cert, *key, *exp;
	long long ns;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "decoding stdout: not a JSON object");
		goto done;
	}
	v = str(doc, "apiVersion");
	if (!v || strcmp(v, api_version) != 0) {
		snprintf(err, errlen, "exec plugin is configured to use API version %s, plugin returned "
				      "version %.100s", api_version, v ? v : "(none)");
		goto done;
	}
	if (!str(doc, "kind") || strcmp(str(doc, "kind"), "ExecCredential") != 0) {
		snprintf(err, errlen, "decoding stdout: kind is not ExecCredential");
		goto done;
	}
	status = json_object_get(doc, "status");
	if (!json_is_object(status)) {
		snprintf(err, errlen, "exec plugin didn't return a status field");
		goto done;
	}
	cert = str(status, "clientCertificateData");
	key = str(status, "clientKeyData");
	if (!str(status, "token") && !cert && !key) {
		snprintf(err, errlen, "exec plugin didn't return a token or cert/key pair");
		goto done;
	}
	if (!cert != !key) {
		snprintf(err, errlen, "exec plugin returned only certificate or key, not both");
		goto done;
	}
	exp = str(status, "expirationTimestamp");
	if (exp && parse_rfc3339_ns(exp, &ns) != 0) {
		snprintf(err, errlen, "decoding stdout: expirationTimestamp is not RFC 3339");
		goto done;
	}
	out->expiry = exp ? ns / 1000000000LL : 0;
	out->token = dup_opt(str(status, "token"));
	out->cert_pem = dup_opt(cert);
	out->key_pem = dup_opt(key);
	if ((str(status, "token") && !out->token) || (cert && (!out->cert_pem || !out->key_pem))) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	rc = 0;
done:
	if (rc != 0)
		kube_exec_credential_clear(out);
	/* The answer holds the credential: wipe the parsed copy's strings as it goes. */
	json_decref(doc);
	return rc;
}

/* A kubeconfig boolean: YAML's scalars arrive here as strings (kubeconfig_parse). */
static bool is_true(json_t *v)
{
	return json_is_true(v) || (json_is_string(v) && strcmp(json_string_value(v), "true") == 0);
}

/* KUBERNETES_EXEC_INFO: the ExecCredential with only its spec (exec.go
 * refreshCredsLocked: interactive, and the cluster when provideClusterInfo is set). */
static char *exec_info(const char *api_version, json_t *exec, json_t *cluster)
{
	json_t *spec = json_pack("{s:b}", "interactive", 0), *doc;
	char *text = NULL;

	if (spec && is_true(json_object_get(exec, "provideClusterInfo")) && json_is_object(cluster)) {
		json_t *c = json_object();
		const char *keys[] = { "server", "tls-server-name", "insecure-skip-tls-verify",
				       "certificate-authority-data", "proxy-url", "disable-compression" };
		json_t *ext = json_object_get(json_object_get(cluster, "extensions"), "client.authentication.k8s.io/exec");

		for (size_t i = 0; c && i < sizeof keys / sizeof keys[0]; i++) {
			json_t *v = json_object_get(cluster, keys[i]);

			if (!v)
				continue;
			/* The two booleans of the Cluster type go out as JSON booleans. */
			if (strcmp(keys[i], "insecure-skip-tls-verify") == 0 || strcmp(keys[i], "disable-compression") == 0)
				json_object_set_new(c, keys[i], json_boolean(is_true(v)));
			else
				json_object_set(c, keys[i], v);
		}
		if (c && ext)
			json_object_set(c, "config", ext);
		json_object_set_new(spec, "cluster", c);
	}
	doc = spec ? json_pack("{s:s, s:s, s:o}", "kind", "ExecCredential", "apiVersion", api_version, "spec", spec) : NULL;
	if (doc)
		text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return text;
}

/* Reads both pipes until they close or the deadline passes. */
static int collect(int out_fd, int err_fd, struct buf *out, char *errtext, size_t errcap, char *err,
		   size_t errlen)
{
	long long deadline = monotonic_ms() + KUBE_EXEC_TIMEOUT_MS;
	size_t elen = 0;
	int open_fds = 2;
	struct pollfd p[2] = { { .fd = out_fd, .events = POLLIN }, { .fd = err_fd, .events = POLLIN } };

	while (open_fds > 0) {
		long long left = deadline - monotonic_ms();
		char chunk[4096];
		int n;

		if (left <= 0) {
			snprintf(err, errlen, "exec plugin did not finish within %d s", KUBE_EXEC_TIMEOUT_MS / 1000);
			return -1;
		}
		n = poll(p, 2, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t r;

			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(p[i].fd, chunk, sizeof chunk);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				p[i].fd = -1;
				open_fds--;
				continue;
			}
			if (i == 0 && buf_append(out, chunk, (size_t)r) != 0) {
				snprintf(err, errlen, "exec plugin printed more than %u bytes", KUBE_EXEC_MAX_OUTPUT);
				return -1;
			}
			if (i == 1 && elen + 1 < errcap) {
				size_t take = (size_t)r < errcap - 1 - elen ? (size_t)r : errcap - 1 - elen;
				memcpy(errtext + elen, chunk, take);
				elen += take;
				errtext[elen] = '\0';
			}
		}
	}
	return 0;
}

/* The spec's argv and environment (environ + env + KUBERNETES_EXEC_INFO), as exec.go
 * builds them: cmd.Env = append(os.Environ(), config env...). */
static int build_argv_env(json_t *exec, const char *cmd, char *info, char **argv, char **envp,
			  char **owned, size_t *nowned, char *err, size_t errlen)
{
	size_t na = 0, ne = 0, i;
	json_t *v;

	argv[na++] = (char *)cmd;
	json_array_foreach(json_object_get(exec, "args"), i, v) {
		if (!json_is_string(v) || na + 1 >= MAX_ARGS) {
			snprintf(err, errlen, "exec plugin: args must be at most %d strings", MAX_ARGS - 2);
			return -1;
		}
		argv[na++] = (char *)json_string_value(v);
	}
	argv[na] = NULL;
	for (char **e = environ; *e && ne + 3 < MAX_ENV; e++)
		if (strncmp(*e, "KUBERNETES_EXEC_INFO=", 21) != 0)
			envp[ne++] = *e;
	json_array_foreach(json_object_get(exec, "env"), i, v) {
		const char *name = str(v, "name"), *value = json_string_value(json_object_get(v, "value"));
		char *kv;

		if (!name || !value || strchr(name, '=') || ne + 2 >= MAX_ENV) {
			snprintf(err, errlen, "exec plugin: env entries need a name and a value");
			return -1;
		}
		if (asprintf(&kv, "%s=%s", name, value) < 0)
			return -1;
		owned[(*nowned)++] = kv;
		envp[ne++] = kv;
	}
	envp[ne++] = info;
	envp[ne] = NULL;
	return 0;
}

int kube_exec_run(json_t *exec, const char *dir, json_t *cluster, struct kube_exec_credential *out,
		  char *err, size_t errlen)
{
	const char *api = str(exec, "apiVersion"), *cmd = str(exec, "command");
	const char *mode = str(exec, "interactiveMode");
	char *argv[MAX_ARGS], *envp[MAX_ENV], *owned[MAX_ENV], *info_json = NULL, *info = NULL;
	char *path = NULL, errtext[STDERR_KEEP] = "";
	size_t nowned = 0;
	int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 }, status = 0, rc = -1;
	pid_t pid = -1;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	bool fa_ready = false, attr_ready = false;
	sigset_t none, reset;
	struct buf stdout_buf;

	memset(out, 0, sizeof *out);
	buf_init(&stdout_buf, KUBE_EXEC_MAX_OUTPUT);
	if (!api || (strcmp(api, GROUP "v1") != 0 && strcmp(api, GROUP "v1beta1") != 0)) {
		snprintf(err, errlen, "exec plugin: invalid apiVersion \"%.100s\"", api ? api : "");
		goto done;
	}
	if (!cmd) {
		snprintf(err, errlen, "exec plugin: no command");
		goto done;
	}
	/* v1 makes interactiveMode required (clientcmd validation); nothing here has a terminal. */
	if (strcmp(api, GROUP "v1") == 0 && !mode) {
		snprintf(err, errlen, "exec plugin: interactiveMode must be specified for %s to use exec "
				      "authentication plugin", api);
		goto done;
	}
	if (mode && strcmp(mode, "Always") == 0) {
		snprintf(err, errlen, "exec plugin cannot support interactive mode: standard input is not a "
				      "terminal");
		goto done;
	}
	if (mode && strcmp(mode, "Never") != 0 && strcmp(mode, "IfAvailable") != 0 && strcmp(mode, "Always") != 0) {
		snprintf(err, errlen, "exec plugin: invalid interactiveMode \"%.40s\"", mode);
		goto done;
	}
	/* A command with a slash is a path, relative to the kubeconfig (clientcmd resolves it
	 * so); without one, it is looked up in PATH. */
	if (strchr(cmd, '/') && cmd[0] != '/' && dir) {
		if (asprintf(&path, "%s/%s", dir, cmd) < 0) {
			path = NULL;
			goto oom;
		}
	} else if (!(path = strdup(cmd))) {
		goto oom;
	}
	info_json = exec_info(api, exec, cluster);
	if (!info_json || asprintf(&info, "KUBERNETES_EXEC_INFO=%s", info_json) < 0) {
		info = NULL;
		goto oom;
	}
	if (build_argv_env(exec, path, info, argv, envp, owned, &nowned, err, errlen) != 0)
		goto done;
	if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
	    posix_spawn_file_actions_init(&fa) != 0) {
		snprintf(err, errlen, "exec plugin: %s", strerror(errno));
		goto done;
	}
	fa_ready = true;
	/* The plugin starts with the signals as a fresh process has them, not with the bridge's
	 * blocked SIGTERM or ignored SIGPIPE. */
	if (posix_spawnattr_init(&attr) != 0) {
		snprintf(err, errlen, "exec plugin: cannot set up its attributes");
		goto done;
	}
	attr_ready = true;
	sigemptyset(&none);
	sigemptyset(&reset);
	sigaddset(&reset, SIGPIPE);
	sigaddset(&reset, SIGINT);
	sigaddset(&reset, SIGTERM);
	sigaddset(&reset, SIGHUP);
	if (posix_spawnattr_setsigmask(&attr, &none) != 0 || posix_spawnattr_setsigdefault(&attr, &reset) != 0 ||
	    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2) != 0) {
		snprintf(err, errlen, "exec plugin: cannot set up its descriptors");
		goto done;
	}
	errno = strchr(path, '/') ? posix_spawn(&pid, path, &fa, &attr, argv, envp)
				  : posix_spawnp(&pid, path, &fa, &attr, argv, envp);
	if (errno != 0) {
		snprintf(err, errlen, "exec: executable %.200s failed: %s", cmd, strerror(errno));
		pid = -1;
		goto done;
	}
	close(out_pipe[1]);
	close(err_pipe[1]);
	out_pipe[1] = err_pipe[1] = -1;
	if (collect(out_pipe[0], err_pipe[0], &stdout_buf, errtext, sizeof errtext, err, errlen) != 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		pid = -1;
		goto done;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		errtext[strcspn(errtext, "\r\n")] = '\0';
		snprintf(err, errlen, "exec: executable %.200s failed with exit code %d%s%.200s", cmd,
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1, *errtext ? ": " : "", errtext);
		goto done;
	}
	rc = kube_exec_parse_output(stdout_buf.data ? stdout_buf.data : "", stdout_buf.len, api, out,
				    err, errlen);
	goto done;
oom:
	snprintf(err, errlen, "out of memory");
done:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	if (fa_ready)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_ready)
		posix_spawnattr_destroy(&attr);
	for (int i = 0; i < 2; i++) {
		if (out_pipe[i] >= 0)
			close(out_pipe[i]);
		if (err_pipe[i] >= 0)
			close(err_pipe[i]);
	}
	for (size_t i = 0; i < nowned; i++)
		wipe(owned[i]);
	if (stdout_buf.data)
		explicit_bzero(stdout_buf.data, stdout_buf.len);
	buf_free(&stdout_buf);
	free(info_json);
	free(info);
	free(path);
	return rc;
}

/* Copies the credential into the target: the token, and the client certificate and key
 * as in-memory files (the key never touches the disk). */
static int apply(const struct kube_exec_credential *c, struct kube_target *t)
{
	char *token = c->token ? strdup(c->token) : NULL;

	if (c->token && !token)
		return -1;
	wipe(t->token);
	t->token = token;
	t->token_expiry = c->expiry;
	if (c->cert_pem && kube_target_keep_client_cert(t, c->cert_pem, c->key_pem) != 0)
		return -1;
	return 0;
}

/* Under the lock: run the plugin unless the cached credential is still good (or force and
 * it is the one the caller was refused with). */
static int refresh_locked(struct exec_entry *e, const struct kube_target *t, bool force, char *err,
			  size_t errlen)
{
	struct kube_exec_credential fresh;
	bool expired = e->have && e->cred.expiry && (long long)time(NULL) >= e->cred.expiry;
	/* exec.go maybeRefreshCreds: a 401 runs the plugin again only if the credential refused
	 * is still the cached one (another thread may have rotated it already). */
	bool same = t && e->have && ((!t->token && !e->cred.token) ||
				     (t->token && e->cred.token && strcmp(t->token, e->cred.token) == 0));

	if (e->have && !expired && !(force && same))
		return 0;
	if (kube_exec_run(e->exec, e->dir, e->cluster, &fresh, err, errlen) != 0)
		return -1;
	kube_exec_credential_clear(&e->cred);
	e->cred = fresh;
	e->have = true;
	return 0;
}

static int renew(void *ud, struct kube_target *t, char *err, size_t errlen)
{
	struct exec_entry *e = ud;
	int rc;

	pthread_mutex_lock(&e->cache->lock);
	/* kube_target_fresh calls with force only after a 401 or near expiry. */
	rc = refresh_locked(e, t, true, err, errlen);
	if (rc == 0 && apply(&e->cred, t) != 0) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	pthread_mutex_unlock(&e->cache->lock);
	return rc;
}

static struct exec_entry *entry_for(struct cred_cache *cache, const char *key, json_t *exec,
				    const char *dir, json_t *cluster)
{
	struct exec_entry *e;

	for (e = cache->exec_entries; e; e = e->next)
		if (strcmp(e->key, key) == 0 && json_equal(e->exec, exec))
			return e;
	e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->cache = cache;
	e->key = strdup(key);
	e->exec = json_deep_copy(exec);
	e->cluster = cluster ? json_deep_copy(cluster) : NULL;
	e->dir = dir ? strdup(dir) : NULL;
	if (!e->key || !e->exec || (cluster && !e->cluster) || (dir && !e->dir)) {
		exec_entries_free(e);
		return NULL;
	}
	e->next = cache->exec_entries;
	cache->exec_entries = e;
	return e;
}

int kube_exec_target(struct cred_cache *cache, const char *key, json_t *exec, const char *dir,
		     json_t *cluster, struct kube_target *t, char *err, size_t errlen)
{
	struct exec_entry *e;
	int rc = -1;

	if (!cache) {
		struct kube_exec_credential c;

		if (kube_exec_run(exec, dir, cluster, &c, err, errlen) != 0)
			return -1;
		rc = apply(&c, t);
		kube_exec_credential_clear(&c);
		if (rc != 0)
			snprintf(err, errlen, "out of memory");
		return rc;
	}
	pthread_mutex_lock(&cache->lock);
	e = entry_for(cache, key, exec, dir, cluster);
	if (!e) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (refresh_locked(e, NULL, false, err, errlen) != 0)
		goto done;
	if (apply(&e->cred, t) != 0) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	t->source = (struct kube_token_source){ .renew = renew, .ud = e };
	rc = 0;
done:
	pthread_mutex_unlock(&cache->lock);
	return rc;
}
