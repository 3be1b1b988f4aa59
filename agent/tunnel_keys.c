#include "agent/tunnel_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/dbx.h"
#include "store/agent_registry.h"

struct writer {
	const struct config *cfg;
	FILE *f;
	size_t count;
};

static int write_key(void *ud, const char *cluster, const char *public_key, int port)
{
	struct writer *w = ud;
	const struct cluster_config *c = config_find_cluster(w->cfg, cluster);

	if (!c || c->backend != BACKEND_AGENT)
		return 0;
	if (fprintf(w->f, "restrict,port-forwarding,permitlisten=\"127.0.0.1:%d\" %s agent:%s\n",
		    port, public_key, cluster) < 0)
		return -1;
	w->count++;
	return 0;
}

int tunnel_keys_write(struct dbx *db, const struct config *cfg, const char *path, size_t *count,
		      char *err, size_t errlen)
{
	struct writer w = { .cfg = cfg };
	char tmp[4096];
	int fd = -1, rc = -1;

	*count = 0;
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
		snprintf(err, errlen, "the keys file's path is too long");
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(w.f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (agent_each_dbx(db, write_key, &w) != 0) {
		snprintf(err, errlen, "cannot read the agent registry: %s", dbx_errmsg(db));
		goto fail;
	}
	if (fclose(w.f) != 0) {
		w.f = NULL;
		snprintf(err, errlen, "cannot write %s", tmp);
		goto fail;
	}
	w.f = NULL;
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot rename %s: %s", tmp, strerror(errno));
		goto fail;
	}
	*count = w.count;
	rc = 0;
fail:
	if (w.f)
		fclose(w.f);
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	return rc;
}
