/* Checks that need the whole configuration (required keys, the clusters list, the client
 * secret reference), and the defaults derived from other keys (provider name, post-logout
 * redirect). Runs after the file and the env overrides. */
#include "config/config_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "net/cidr.h"

/* Cluster names end up in URLs, pod labels and Secret names: a DNS label. */
#define CLUSTER_NAME_MAX 63

static int oom(struct cfg_loader *ld)
{
	cfg_fail_at(ld, NULL, 0, NULL, "out of memory");
	return -1;
}

/* "got nothing" for a key that was never given, `got ""` for one given empty. */
static const char *got_empty(struct cfg_loader *ld, const char *path)
{
	return cfg_find_origin(ld, path) ? "\"\"" : "nothing";
}

static int require_set(struct cfg_loader *ld, const char *value, const char *path,
		       const char *what)
{
	if (*value)
		return 0;
	cfg_fail_key(ld, path, "expected %s (required), got %s", what, got_empty(ld, path));
	return -1;
}

static bool is_env_name(const char *s, size_t len)
{
	if (!len || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

/* Drops trailing newlines: secret files are usually written with `echo`. */
static void trim_newlines(char *s, size_t *len)
{
	while (*len && (s[*len - 1] == '\n' || s[*len - 1] == '\r'))
		s[--*len] = '\0';
}

/* A secret (clientSecret, metrics.bearerToken, database.password) is a literal,
 * "${ENV_VAR}" or "file:/path" (also "file:///path"). The messages name the variable or the
 * file, never the secret; what names the secret's kind. */
int cfg_resolve_secret(struct cfg_loader *ld, const char *path, const char *what, char **field)
{
	char *ref = *field, *resolved = NULL;
	size_t len = strlen(ref);

	if (len > 3 && strncmp(ref, "${", 2) == 0 && ref[len - 1] == '}' &&
	    is_env_name(ref + 2, len - 3)) {
		char name[256];
		const char *value;

		snprintf(name, sizeof name, "%.*s", (int)(len - 3), ref + 2);
		value = getenv(name);
		if (!value) {
			cfg_fail_key(ld, path, "expected the environment variable %s to hold the "
				     "%s, but it is not set", name, what);
			return -1;
		}
		resolved = strdup(value);
		if (!resolved)
			return oom(ld);
	} else if (strncmp(ref, "file:", 5) == 0) {
		const char *file = ref + 5;
		char why[128];
		size_t n = 0;

		if (strncmp(file, "//", 2) == 0)
			file += 2;
		if (*file != '/') {
			cfg_fail_key(ld, path, "expected file:/absolute/path for a secret file");
			return -1;
		}
		if (cfg_read_file(file, CONFIG_MAX_SECRET_BYTES, &resolved, &n, why,
				  sizeof why) != 0) {
			cfg_fail_key(ld, path, "expected a readable secret file, cannot read %s: %s",
				     file, why);
			return -1;
		}
		if (memchr(resolved, '\0', n)) {
			explicit_bzero(resolved, n);
			free(resolved);
			cfg_fail_key(ld, path, "expected a text secret, the file %s holds a NUL byte",
				     file);
			return -1;
		}
		trim_newlines(resolved, &n);
	} else {
		return 0;
	}
	explicit_bzero(ref, len);
	free(ref);
	*field = resolved;
	return 0;
}

static bool host_is(const char *host, size_t hlen, const char *domain)
{
	size_t dlen = strlen(domain);

	if (hlen == dlen)
		return strncasecmp(host, domain, dlen) == 0;
	return hlen > dlen && host[hlen - dlen - 1] == '.' &&
	       strncasecmp(host + hlen - dlen, domain, dlen) == 0;
}

/* The sign-in button says "Sign in with <provider>"; the well-known IdPs are
 * recognisable from the issuer URL. */
static const char *guess_provider(const char *issuer)
{
	static const struct {
		const char *domain;
		const char *name;
	} known[] = {
		{ "auth0.com", "Auth0" },
		{ "okta.com", "Okta" },
		{ "oktapreview.com", "Okta" },
		{ "login.microsoftonline.com", "Microsoft Entra" },
		{ "accounts.google.com", "Google" },
	};
	const char *host = strstr(issuer, "://"), *path;
	size_t hlen;

	host = host ? host + 3 : issuer;
	hlen = strcspn(host, "/:?#");
	path = host + hlen;
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (host_is(host, hlen, known[i].domain))
			return known[i].name;
	if (strstr(path, "/realms/"))
		return "Keycloak";
	return "OIDC";
}

static int derive_defaults(struct cfg_loader *ld)
{
	struct config *c = ld->cfg;

	if (!*c->oidc.provider_name &&
	    cfg_replace_string(&c->oidc.provider_name, guess_provider(c->oidc.issuer)) != 0)
		return oom(ld);
	if (!*c->oidc.post_logout_redirect) {
		const char *url = c->server.public_url;
		size_t len = strlen(url);
		char *redirect;

		while (len && url[len - 1] == '/')
			len--;
		if (asprintf(&redirect, "%.*s/?signedOut=1", (int)len, url) < 0)
			return oom(ld);
		free(c->oidc.post_logout_redirect);
		c->oidc.post_logout_redirect = redirect;
	}
	return 0;
}

static bool is_cluster_name(const char *s)
{
	size_t len = strlen(s);

	if (!len || len > CLUSTER_NAME_MAX || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static int validate_cluster(struct cfg_loader *ld, size_t index)
{
	const struct cluster_config *c = &ld->cfg->clusters[index];
	char path[128], got[160];

	snprintf(path, sizeof path, "clusters[%zu].name", index);
	if (!*c->name) {
		cfg_fail_key(ld, path, "expected a cluster name (required), got %s",
			     got_empty(ld, path));
		return -1;
	}
	if (!is_cluster_name(c->name)) {
		cfg_quote(c->name, got, sizeof got);
		cfg_fail_key(ld, path, "expected a name of lowercase letters, digits and '-' "
			     "that starts and ends with a letter or digit (at most %d characters), "
			     "got %s", CLUSTER_NAME_MAX, got);
		return -1;
	}
	for (size_t j = 0; j < index; j++) {
		if (strcmp(ld->cfg->clusters[j].name, c->name) == 0) {
			cfg_fail_key(ld, path, "expected a unique name, got \"%s\" again "
				     "(already used by clusters[%zu])", c->name, j);
			return -1;
		}
	}
	if (c->backend == BACKEND_KUBECONFIG && !*c->kubeconfig_path) {
		snprintf(path, sizeof path, "clusters[%zu].kubeconfigPath", index);
		cfg_fail_key(ld, path, "expected the path of a kubeconfig file (required with "
			     "backend kubeconfig), got %s", got_empty(ld, path));
		return -1;
	}
	if (c->backend == BACKEND_EKS && (!*c->endpoint) != (!*c->ca_data)) {
		snprintf(path, sizeof path, "clusters[%zu].%s", index,
			 *c->endpoint ? "certificateAuthorityData" : "endpoint");
		cfg_fail_key(ld, path, "expected endpoint and certificateAuthorityData together "
			     "(or neither: then eks:DescribeCluster gives them), got only %s",
			     *c->endpoint ? "endpoint" : "certificateAuthorityData");
		return -1;
	}
	if (c->backend == BACKEND_EKS && *c->arn) {
		size_t alen = strlen(c->arn), nlen = strlen(c->name);

		if (alen < nlen + 9 || strncmp(c->arn + alen - nlen - 9, ":cluster/", 9) != 0 ||
		    strcmp(c->arn + alen - nlen, c->name) != 0) {
			snprintf(path, sizeof path, "clusters[%zu].arn", index);
			cfg_quote(c->arn, got, sizeof got);
			cfg_fail_key(ld, path, "expected an EKS cluster ARN ending in "
				     "\":cluster/%s\", got %s", c->name, got);
			return -1;
		}
	}
	return 0;
}

/* An empty per-cluster override means "use the global value", like an absent one. */
static void normalise_overrides(struct cluster_config *c)
{
	char **fields[] = { &c->node_shell.aws_role_arn, &c->node_shell.oidc_audience,
			    &c->node_shell.region, &c->cluster_shell.namespace_ };

	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		if (*fields[i] && !**fields[i]) {
			free(*fields[i]);
			*fields[i] = NULL;
		}
	}
}

static int validate_shells(struct cfg_loader *ld)
{
	const struct config *c = ld->cfg;

	if (c->cluster_shell.enabled) {
		if (require_set(ld, c->cluster_shell.image, "clusterShell.image",
				"an image reference when clusterShell.enabled is true") != 0 ||
		    require_set(ld, c->cluster_shell.namespace_, "clusterShell.namespace",
				"a namespace when clusterShell.enabled is true") != 0)
			return -1;
		if (!c->cluster_shell.tiers.count) {
			cfg_fail_key(ld, "clusterShell.tiers", "expected at least one tier when "
				     "clusterShell.enabled is true, got none");
			return -1;
		}
		if (c->authz.mode != AUTHZ_TIER)
			log_msg(LOG_WARN, "config", "clusterShell.enabled is true but "
				"auth.authorization.mode is %s: cluster shells are refused "
				"(E_CLUSTER_SHELL_REQUIRES_TIER) until the mode is tier",
				authz_mode_name(c->authz.mode));
	}
	if (c->node_shell.enabled) {
		if (!c->node_shell.tiers.count) {
			cfg_fail_key(ld, "nodeShell.tiers", "expected at least one tier when "
				     "nodeShell.enabled is true, got none");
			return -1;
		}
		if (c->authz.mode != AUTHZ_TIER)
			log_msg(LOG_WARN, "config", "nodeShell.enabled is true but "
				"auth.authorization.mode is %s: node shells are refused "
				"(E_NODE_SHELL_REQUIRES_TIER) until the mode is tier",
				authz_mode_name(c->authz.mode));
	}
	return 0;
}

/* Every metrics.allowedNetworks item is an address or address/prefix (net/cidr.h). */
static int validate_metrics(struct cfg_loader *ld)
{
	const struct string_list *nets = &ld->cfg->metrics.allowed_networks;
	struct cidr net;

	for (size_t i = 0; i < nets->count; i++) {
		if (cidr_parse(nets->items[i], &net) != 0) {
			cfg_fail_key(ld, "metrics.allowedNetworks", "expected a network such as "
				     "10.0.0.0/8 or fd00::/8, got \"%s\"", nets->items[i]);
			return -1;
		}
	}
	return 0;
}

/* recording.maxBytes: room for a header, a marker and some head and tail; recording.dir
 * absolute (the bridge and periscope.fcgi run from different directories). */
static int validate_recording(struct cfg_loader *ld)
{
	const struct recording_config *r = &ld->cfg->recording;

	if (r->max_bytes < RECORDING_MIN_BYTES) {
		cfg_fail_key(ld, "recording.maxBytes", "expected at least %d bytes, got %lld",
			     RECORDING_MIN_BYTES, r->max_bytes);
		return -1;
	}
	if (r->dir[0] && r->dir[0] != '/') {
		cfg_fail_key(ld, "recording.dir", "expected an absolute directory path, got \"%s\"",
			     r->dir);
		return -1;
	}
	return 0;
}

/* audit.refusalWindow: the rows of repeated refusals are at most two per actor, verb, code
 * and window (store/audit_refusal.h). Below 5 s that bound no longer holds a flood; above an
 * hour a summary row comes too late to alert on. */
#define REFUSAL_WINDOW_MIN_S 5
#define REFUSAL_WINDOW_MAX_S 3600

static int validate_audit(struct cfg_loader *ld)
{
	int w = ld->cfg->audit.refusal_window_s;

	if (w >= REFUSAL_WINDOW_MIN_S && w <= REFUSAL_WINDOW_MAX_S)
		return 0;
	cfg_fail_key(ld, "audit.refusalWindow", "expected %ds to %ds, got %ds", REFUSAL_WINDOW_MIN_S,
		     REFUSAL_WINDOW_MAX_S, w);
	return -1;
}

/* server.wsbridgeLog: where periscope-wsbridge writes its log lines (core/log.h). */
static int validate_wsbridge_log(struct cfg_loader *ld)
{
	const char *v = ld->cfg->server.wsbridge_log;

	if (strcmp(v, "syslog") == 0 || strcmp(v, "stderr") == 0 || v[0] == '/')
		return 0;
	cfg_fail_key(ld, "server.wsbridgeLog", "expected syslog, stderr or an absolute file path, "
		     "got \"%s\"", v);
	return -1;
}

/* eks.credentialSources: a non-empty list of known sources, each once, tried in order. */
static int validate_eks(struct cfg_loader *ld)
{
	struct eks_config *e = &ld->cfg->eks;
	char got[160];

	e->sources_count = 0;
	if (e->source_names.count == 0 || e->source_names.count > CRED_SOURCES_MAX) {
		cfg_fail_key(ld, "eks.credentialSources", "expected 1 to %d of podIdentity, irsa, "
			     "instanceProfile, got %zu entries", CRED_SOURCES_MAX, e->source_names.count);
		return -1;
	}
	for (size_t i = 0; i < e->source_names.count; i++) {
		enum aws_cred_source s;

		cfg_quote(e->source_names.items[i], got, sizeof got);
		if (aws_cred_source_parse(e->source_names.items[i], &s) != 0) {
			cfg_fail_key(ld, "eks.credentialSources", "expected podIdentity, irsa or "
				     "instanceProfile, got %s", got);
			return -1;
		}
		for (size_t j = 0; j < e->sources_count; j++) {
			if (e->sources[j] == s) {
				cfg_fail_key(ld, "eks.credentialSources", "expected each source once, "
					     "got %s twice", got);
				return -1;
			}
		}
		e->sources[e->sources_count++] = s;
	}
	return 0;
}

/* Agents' ports are loopback TCP ports from tunnelPortBase up; the host key names its
 * private half by dropping .pub (agent/tunnel_main.c). */
static int validate_agents(struct cfg_loader *ld)
{
	const struct agents_config *a = &ld->cfg->agents;
	size_t len = strlen(a->host_key_file);

	if (a->tunnel_port_base < 1024 || a->tunnel_port_base > 65535) {
		cfg_fail_key(ld, "agents.tunnelPortBase", "expected a port number from 1024 to 65535, "
			     "got %d", a->tunnel_port_base);
		return -1;
	}
	if (len < 5 || a->host_key_file[0] != '/' || strcmp(a->host_key_file + len - 4, ".pub") != 0) {
		cfg_fail_key(ld, "agents.hostKeyFile", "expected the absolute path of a public key "
			     "file ending in .pub (its private key beside it), got \"%s\"",
			     a->host_key_file);
		return -1;
	}
	if (a->tunnel_path[0] != '/') {
		cfg_fail_key(ld, "agents.tunnelPath", "expected a path starting with /, got \"%s\"",
			     a->tunnel_path);
		return -1;
	}
	return 0;
}

int cfg_validate(struct cfg_loader *ld)
{
	struct config *c = ld->cfg;

	if (require_set(ld, c->server.public_url, "server.publicURL",
			"an http:// or https:// URL") != 0 ||
	    require_set(ld, c->oidc.issuer, "auth.oidc.issuer",
			"the issuer URL of the OIDC provider") != 0 ||
	    require_set(ld, c->oidc.client_id, "auth.oidc.clientID",
			"the OIDC client ID") != 0 ||
	    require_set(ld, c->oidc.redirect_url, "auth.oidc.redirectURL",
			"the OIDC redirect URL") != 0)
		return -1;
	if (cfg_resolve_secret(ld, "auth.oidc.clientSecret", "client secret",
			       &c->oidc.client_secret) != 0 ||
	    cfg_resolve_secret(ld, "metrics.bearerToken", "bearer token",
			       &c->metrics.bearer_token) != 0 ||
	    validate_metrics(ld) != 0 || validate_wsbridge_log(ld) != 0 || validate_audit(ld) != 0 ||
	    derive_defaults(ld) != 0 ||
	    cfg_validate_database(ld) != 0 ||
	    validate_recording(ld) != 0 ||
	    validate_eks(ld) != 0 || validate_agents(ld) != 0)
		return -1;
	for (size_t i = 0; i < c->clusters_count; i++) {
		if (validate_cluster(ld, i) != 0)
			return -1;
		normalise_overrides(&c->clusters[i]);
	}
	return validate_shells(ld);
}
