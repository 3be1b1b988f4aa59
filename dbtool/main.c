/* periscope-db: the shared database's upkeep from the command line, on the database the
 * configuration names (database.url).
 *
 *   periscope-db [--config FILE] copy-from-sqlite PATH
 *       copies the SQLite database at PATH (a stopped installation's audit.dbPath) into the
 *       configured PostgreSQL database, table by table with ids and hashes as they are, then
 *       verifies the audit hash chain there (docs/deployment.md "From SQLite to PostgreSQL")
 *
 * Exit status: 0 done (the chain verifies), 1 copied but the chain does not verify, 2 usage
 * or configuration, 3 the copy failed (nothing was copied). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "store/audit_chain.h"
#include "store/db_copy.h"
#include "store/dbx_config.h"

enum { EXIT_DONE = 0, EXIT_ATTENTION = 1, EXIT_USAGE = 2, EXIT_DB = 3 };

static void usage(FILE *out)
{
	fputs("usage: periscope-db [--config FILE] COMMAND\n"
	      "  copy-from-sqlite PATH  copy the SQLite database at PATH into the configured\n"
	      "                         PostgreSQL database (database.url), then verify its\n"
	      "                         audit chain\n"
	      "  --config FILE          configuration (default: $PERISCOPE_CONFIG)\n",
	      out);
}

static void print_table(void *arg, const char *table, long long rows)
{
	(void)arg;
	printf("copied %s: %lld rows\n", table, rows);
	fflush(stdout);
}

static int copy_from_sqlite(const struct config *cfg, const char *path)
{
	struct audit_verify v;
	struct dbx *db = NULL;
	char err[1024];
	int status = EXIT_DB;

	if (cfg->database.engine != DATABASE_POSTGRES) {
		fprintf(stderr, "periscope-db: database.url must name the PostgreSQL database to "
			"copy into (it names SQLite now)\n");
		return EXIT_USAGE;
	}
	/* Connects and migrates the target to this periscope's schema first. */
	if (dbx_open_configured(cfg, &db, err, sizeof err) != 0 ||
	    db_copy_from_sqlite(path, db, print_table, NULL, err, sizeof err) != 0) {
		fprintf(stderr, "periscope-db: %s\n", err);
		goto done;
	}
	if (audit_chain_verify_dbx(db, &v) != 0) {
		fprintf(stderr, "periscope-db: copied, but cannot read the audit log back: %s\n",
			dbx_errmsg(db));
		goto done;
	}
	if (!v.intact) {
		fprintf(stderr, "periscope-db: copied, but the audit chain does not verify at row "
			"%lld: %s\n", v.broken_id, v.problem);
		status = EXIT_ATTENTION;
		goto done;
	}
	printf("audit chain intact: %lld chained rows (%lld before the chain), head %lld\n", v.rows,
	       v.unchained, v.head_id);
	status = EXIT_DONE;
done:
	dbx_close(db);
	return status;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL;
	struct config *cfg = NULL;
	char err[1024];
	int opt, status;

	while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'h': usage(stdout); return EXIT_DONE;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind + 2 != argc || strcmp(argv[optind], "copy-from-sqlite") != 0) {
		if (optind < argc && strcmp(argv[optind], "copy-from-sqlite") != 0)
			fprintf(stderr, "periscope-db: unknown command %s\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	cfg = config_load(config_path, err, sizeof err);
	if (!cfg) {
		fprintf(stderr, "periscope-db: %s\n", err);
		return EXIT_USAGE;
	}
	status = copy_from_sqlite(cfg, argv[optind + 1]);
	config_free(cfg);
	return status;
}
