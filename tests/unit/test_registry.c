/* Cap admission across processes: caps hold under concurrency, dead processes free their
 * slots, and a reused pid does not count as the old process. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/audit.h"
#include "store/db.h"
#include "store/shell_registry.h"
#include "unit.h"
#include "unit_db.h"

static char db_path[TEST_DB_PATH_MAX];

static sqlite3 *open_db(void)
{
	return test_db_open(db_path);
}

static void fresh_db(void)
{
	test_db_create(db_path);
}

static void remove_db(void)
{
	test_db_remove(db_path);
}

static pid_t sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

static void end(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static enum admit_result admit(sqlite3 *db, const char *id, const char *actor, const char *cluster,
			       pid_t pid, json_t **active)
{
	struct shell_slot slot = { .id = id, .kind = "cluster_shell", .actor = actor,
				   .cluster = cluster, .tier = "admin", .mode = "bash", .pid = pid };
	struct shell_caps caps = { .per_user = 2, .per_cluster = 3 };
	char err[256];

	return shell_registry_admit(db, &slot, &caps, active, err, sizeof err);
}

START_TEST(caps_per_user_and_per_cluster)
{
	sqlite3 *db;
	json_t *active = NULL;
	pid_t p = sleeper();

	fresh_db();
	db = open_db();
	ck_assert_int_eq(admit(db, "s1", "alice", "prod", p, NULL), ADMIT_OK);
	ck_assert_int_eq(admit(db, "s2", "alice", "lab", p, NULL), ADMIT_OK);
	ck_assert_int_eq(admit(db, "s3", "alice", "prod", p, &active), ADMIT_CAP_USER);
	ck_assert_int_eq(json_array_size(active), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(active, 0), "id")), "s1");
	json_decref(active);
	ck_assert_int_eq(admit(db, "s4", "bob", "prod", p, NULL), ADMIT_OK);
	ck_assert_int_eq(admit(db, "s5", "carol", "prod", p, NULL), ADMIT_OK);
	ck_assert_int_eq(admit(db, "s6", "dave", "prod", p, &active), ADMIT_CAP_CLUSTER);
	/* Dave sees only his own sessions, not the other users'. */
	ck_assert_int_eq(json_array_size(active), 0);
	json_decref(active);
	ck_assert_int_eq(shell_registry_release(db, "s4"), 0);
	ck_assert_int_eq(admit(db, "s6", "dave", "prod", p, NULL), ADMIT_OK);
	db_close(db);
	end(p);
	remove_db();
}
END_TEST

START_TEST(a_dead_process_frees_its_slot)
{
	sqlite3 *db;
	pid_t a = sleeper(), b = sleeper();
	json_t *reaped = NULL;

	fresh_db();
	db = open_db();
	ck_assert_int_eq(admit(db, "s1", "alice", "prod", a, NULL), ADMIT_OK);
	ck_assert_int_eq(admit(db, "s2", "alice", "prod", a, NULL), ADMIT_OK);
	ck_assert_int_eq(shell_registry_is_live(db, "s1"), 1);
	end(a);
	ck_assert_int_eq(shell_registry_is_live(db, "s1"), 0);
	ck_assert_int_eq(admit(db, "s3", "alice", "prod", b, NULL), ADMIT_OK);
	ck_assert_int_eq(shell_registry_is_live(db, "s1"), 0);
	ck_assert_int_eq(shell_registry_reap(db, &reaped), 0);
	json_decref(reaped);
	db_close(db);
	end(b);
	remove_db();
}
END_TEST

static int close_rows(sqlite3 *db, const char *session_id, char *reason, size_t len, json_t **extra);

/* How many registry rows match a WHERE clause. */
static int count_rows_where(sqlite3 *db, const char *where)
{
	char sql[256];
	sqlite3_stmt *st;
	int n = -1;

	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM shell_sessions WHERE %s", where);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Under the caps an open reads no other row's process (that made each open cost
 * O(sessions)): a dead row stays for the maintenance pass. At a cap it is reaped first,
 * with its close row, and the open admitted; the authorizer's check does the same. */
START_TEST(dead_rows_are_reaped_only_at_a_cap)
{
	sqlite3 *db;
	pid_t a = sleeper(), b = sleeper();
	json_t *active = NULL;
	struct shell_caps caps = { .per_user = 2, .per_cluster = 3 };
	char err[256];

	fresh_db();
	db = open_db();
	ck_assert_int_eq(admit(db, "s1", "alice", "prod", a, NULL), ADMIT_OK);
	end(a);
	ck_assert_int_eq(admit(db, "s2", "alice", "prod", b, NULL), ADMIT_OK);
	ck_assert_int_eq(count_rows_where(db, "id = 's1'"), 1);
	/* alice holds 2 rows, one dead: the check and the open reap it and let her in. */
	ck_assert_int_eq(shell_registry_check(db, "cluster_shell", "alice", "prod", &caps, &active,
					      err, sizeof err), ADMIT_OK);
	ck_assert_ptr_null(active);
	ck_assert_int_eq(count_rows_where(db, "id = 's1'"), 0);
	ck_assert_int_eq(close_rows(db, "s1", NULL, 0, NULL), 1);
	ck_assert_int_eq(admit(db, "s3", "alice", "prod", b, NULL), ADMIT_OK);
	/* Now both live: the third is refused, listing them. */
	ck_assert_int_eq(admit(db, "s4", "alice", "prod", b, &active), ADMIT_CAP_USER);
	ck_assert_int_eq(json_array_size(active), 2);
	json_decref(active);
	db_close(db);
	end(b);
	remove_db();
}
END_TEST

START_TEST(a_recycled_pid_does_not_keep_a_session_alive)
{
	sqlite3 *db;
	pid_t p = sleeper();
	json_t *reaped = NULL;

	fresh_db();
	db = open_db();
	ck_assert_int_eq(admit(db, "s1", "alice", "prod", p, NULL), ADMIT_OK);
	/* Same pid, other start time: what a reused pid looks like. */
	ck_assert_int_eq(sqlite3_exec(db, "UPDATE shell_sessions SET pid_start_ticks = pid_start_ticks - 1",
				      NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(shell_registry_reap(db, &reaped), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(reaped, 0), "id")), "s1");
	json_decref(reaped);
	db_close(db);
	end(p);
	remove_db();
}
END_TEST

START_TEST(concurrent_admissions_never_exceed_the_cap)
{
	enum { N = 20 };
	pid_t kids[N];
	int admitted = 0;
	sqlite3 *db;
	sqlite3_stmt *st;

	fresh_db();
	db = open_db();
	db_close(db);
	for (int i = 0; i < N; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			struct shell_slot slot = { .kind = "node_shell", .cluster = "prod", .pid = getpid() };
			struct shell_caps caps = { .per_user = 100, .per_cluster = 10 };
			char id[32], actor[32], err[256];
			sqlite3 *own = NULL;
			enum admit_result r;

			snprintf(id, sizeof id, "s%d", i);
			snprintf(actor, sizeof actor, "user%d", i);
			slot.id = id;
			slot.actor = actor;
			if (db_open(db_path, &own, err, sizeof err) != 0)
				_exit(3);
			r = shell_registry_admit(own, &slot, &caps, NULL, err, sizeof err);
			db_close(own);
			if (r == ADMIT_OK)
				pause(); /* hold the slot until the parent has counted */
			_exit(r == ADMIT_CAP_CLUSTER ? 1 : 2);
		}
	}
	/* Wait until every child has either taken a slot or been refused. */
	for (int settled = 0, tries = 0; settled < N && tries < 2000; tries++) {
		db = open_db();
		ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM shell_sessions", -1, &st, NULL), SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
		admitted = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
		db_close(db);
		settled = admitted;
		for (int i = 0; i < N; i++) {
			int status;
			if (kids[i] && waitpid(kids[i], &status, WNOHANG) == kids[i]) {
				ck_assert_int_eq(WEXITSTATUS(status), 1);
				kids[i] = 0;
			}
			if (!kids[i])
				settled++;
		}
		if (settled < N)
			usleep(5000);
	}
	ck_assert_int_eq(admitted, 10);
	for (int i = 0; i < N; i++)
		if (kids[i])
			end(kids[i]);
	remove_db();
}
END_TEST


/* The close rows of one session: how many, and the reason of the last. */
static int close_rows(sqlite3 *db, const char *session_id, char *reason, size_t len, json_t **extra)
{
	sqlite3_stmt *st;
	int n = 0;

	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT reason, verb, extra FROM audit_events WHERE"
					    " session_id = ?1 AND verb LIKE '%_close' ORDER BY id", -1,
					    &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		n++;
		if (reason)
			snprintf(reason, len, "%s %s", sqlite3_column_text(st, 1), sqlite3_column_text(st, 0));
		if (extra) {
			json_decref(*extra);
			*extra = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
		}
	}
	sqlite3_finalize(st);
	return n;
}

static void node_slot(sqlite3 *db, const char *id, pid_t pid)
{
	struct shell_slot slot = { .id = id, .kind = "node_shell", .actor = "alice",
				   .actor_email = "alice@example.com", .actor_groups_json = "[\"ops\"]",
				   .cluster = "prod", .target = "ip-10-0-1-5", .tier = "admin", .pid = pid };
	struct shell_caps caps = { .per_user = 5, .per_cluster = 5 };
	char err[256];

	ck_assert_int_eq(shell_registry_admit(db, &slot, &caps, NULL, err, sizeof err), ADMIT_OK);
}

static const struct audit_event *bridge_close(const char *session_id)
{
	static struct audit_event ev;
	static json_t *extra;

	json_decref(extra);
	extra = json_pack("{s:s}", "session_id", session_id);
	ev = (struct audit_event){ .verb = "ssm_session_close", .outcome = "success", .actor_sub = "alice",
				   .cluster = "prod", .reason = "exit", .extra = extra };
	return &ev;
}

START_TEST(a_killed_process_gets_one_lost_close_row)
{
	sqlite3 *db;
	pid_t p = sleeper();
	json_t *extra = NULL;
	char reason[64];
	long long started;
	sqlite3_stmt *st;

	fresh_db();
	db = open_db();
	node_slot(db, "n1", p);
	ck_assert_int_eq(shell_registry_set_detail(db, "n1", "{\"ssm_session_id\":\"alice-0abc\"}"), 0);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT started_at_ms FROM shell_sessions", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	started = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	ck_assert_int_eq(shell_registry_heartbeat(db, "n1", started + 12345, 17, 4242), 0);
	end(p);
	ck_assert_int_eq(shell_registry_reap(db, NULL), 1);
	ck_assert_int_eq(close_rows(db, "n1", reason, sizeof reason, &extra), 1);
	ck_assert_str_eq(reason, "ssm_session_close lost");
	ck_assert_int_eq(json_integer_value(json_object_get(extra, "duration_ms")), 12345);
	ck_assert_int_eq(json_integer_value(json_object_get(extra, "bytes_in")), 17);
	ck_assert_int_eq(json_integer_value(json_object_get(extra, "bytes_out")), 4242);
	ck_assert_str_eq(json_string_value(json_object_get(extra, "ssm_session_id")), "alice-0abc");
	ck_assert_str_eq(json_string_value(json_object_get(extra, "node")), "ip-10-0-1-5");
	ck_assert_str_eq(json_string_value(json_object_get(extra, "close_reason")), "lost");
	/* The slot is free, a second reap finds nothing, and a late close writes nothing. */
	ck_assert_int_eq(shell_registry_reap(db, NULL), 0);
	ck_assert_int_eq(shell_registry_close(db, "n1", bridge_close("n1")), 0);
	ck_assert_int_eq(close_rows(db, "n1", NULL, 0, NULL), 1);
	json_decref(extra);
	db_close(db);
	remove_db();
}
END_TEST

START_TEST(a_normal_close_is_the_only_close)
{
	sqlite3 *db;
	pid_t p = sleeper();
	char reason[64];

	fresh_db();
	db = open_db();
	node_slot(db, "n2", p);
	ck_assert_int_eq(shell_registry_close(db, "n2", bridge_close("n2")), 1);
	end(p);
	ck_assert_int_eq(shell_registry_reap(db, NULL), 0);
	ck_assert_int_eq(close_rows(db, "n2", reason, sizeof reason, NULL), 1);
	ck_assert_str_eq(reason, "ssm_session_close exit");
	db_close(db);
	remove_db();
}
END_TEST

START_TEST(a_row_from_another_boot_is_lost_once_its_heartbeat_is_stale)
{
	sqlite3 *db;
	pid_t p = sleeper();

	fresh_db();
	db = open_db();
	node_slot(db, "n3", p);
	node_slot(db, "n4", p);
	/* Both rows' process is alive here, but they claim another boot of the host: only the
	 * heartbeat can tell. */
	ck_assert_int_eq(sqlite3_exec(db, "UPDATE shell_sessions SET boot_id = 'another-boot'", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "UPDATE shell_sessions SET heartbeat_at_ms = heartbeat_at_ms - 31000"
				      " WHERE id = 'n3'", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(shell_registry_reap(db, NULL), 1);
	ck_assert_int_eq(close_rows(db, "n3", NULL, 0, NULL), 1);
	ck_assert_int_eq(close_rows(db, "n4", NULL, 0, NULL), 0);
	ck_assert_int_eq(shell_registry_is_live(db, "n4"), 1);
	db_close(db);
	end(p);
	remove_db();
}
END_TEST

START_TEST(start_ticks_name_a_live_process)
{
	unsigned long long a, b;

	ck_assert_int_eq(process_start_ticks(getpid(), &a), 0);
	ck_assert_int_eq(process_start_ticks(getpid(), &b), 0);
	ck_assert(a == b);
	ck_assert_int_eq(process_start_ticks(999999999, &a), -1);
}
END_TEST

static Suite *registry_suite(void)
{
	Suite *s = suite_create("registry");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, caps_per_user_and_per_cluster);
	tcase_add_test(tc, a_dead_process_frees_its_slot);
	tcase_add_test(tc, dead_rows_are_reaped_only_at_a_cap);
	tcase_add_test(tc, a_recycled_pid_does_not_keep_a_session_alive);
	tcase_add_test(tc, concurrent_admissions_never_exceed_the_cap);
	tcase_add_test(tc, start_ticks_name_a_live_process);
	tcase_add_test(tc, a_killed_process_gets_one_lost_close_row);
	tcase_add_test(tc, a_normal_close_is_the_only_close);
	tcase_add_test(tc, a_row_from_another_boot_is_lost_once_its_heartbeat_is_stale);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(registry_suite)
