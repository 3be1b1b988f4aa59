#include "k8s/eks_access.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/eks_api.h"
#include "aws/eks_token.h"
#include "aws/server_creds.h"
#include "aws/sts.h"
#include "core/encoding.h"
#include "k8s/cred_cache_internal.h"

/* botocore refreshes temporary credentials 10 to 15 minutes before they expire
 * (credentials.py RefreshableCredentials _advisory_refresh_timeout /
 * _mandatory_refresh_timeout); a token presigned with credentials that expire sooner than
 * the token dies with them. */
#define CREDS_REFRESH_BEFORE_S (10 * 60)
#define TOKEN_RENEW_BEFORE_S 60

struct eks_entry {
	struct eks_entry *next;
	struct cred_cache *cache;
	const struct cluster_config *cluster;
	char endpoint[512];           /* "" until known */
	char *ca_pem;
	char *token;
	long long token_expiry;
};


static void wipe(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void eks_entries_free(struct eks_entry *e)
{
	for (struct eks_entry *next; e; e = next) {
		next = e->next;
		free(e->ca_pem);
		wipe(e->token);
		free(e);
	}
}

const char *eks_cluster_region(const struct cluster_config *c, char *buf, size_t len)
{
	const char *p = c->arn;

	if (c->region && *c->region)
		return c->region;
	/* arn:aws:eks:<region>:<account>:cluster/<name> */
	for (int i = 0; i < 3 && p; i++)
		p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL;
	if (!p || strcspn(p, ":") == 0 || strcspn(p, ":") >= len)
		return NULL;
	snprintf(buf, len, "%.*s", (int)strcspn(p, ":"), p);
	return buf;
}

static const char *ca_file_of(const struct config *cfg)
{
	return cfg->eks.ca_file[0] ? cfg->eks.ca_file : NULL;
}

/* Under the lock. */
static int ensure_creds(struct cred_cache *cache, const char *region, char *err, size_t errlen)
{
	long long now = (long long)time(NULL);

	if (cache->have_creds && (cache->creds.expires == 0 ||
				  now + CREDS_REFRESH_BEFORE_S < cache->creds.expires))
		return 0;
	server_creds_clear(&cache->creds);
	cache->have_creds = false;
	if (server_creds_fetch(&cache->cfg->eks, region, &cache->creds, err, errlen) != 0)
		return -1;
	cache->have_creds = true;
	return 0;
}

static struct eks_entry *entry_of(struct cred_cache *cache, const struct cluster_config *c)
{
	struct eks_entry *e;

	for (e = cache->entries; e; e = e->next)
		if (strcmp(e->cluster->name, c->name) == 0)
			return e;
	e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->cache = cache;
	e->cluster = c;
	e->next = cache->entries;
	cache->entries = e;
	return e;
}

static char *decode_ca(const char *b64)
{
	unsigned char *pem = NULL;
	size_t len = 0;

	if (b64_decode(b64, strlen(b64), &pem, &len) != 0)
		return NULL;
	return (char *)pem;
}

/* Under the lock: the endpoint and CA, from config or DescribeCluster (once). */
static int ensure_endpoint(struct eks_entry *e, const char *region, char *err, size_t errlen)
{
	const struct config *cfg = e->cache->cfg;
	struct eks_cluster_info info = { 0 };
	char endpoint[256];
	int rc = -1;

	if (e->endpoint[0])
		return 0;
	if (e->cluster->endpoint[0]) {
		e->ca_pem = decode_ca(e->cluster->ca_data);
		if (!e->ca_pem) {
			snprintf(err, errlen, "clusters[%s].certificateAuthorityData is not base64",
				 e->cluster->name);
			return -1;
		}
		snprintf(e->endpoint, sizeof e->endpoint, "%s", e->cluster->endpoint);
		return 0;
	}
	if (cfg->eks.eks_endpoint[0])
		snprintf(endpoint, sizeof endpoint, "%s", cfg->eks.eks_endpoint);
	else if (eks_default_endpoint(region, endpoint, sizeof endpoint) != 0) {
		snprintf(err, errlen, "no EKS endpoint for region \"%.64s\"", region);
		return -1;
	}
	if (eks_describe_cluster(endpoint, region, ca_file_of(cfg), &e->cache->creds.creds,
				 &e->cache->tally, e->cluster->name, &info, err, errlen) != 0)
		return -1;
	if (strlen(info.endpoint) >= sizeof e->endpoint) {
		snprintf(err, errlen, "eks:DescribeCluster: the endpoint is too long");
		goto fail;
	}
	snprintf(e->endpoint, sizeof e->endpoint, "%s", info.endpoint);
	e->ca_pem = decode_ca(info.ca_data);
	if (!e->ca_pem) {
		snprintf(err, errlen, "eks:DescribeCluster: the CA is not base64");
		goto fail;
	}
	rc = 0;
	goto done;
fail:
	free(e->ca_pem);
	e->ca_pem = NULL;
	e->endpoint[0] = '\0';
done:
	eks_cluster_info_clear(&info);
	return rc;
}

/* Under the lock: a token with at least a minute left. */
static int ensure_token(struct eks_entry *e, const char *region, char *err, size_t errlen)
{
	const struct config *cfg = e->cache->cfg;
	long long now = (long long)time(NULL), expiry;
	char sts[256];
	char *token = NULL;

	if (e->token && now + TOKEN_RENEW_BEFORE_S < e->token_expiry)
		return 0;
	if (cfg->eks.sts_endpoint[0])
		snprintf(sts, sizeof sts, "%s", cfg->eks.sts_endpoint);
	else if (sts_default_endpoint(region, sts, sizeof sts) != 0) {
		snprintf(err, errlen, "no STS endpoint for region \"%.64s\"", region);
		return -1;
	}
	if (eks_token_build(&e->cache->creds.creds, sts, region, e->cluster->name, (time_t)now,
			    &token, err, errlen) != 0)
		return -1;
	expiry = now + EKS_TOKEN_LIFETIME_SECONDS;
	if (e->cache->creds.expires && e->cache->creds.expires < expiry)
		expiry = e->cache->creds.expires;
	wipe(e->token);
	e->token = token;
	e->token_expiry = expiry;
	return 0;
}

/* Everything for one cluster, under the lock; copies the token out. */
static int refresh(struct eks_entry *e, char **token, long long *expiry, char *err, size_t errlen)
{
	char rbuf[64];
	const char *region = eks_cluster_region(e->cluster, rbuf, sizeof rbuf);
	int rc = -1;

	if (!region) {
		snprintf(err, errlen, "cluster %s has no region (clusters[].region or its arn)",
			 e->cluster->name);
		return -1;
	}
	pthread_mutex_lock(&e->cache->lock);
	if (ensure_creds(e->cache, region, err, errlen) != 0 ||
	    ensure_endpoint(e, region, err, errlen) != 0 ||
	    ensure_token(e, region, err, errlen) != 0)
		goto done;
	*token = strdup(e->token);
	*expiry = e->token_expiry;
	rc = *token ? 0 : -1;
done:
	pthread_mutex_unlock(&e->cache->lock);
	return rc;
}

static int renew(void *ud, struct kube_target *t, char *err, size_t errlen)
{
	struct eks_entry *e = ud;
	char *token = NULL;
	long long expiry = 0;

	/* Called near the token's expiry, or after a 401. A token refused long before its
	 * expiry means the credentials that signed it no longer count (expired early, revoked
	 * session): forget both, so that fresh credentials sign the next one. Only if it is
	 * still the cached token: another thread may have renewed it meanwhile. */
	pthread_mutex_lock(&e->cache->lock);
	if (e->token && t->token && strcmp(e->token, t->token) == 0) {
		if ((long long)time(NULL) + TOKEN_RENEW_BEFORE_S < e->token_expiry) {
			server_creds_clear(&e->cache->creds);
			e->cache->have_creds = false;
		}
		wipe(e->token);
		e->token = NULL;
	}
	pthread_mutex_unlock(&e->cache->lock);
	if (refresh(e, &token, &expiry, err, errlen) != 0)
		return -1;
	wipe(t->token);
	t->token = token;
	t->token_expiry = expiry;
	return 0;
}

int eks_kube_target(struct cred_cache *cache, const struct cluster_config *c,
		    struct kube_target *out, char *err, size_t errlen)
{
	struct eks_entry *e;
	char *token = NULL;
	long long expiry = 0;

	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&cache->lock);
	e = entry_of(cache, c);
	pthread_mutex_unlock(&cache->lock);
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (refresh(e, &token, &expiry, err, errlen) != 0)
		return -1;
	out->token = token;
	out->auth_kind = "an EKS token";
	out->token_expiry = expiry;
	out->source = (struct kube_token_source){ .renew = renew, .ud = e,
						  .renew_before_s = TOKEN_RENEW_BEFORE_S };
	pthread_mutex_lock(&cache->lock);
	out->server = strdup(e->endpoint);
	out->ca_pem = strdup(e->ca_pem);
	pthread_mutex_unlock(&cache->lock);
	if (!out->server || !out->ca_pem || kube_target_keep_ca(out) != 0) {
		snprintf(err, errlen, "cannot keep the cluster CA in memory");
		kube_target_clear(out);
		return -1;
	}
	return 0;
}
