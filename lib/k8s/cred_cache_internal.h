/* The inside of struct cred_cache, for the modules that keep entries in it. */
#ifndef PERISCOPE_CRED_CACHE_INTERNAL_H
#define PERISCOPE_CRED_CACHE_INTERNAL_H

#include "metrics/upstream_tally.h"
#include <pthread.h>
#include <stdbool.h>

#include "aws/server_creds.h"
#include "k8s/cred_cache.h"

struct eks_entry;
struct exec_entry;

struct cred_cache {
	pthread_mutex_t lock;
	const struct config *cfg;
	struct server_creds creds;      /* the server's own AWS identity */
	bool have_creds;
	struct eks_entry *entries;      /* per eks cluster: endpoint, CA, token */
	struct exec_entry *exec_entries; /* per kubeconfig user with an exec plugin */
	struct upstream_tally tally;    /* eks calls made under the lock (cred_cache_take_tally) */
};

void eks_entries_free(struct eks_entry *e);
void exec_entries_free(struct exec_entry *e);

#endif
