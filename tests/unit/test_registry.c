/* Cap admission across processes: caps hold under concurrency, dead processes free their
 * slots, and a reused pid does not count as the old process. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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
	tcase_add_test(tc, a_recycled_pid_does_not_keep_a_session_alive);
	tcase_add_test(tc, concurrent_admissions_never_exceed_the_cap);
	tcase_add_test(tc, start_ticks_name_a_live_process);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(registry_suite)
