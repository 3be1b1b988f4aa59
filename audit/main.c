/* periscope-audit: the audit log's upkeep from the command line, on the database the
 * configuration names (audit.dbPath).
 *
 *   periscope-audit [--config FILE] verify      checks the hash chain (store/audit_chain.h)
 *                                               and names the first broken row
 *   periscope-audit [--config FILE] retention   one retention pass now, as periscope.fcgi's
 *                                               maintenance thread runs it every
 *                                               audit.vacuumInterval
 *
 * Exit status: 0 done (the chain is intact), 1 the chain is broken or the audit budget is
 * reached (said on stderr too), 2 usage or configuration, 3 the database failed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/audit_chain.h"
#include "store/audit_retention.h"
#include "store/db.h"
#include "store/dbx_config.h"

enum { EXIT_DONE = 0, EXIT_ATTENTION = 1, EXIT_USAGE = 2, EXIT_DB = 3 };

static void usage(FILE *out)
{
	fputs("usage: periscope-audit [--config FILE] COMMAND\n"
	      "  verify            check the audit log's hash chain; name the first broken row\n"
	      "  retention         run one retention pass now (age, then the audit budget)\n"
	      "  --config FILE     configuration (default: $PERISCOPE_CONFIG)\n",
	      out);
}

static void print_json(json_t *o)
{
	if (o && json_dumpf(o, stdout, JSON_COMPACT) == 0)
		fputc('\n', stdout);
	json_decref(o);
}

static int cmd_verify(struct dbx *db)
{
	struct audit_verify v;

	if (audit_chain_verify_dbx(db, &v) != 0) {
		fprintf(stderr, "periscope-audit: cannot read the audit log: %s\n", dbx_errmsg(db));
		return EXIT_DB;
	}
	print_json(audit_verify_json(&v));
	if (v.intact)
		return EXIT_DONE;
	fprintf(stderr, "periscope-audit: the audit chain is broken at row %lld: %s\n", v.broken_id,
		v.problem);
	return EXIT_ATTENTION;
}

static int cmd_retention(const struct config *cfg, struct dbx *db)
{
	struct retention_result r;
	if (audit_retention_run_dbx(db, cfg->audit.db_path, cfg->audit.retention_days,
				    cfg->audit.max_size_mb, now_ns(), &r) != 0) {
		fprintf(stderr, "periscope-audit: retention failed: %s\n", dbx_errmsg(db));
		return EXIT_DB;
	}
	print_json(json_pack("{s:I, s:I, s:I, s:I, s:b}", "deletedByAge",
			     (json_int_t)r.deleted_by_age, "deletedBySize",
			     (json_int_t)r.deleted_by_size, "auditBytes",
			     (json_int_t)r.audit_bytes_after, "budgetBytes",
			     (json_int_t)r.budget_bytes, "budgetReached", r.budget_reached));
	if (!r.budget_reached)
		return EXIT_DONE;
	log_json(LOG_ERROR, "audit",
		 "audit budget reached: raise audit.maxSizeMB or lower audit.retentionDays",
		 json_pack("{s:I, s:I, s:i}", "audit_bytes", (json_int_t)r.audit_bytes_after,
			   "budget_bytes", (json_int_t)r.budget_bytes, "retention_days",
			   cfg->audit.retention_days));
	return EXIT_ATTENTION;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *command;
	struct config *cfg = NULL;
	struct dbx *db = NULL;
	char err[1024];
	int opt, status = EXIT_USAGE;

	while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'h': usage(stdout); return EXIT_DONE;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	command = argv[optind];
	if (strcmp(command, "retention") != 0 && strcmp(command, "verify") != 0) {
		fprintf(stderr, "periscope-audit: unknown command %s\n", command);
		usage(stderr);
		return EXIT_USAGE;
	}
	cfg = config_load(config_path, err, sizeof err);
	if (!cfg) {
		fprintf(stderr, "periscope-audit: %s\n", err);
		return EXIT_USAGE;
	}
	if (dbx_open_configured(cfg, &db, err, sizeof err) != 0) {
		fprintf(stderr, "periscope-audit: %s\n", err);
		status = EXIT_DB;
		goto done;
	}
	status = strcmp(command, "verify") == 0 ? cmd_verify(db) : cmd_retention(cfg, db);
done:
	dbx_close(db);
	config_free(cfg);
	return status;
}
