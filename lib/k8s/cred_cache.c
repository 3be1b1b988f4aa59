#include "k8s/cred_cache_internal.h"

#include <stdlib.h>
#include <string.h>

struct cred_cache *cred_cache_new(const struct config *cfg)
{
	struct cred_cache *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return NULL;
	}
	c->cfg = cfg;
	return c;
}

void cred_cache_take_tally(struct cred_cache *cache, struct upstream_tally *into)
{
	if (!cache || !into)
		return;
	pthread_mutex_lock(&cache->lock);
	for (int s = 0; s < UPSTREAM_SERVICES; s++)
		for (int c = 0; c < UPSTREAM_CLASSES; c++)
			into->n[s][c] += cache->tally.n[s][c];
	memset(&cache->tally, 0, sizeof cache->tally);
	pthread_mutex_unlock(&cache->lock);
}

void cred_cache_free(struct cred_cache *cache)
{
	if (!cache)
		return;
	eks_entries_free(cache->entries);
	exec_entries_free(cache->exec_entries);
	server_creds_clear(&cache->creds);
	pthread_mutex_destroy(&cache->lock);
	free(cache);
}
