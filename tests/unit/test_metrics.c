/* The metrics: the text exposition format (names, HELP/TYPE, escaping, cumulative
 * histogram buckets), the counters kept in SQLite (monotonic across process exits and
 * audit retention), the audit-row trigger, the scrape's whole body, and /metrics' network
 * check. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics/metrics_render.h"
#include "metrics/metrics_store.h"
#include "metrics/prom_text.h"
#include "net/cidr.h"
#include "store/audit.h"
#include "store/audit_refusal.h"
#include "store/audit_retention.h"
#include "core/timeutil.h"
#include "unit.h"
#include "unit_db.h"

static json_t *labels_of(const char *json)
{
	return unit_nonnull(json_loads(json, 0, NULL));
}

START_TEST(help_and_type_lines_escape_backslash_and_newline)
{
	struct buf b;

	buf_init(&b, 4096);
	ck_assert_int_eq(prom_family(&b, "periscope_x_total", "counter", "a \\ b\nc \"q\""), 0);
	ck_assert_str_eq(b.data, "# HELP periscope_x_total a \\\\ b\\nc \"q\"\n"
				 "# TYPE periscope_x_total counter\n");
	buf_free(&b);
}
END_TEST

START_TEST(label_values_escape_quote_backslash_and_newline)
{
	struct buf b;
	json_t *l = labels_of("{\"cluster\":\"a\\\"b\\\\c\\nd\",\"kind\":\"node_shell\"}");

	buf_init(&b, 4096);
	ck_assert_int_eq(prom_sample(&b, "periscope_y", l, 3), 0);
	ck_assert_str_eq(b.data, "periscope_y{cluster=\"a\\\"b\\\\c\\nd\",kind=\"node_shell\"} 3\n");
	json_decref(l);
	buf_free(&b);
}
END_TEST

START_TEST(bad_names_and_label_values_are_refused_without_a_half_line)
{
	struct buf b;
	json_t *dunder = labels_of("{\"__name__\":\"x\"}"), *dash = labels_of("{\"a-b\":\"x\"}");
	json_t *number = labels_of("{\"a\":1}");

	buf_init(&b, 4096);
	ck_assert(prom_metric_name_ok("periscope_a:b_total"));
	ck_assert(!prom_metric_name_ok("1periscope"));
	ck_assert(!prom_metric_name_ok("periscope-x"));
	ck_assert(!prom_metric_name_ok(""));
	ck_assert(prom_label_name_ok("kind"));
	ck_assert(!prom_label_name_ok("__kind"));
	ck_assert(!prom_label_name_ok("le:x"));
	ck_assert_int_eq(prom_family(&b, "bad name", "counter", "x"), -1);
	ck_assert_int_eq(prom_sample(&b, "ok_name", dunder, 1), -1);
	ck_assert_int_eq(prom_sample(&b, "ok_name", dash, 1), -1);
	ck_assert_int_eq(prom_sample(&b, "ok_name", number, 1), -1);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(prom_sample(&b, "no_labels", NULL, 0.25), 0);
	ck_assert_int_eq(prom_sample(&b, "big", NULL, 12345678901.0), 0);
	ck_assert_str_eq(b.data, "no_labels 0.25\nbig 12345678901\n");
	json_decref(dunder);
	json_decref(dash);
	json_decref(number);
	buf_free(&b);
}
END_TEST

START_TEST(histogram_buckets_are_cumulative_and_end_in_inf)
{
	static const double bounds[] = { 0.5, 1, 2.5 };
	static const long long buckets[] = { 1, 0, 2, 4 };
	struct buf b;
	json_t *l = labels_of("{\"kind\":\"cluster_shell\",\"stage\":\"hello\"}");

	buf_init(&b, 4096);
	ck_assert_int_eq(prom_histogram(&b, "periscope_h_seconds", l, bounds, 3, buckets, 9.5), 0);
	ck_assert_str_eq(b.data,
			 "periscope_h_seconds_bucket{kind=\"cluster_shell\",stage=\"hello\",le=\"0.5\"} 1\n"
			 "periscope_h_seconds_bucket{kind=\"cluster_shell\",stage=\"hello\",le=\"1\"} 1\n"
			 "periscope_h_seconds_bucket{kind=\"cluster_shell\",stage=\"hello\",le=\"2.5\"} 3\n"
			 "periscope_h_seconds_bucket{kind=\"cluster_shell\",stage=\"hello\",le=\"+Inf\"} 7\n"
			 "periscope_h_seconds_sum{kind=\"cluster_shell\",stage=\"hello\"} 9.5\n"
			 "periscope_h_seconds_count{kind=\"cluster_shell\",stage=\"hello\"} 7\n");
	json_decref(l);
	buf_free(&b);
}
END_TEST

START_TEST(every_catalogue_name_is_valid_and_counters_end_in_total)
{
	for (size_t i = 0; i < metric_defs_count; i++) {
		const struct metric_def *d = &metric_defs[i];
		size_t n = strlen(d->name);
		ck_assert_msg(prom_metric_name_ok(d->name), "%s", d->name);
		ck_assert_msg(strncmp(d->name, "periscope_", 10) == 0, "%s", d->name);
		ck_assert_msg((d->type == METRIC_COUNTER) == (n > 6 && strcmp(d->name + n - 6, "_total") == 0),
			      "%s: counters and only counters end in _total", d->name);
		ck_assert_msg(d->help && *d->help, "%s has no help", d->name);
	}
}
END_TEST

static long long counter(sqlite3 *db, const char *name, const char *labels)
{
	sqlite3_stmt *st = NULL;
	long long v = 0;

	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT value FROM metrics_counters"
					    " WHERE name = ?1 AND labels = ?2", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, labels, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void write_login(sqlite3 *db, const char *outcome, long long ts_ns)
{
	struct audit_event ev = { .ts_ns = ts_ns, .verb = "login", .outcome = outcome,
				  .actor_sub = "alice" };

	ck_assert_int_eq(audit_write(db, &ev, NULL), 0);
}

/* A child process that signs in n times and counts n upstream IdP answers, then either
 * exits or is killed: nothing it counted may be lost either way. */
static void child_counts(const char *path, int n, bool killed)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		sqlite3 *db = NULL;
		char err[256];
		struct upstream_tally t = { 0 };
		if (db_open(path, &db, err, sizeof err) != 0)
			_exit(2);
		for (int i = 0; i < n; i++) {
			struct audit_event ev = { .verb = "login", .outcome = "success", .actor_sub = "bob" };
			if (audit_write(db, &ev, NULL) != 0)
				_exit(3);
			upstream_tally_record(&t, UPSTREAM_IDP, 200);
		}
		upstream_tally_record(&t, UPSTREAM_IDP, -1);
		if (metrics_upstream_flush(db, &t) != 0)
			_exit(4);
		if (killed)
			raise(SIGKILL);
		_exit(0); /* without closing the database, as a crash would */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (killed)
		ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	else
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

START_TEST(counters_survive_process_exits_and_retention)
{
	char path[TEST_DB_PATH_MAX];
	struct retention_result r;
	sqlite3 *db;
	long long old = 1000000000LL; /* 1970: older than any retention */
	long long before, after;

	test_db_create(path);
	db = test_db_open(path);
	for (int i = 0; i < 5; i++)
		write_login(db, "success", old + i);
	write_login(db, "failure", old + 10); /* a failure's row alone is not a count */
	for (int i = 0; i < 3; i++) {
		/* Three failures in one minute: one row, three counts. */
		struct audit_refusal f = { .verb = "login", .outcome = "failure", .code = "state_mismatch" };
		ck_assert_int_ge(audit_refusal_record(db, &f, 1000), 0);
	}
	child_counts(path, 3, false);
	child_counts(path, 4, true);
	ck_assert_int_eq(counter(db, "periscope_signins_total", "{\"outcome\":\"success\"}"), 12);
	ck_assert_int_eq(counter(db, "periscope_signins_total", "{\"outcome\":\"failure\"}"), 3);
	ck_assert_int_eq(counter(db, METRIC_UPSTREAM, "{\"service\":\"idp\",\"class\":\"2xx\"}"), 7);
	ck_assert_int_eq(counter(db, METRIC_UPSTREAM, "{\"service\":\"idp\",\"class\":\"error\"}"), 2);

	before = counter(db, "periscope_signins_total", "{\"outcome\":\"success\"}");
	/* Retention by age takes the six 1970 rows; the counters do not move back. */
	ck_assert_int_eq(audit_retention_run(db, path, 30, 0, now_ns(), &r), 0);
	ck_assert_int_eq(r.deleted_by_age, 6);
	after = counter(db, "periscope_signins_total", "{\"outcome\":\"success\"}");
	ck_assert_int_eq(after, before);
	ck_assert_int_eq(counter(db, METRIC_RETENTION_DELETED, "{\"cause\":\"age\"}"), 6);
	db_close(db);
	test_db_remove(path);
}
END_TEST

START_TEST(the_audit_trigger_counts_opens_closes_and_lost_bridges)
{
	char path[TEST_DB_PATH_MAX];
	sqlite3 *db;
	json_t *own = json_pack("{s:s, s:I, s:I}", "session_id", "s1", "bytes_in", (json_int_t)10,
				"bytes_out", (json_int_t)2000);
	json_t *lost = json_pack("{s:s, s:I, s:I}", "session_id", "s2", "bytes_in", (json_int_t)5,
				 "bytes_out", (json_int_t)70);
	struct audit_event open = { .verb = "ssm_session_open", .outcome = "success", .cluster = "prod" };
	struct audit_event close = { .verb = "ssm_session_close", .outcome = "success", .cluster = "prod",
				     .reason = "client_closed", .extra = own };
	struct audit_event reaped = { .verb = "cluster_shell_close", .outcome = "failure",
				      .cluster = "dev", .reason = "lost", .extra = lost };

	test_db_create(path);
	db = test_db_open(path);
	ck_assert_int_eq(audit_write(db, &open, NULL), 0);
	ck_assert_int_eq(audit_write(db, &open, NULL), 0);
	ck_assert_int_eq(audit_write(db, &close, NULL), 0);
	ck_assert_int_eq(audit_write(db, &reaped, NULL), 0);
	ck_assert_int_eq(counter(db, "periscope_shell_opens_total",
				 "{\"kind\":\"node_shell\",\"cluster\":\"prod\"}"), 2);
	ck_assert_int_eq(counter(db, "periscope_shell_closes_total",
				 "{\"kind\":\"node_shell\",\"cluster\":\"prod\",\"reason\":\"client_closed\"}"), 1);
	ck_assert_int_eq(counter(db, "periscope_shell_closes_total",
				 "{\"kind\":\"cluster_shell\",\"cluster\":\"dev\",\"reason\":\"lost\"}"), 1);
	ck_assert_int_eq(counter(db, "periscope_bridges_lost_total",
				 "{\"kind\":\"cluster_shell\",\"cluster\":\"dev\"}"), 1);
	ck_assert_int_eq(counter(db, "periscope_bridges_lost_total",
				 "{\"kind\":\"node_shell\",\"cluster\":\"prod\"}"), 0);
	/* Bytes are the bridges' to count, at each heartbeat (wsbridge/session.c): a close
	 * row's own bytes would count them twice. */
	ck_assert_int_eq(counter(db, "periscope_shell_bytes_total",
				 "{\"kind\":\"node_shell\",\"direction\":\"out\"}"), 0);
	ck_assert_int_eq(counter(db, "periscope_shell_bytes_total",
				 "{\"kind\":\"cluster_shell\",\"direction\":\"in\"}"), 0);
	/* Only counters of the catalogue, and never backwards. */
	ck_assert_int_eq(metrics_counter_add(db, "periscope_no_such_total", "{}", 1), -1);
	ck_assert_int_eq(metrics_counter_add(db, "periscope_audit_rows", "{}", 1), -1);
	ck_assert_int_eq(metrics_counter_add(db, "periscope_signins_total", "{}", -1), -1);
	json_decref(own);
	json_decref(lost);
	db_close(db);
	test_db_remove(path);
}
END_TEST

START_TEST(a_scrape_renders_every_family_with_its_values)
{
	char path[TEST_DB_PATH_MAX];
	struct cluster_config clusters[1] = { { .name = "prod" } };
	struct config cfg = { .clusters = clusters, .clusters_count = 1 };
	struct metrics_extra extra = { .ready = 1 };
	char *refusal = metrics_labels("kind", "cluster_shell", "cluster",
				       metrics_cluster_label(&cfg, "no-such-cluster"), "code",
				       "E_NOT_FOUND", NULL);
	struct buf b;
	sqlite3 *db;

	cfg.audit.max_size_mb = 2;
	test_db_create(path);
	db = test_db_open(path);
	write_login(db, "success", 0);
	ck_assert_int_eq(metrics_counter_add(db, METRIC_SHELL_REFUSALS, refusal, 2), 0);
	ck_assert_int_eq(metrics_observe_ms(db, METRIC_OPEN_SECONDS,
					    "{\"kind\":\"node_shell\",\"stage\":\"hello\"}", 300), 0);
	ck_assert_int_eq(metrics_observe_ms(db, METRIC_OPEN_SECONDS,
					    "{\"kind\":\"node_shell\",\"stage\":\"hello\"}", 7000), 0);
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(metrics_render(db, &cfg, &extra, &b), 0);
	for (size_t i = 0; i < metric_defs_count; i++) {
		char line[256];
		snprintf(line, sizeof line, "# TYPE %s %s\n", metric_defs[i].name,
			 metric_type_name(metric_defs[i].type));
		ck_assert_msg(strstr(b.data, line), "missing %s", line);
	}
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_build_info{version=\"" PACKAGE_VERSION "\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_sessions_open{kind=\"cluster_shell\",cluster=\"prod\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_sessions_open{kind=\"node_shell\",cluster=\"prod\"} 0\n"));
	/* The first lost bridge must be an increase: its series exists, at 0, before it. */
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_bridges_lost_total{kind=\"cluster_shell\",cluster=\"prod\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_shell_opens_total{kind=\"node_shell\",cluster=\"prod\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_signins_total{outcome=\"success\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_shell_refusals_total{kind=\"cluster_shell\",cluster=\"\",code=\"E_NOT_FOUND\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_shell_open_seconds_bucket{kind=\"node_shell\",stage=\"hello\",le=\"0.25\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_shell_open_seconds_bucket{kind=\"node_shell\",stage=\"hello\",le=\"0.5\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_shell_open_seconds_bucket{kind=\"node_shell\",stage=\"hello\",le=\"5\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_shell_open_seconds_bucket{kind=\"node_shell\",stage=\"hello\",le=\"10\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_shell_open_seconds_bucket{kind=\"node_shell\",stage=\"hello\",le=\"+Inf\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_shell_open_seconds_sum{kind=\"node_shell\",stage=\"hello\"} 7.3\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_shell_open_seconds_count{kind=\"node_shell\",stage=\"hello\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_audit_rows 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_audit_budget_bytes 2097152\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "\nperiscope_ready 1\n"));
	buf_free(&b);
	free(refusal);
	db_close(db);
	test_db_remove(path);
}
END_TEST

START_TEST(networks_match_v4_v6_and_mapped_addresses)
{
	struct cidr n;
	char *items[] = { "10.1.0.0/16", "fd00::/8" };
	struct string_list list = { items, 2 };

	ck_assert_int_eq(cidr_parse("127.0.0.0/8", &n), 0);
	ck_assert(cidr_contains(&n, "127.3.4.5"));
	ck_assert(cidr_contains(&n, "::ffff:127.0.0.1"));
	ck_assert(!cidr_contains(&n, "128.0.0.1"));
	ck_assert(!cidr_contains(&n, "::1"));
	ck_assert(!cidr_contains(&n, NULL));
	ck_assert(!cidr_contains(&n, "not an address"));
	ck_assert_int_eq(cidr_parse("192.168.1.7", &n), 0);
	ck_assert(cidr_contains(&n, "192.168.1.7"));
	ck_assert(!cidr_contains(&n, "192.168.1.8"));
	ck_assert_int_eq(cidr_parse("10.0.0.0/12", &n), 0);
	ck_assert(cidr_contains(&n, "10.15.255.255"));
	ck_assert(!cidr_contains(&n, "10.16.0.0"));
	ck_assert_int_eq(cidr_parse("10.0.0.0/33", &n), -1);
	ck_assert_int_eq(cidr_parse("10.0.0.0/", &n), -1);
	ck_assert_int_eq(cidr_parse("10.0.0.0/-1", &n), -1);
	ck_assert_int_eq(cidr_parse("example.com", &n), -1);
	ck_assert_int_eq(cidr_parse("::ffff:10.0.0.0/104", &n), 0);
	ck_assert(cidr_contains(&n, "10.200.0.1"));
	ck_assert(cidr_contains(&n, "::ffff:10.200.0.1"));
	ck_assert(!cidr_contains(&n, "11.0.0.1"));
	ck_assert_int_eq(cidr_parse("::/0", &n), 0);
	ck_assert(cidr_contains(&n, "2001:db8::1"));
	ck_assert(cidr_list_contains(&list, "10.1.200.3"));
	ck_assert(cidr_list_contains(&list, "fd12::5"));
	ck_assert(!cidr_list_contains(&list, "10.2.0.1"));
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, help_and_type_lines_escape_backslash_and_newline);
	tcase_add_test(tc, label_values_escape_quote_backslash_and_newline);
	tcase_add_test(tc, bad_names_and_label_values_are_refused_without_a_half_line);
	tcase_add_test(tc, histogram_buckets_are_cumulative_and_end_in_inf);
	tcase_add_test(tc, every_catalogue_name_is_valid_and_counters_end_in_total);
	tcase_add_test(tc, counters_survive_process_exits_and_retention);
	tcase_add_test(tc, the_audit_trigger_counts_opens_closes_and_lost_bridges);
	tcase_add_test(tc, a_scrape_renders_every_family_with_its_values);
	tcase_add_test(tc, networks_match_v4_v6_and_mapped_addresses);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(metrics_suite)
