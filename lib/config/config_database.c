/* database.url and database.password: which engine holds the shared state, and where
 * (docs/configuration.md "database"). Runs after the env overrides, so both keys may come
 * from the file or from PERISCOPE_DATABASE_*. */
#include "config/config_internal.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SQLITE_PREFIX "sqlite:"

static bool is_postgres_uri(const char *url)
{
	return strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
}

/* "sqlite:PATH": the same file as audit.dbPath, which the rest of the configuration (the
 * recordings' default directory) is relative to. Given both, they must agree. */
static int use_sqlite_path(struct cfg_loader *ld, const char *path)
{
	struct config *c = ld->cfg;

	if (path[0] != '/') {
		cfg_fail_key(ld, "database.url", "expected sqlite:/absolute/path, got \"%s%s\"",
			     SQLITE_PREFIX, path);
		return -1;
	}
	if (strcmp(path, c->audit.db_path) == 0)
		return 0;
	if (cfg_find_origin(ld, "audit.dbPath")) {
		cfg_fail_key(ld, "database.url", "names the SQLite file %s but audit.dbPath names %s: "
			     "give one of them", path, c->audit.db_path);
		return -1;
	}
	if (cfg_replace_string(&c->audit.db_path, path) != 0) {
		cfg_fail_at(ld, NULL, 0, NULL, "out of memory");
		return -1;
	}
	return 0;
}

/* Whether the text spells a password: "user:secret@" in a URI's authority, or a password
 * keyword anywhere. Checked before libpq parses it, because libpq's parse errors may quote
 * the text. */
static bool mentions_password(const char *url)
{
	const char *auth = strstr(url, "://");

	if (strstr(url, "password"))
		return true;
	if (auth) {
		size_t len = strcspn(auth + 3, "/?");
		const char *at = memchr(auth + 3, '@', len);

		return at && memchr(auth + 3, ':', (size_t)(at - (auth + 3)));
	}
	return false;
}

/* Whether libpq's parse of the text holds a password, however it was spelt: a URI's query
 * keywords are percent-decoded ("?p%61ssword=..."), which the text check cannot see. */
static bool parsed_password(const PQconninfoOption *opts)
{
	for (const PQconninfoOption *o = opts; o->keyword; o++)
		if ((strcmp(o->keyword, "password") == 0 || strcmp(o->keyword, "sslpassword") == 0) &&
		    o->val && o->val[0])
			return true;
	return false;
}

/* A postgres:// URI or a "key=value ..." connection string, checked by libpq's own parser.
 * The password goes in database.password (an env variable or a file), never in the URL,
 * which --check-config and error messages show. */
static int check_conninfo(struct cfg_loader *ld, const char *url)
{
	static const char no_password[] = "expected no password in the URL: give it in "
					  "database.password (\"${ENV_VAR}\" or \"file:/path\")";
	PQconninfoOption *opts = NULL;
	char *why = NULL;
	int rc = -1;

	if (mentions_password(url)) {
		cfg_fail_key(ld, "database.url", "%s", no_password);
		goto done;
	}
	opts = PQconninfoParse(url, &why);
	if (!opts) {
		/* libpq's message names the option at fault, not the values of the others. */
		size_t n = why ? strcspn(why, "\n") : 0;
		cfg_fail_key(ld, "database.url", "expected a PostgreSQL connection string: %.*s",
			     (int)n, why ? why : "out of memory");
		goto done;
	}
	if (parsed_password(opts)) {
		cfg_fail_key(ld, "database.url", "%s", no_password);
		goto done;
	}
	rc = 0;
done:
	PQconninfoFree(opts);
	PQfreemem(why);
	return rc;
}

/* The longest replica id: it is stored in every live terminal's row and logged. */
#define REPLICA_ID_MAX 64

static bool replica_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > REPLICA_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && !strchr("._:-", id[i]))
			return false;
	return true;
}

/* The default replica id: the host name, which tells replicas apart in logs and on a
 * Kubernetes node (a pod's host name is its own), and the first 8 characters of
 * /etc/machine-id when there is one, which stays the same across restarts and tells apart
 * two hosts that happen to share a name. */
static int default_replica_id(struct cfg_loader *ld)
{
	char host[REPLICA_ID_MAX + 1] = "", machine[64] = "", id[REPLICA_ID_MAX * 2];
	FILE *f = fopen("/etc/machine-id", "r");
	size_t n;

	if (f) {
		if (!fgets(machine, sizeof machine, f))
			machine[0] = '\0';
		fclose(f);
	}
	machine[strcspn(machine, "\n")] = '\0';
	if (gethostname(host, sizeof host - 1) != 0 || !host[0])
		snprintf(host, sizeof host, "periscope");
	/* Only the characters an id may hold: a host name is already made of them. */
	for (n = 0; host[n]; n++)
		if (!isalnum((unsigned char)host[n]) && !strchr("._-", host[n]))
			host[n] = '-';
	snprintf(id, sizeof id, "%.48s%s%.8s", host, strlen(machine) >= 8 ? "-" : "",
		 strlen(machine) >= 8 ? machine : "");
	if (cfg_replace_string(&ld->cfg->database.replica_id, id) != 0) {
		cfg_fail_at(ld, NULL, 0, NULL, "out of memory");
		return -1;
	}
	return 0;
}

/* The longest database.sweepInterval: a killed terminal's close row and its cluster objects
 * are due within a minute of its death (docs/audit-api.md), which leaves a pass at most
 * half of it, the other half for a slow apiserver. */
#define SWEEP_INTERVAL_MAX_S 30

static int check_sweep_interval(struct cfg_loader *ld)
{
	int s = ld->cfg->database.sweep_interval_s;

	if (s >= 1 && s <= SWEEP_INTERVAL_MAX_S)
		return 0;
	cfg_fail_key(ld, "database.sweepInterval", "expected 1s to %ds, got %ds", SWEEP_INTERVAL_MAX_S, s);
	return -1;
}

/* database.replicaId (docs/configuration.md "database"): given, it must be a short name;
 * absent, one is made from the host. */
static int check_replica_id(struct cfg_loader *ld)
{
	const char *id = ld->cfg->database.replica_id;

	if (!id[0])
		return default_replica_id(ld);
	if (replica_id_valid(id))
		return 0;
	cfg_fail_key(ld, "database.replicaId", "expected 1 to %d letters, digits, '.', '_', ':' or "
		     "'-', got \"%.80s\"", REPLICA_ID_MAX, id);
	return -1;
}

int cfg_validate_database(struct cfg_loader *ld)
{
	struct database_config *d = &ld->cfg->database;

	if (!d->url[0]) {
		d->engine = DATABASE_SQLITE;
	} else if (strncmp(d->url, SQLITE_PREFIX, strlen(SQLITE_PREFIX)) == 0) {
		d->engine = DATABASE_SQLITE;
		if (use_sqlite_path(ld, d->url + strlen(SQLITE_PREFIX)) != 0)
			return -1;
	} else if (is_postgres_uri(d->url) || strchr(d->url, '=')) {
		d->engine = DATABASE_POSTGRES;
		if (check_conninfo(ld, d->url) != 0)
			return -1;
	} else {
		cfg_fail_key(ld, "database.url", "expected sqlite:/path, postgres://... or a libpq "
			     "connection string (host=... dbname=...)");
		return -1;
	}
	if (d->engine == DATABASE_SQLITE && d->password[0]) {
		cfg_fail_key(ld, "database.password", "expected no password for a SQLite database");
		return -1;
	}
	if (check_replica_id(ld) != 0 || check_sweep_interval(ld) != 0)
		return -1;
	return cfg_resolve_secret(ld, "database.password", "database password", &d->password);
}
