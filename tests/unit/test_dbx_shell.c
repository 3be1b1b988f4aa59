/* The live-session side on both engines (store/shell_registry.h, shell_control.h,
 * recording_sweep.h), as several replicas sharing one database see it: each test runs on
 * SQLite (_i == 0) and on a real PostgreSQL 15 (_i == 1, tests/unit/unit_pg.h); a replica
 * is a connection of its own with a replica id of its own. */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "store/agent_registry.h"
#include "store/audit.h"
#include "store/dbx.h"
#include "store/recording_sweep.h"
#include "store/shell_control.h"
#include "store/shell_registry.h"
#include "unit.h"
#include "unit_dbx.h"

static const struct shell_caps CAPS = { .per_user = 5, .per_cluster = 5 };

static struct shell_slot slot_of(const char *id, const char *actor, const char *cluster,
				 const char *replica)
{
	return (struct shell_slot){ .id = id, .kind = "cluster_shell", .actor = actor,
				    .cluster = cluster, .tier = "admin", .mode = "bash",
				    .pid = getpid(), .replica = replica };
}

static void admit_ok(struct dbx *db, const char *id, const char *actor, const char *replica)
{
	struct shell_slot slot = slot_of(id, actor, "prod", replica);
	char err[256] = "";

	ck_assert_msg(shell_registry_admit_dbx(db, &slot, &CAPS, NULL, err, sizeof err) == ADMIT_OK,
		      "%s", err);
}

/* Twenty opens at once, each on a connection of its own (replicas "a" and "b" in turn),
 * against caps of 5: exactly 5 are admitted, the others refused by the cap. */
#define OPENERS 20

struct opener {
	const struct unit_dbx *f;
	char id[40];
	const char *actor;
	pthread_barrier_t *start;
	enum admit_result result;
};

static void *open_one(void *arg)
{
	struct opener *o = arg;
	struct shell_slot slot = slot_of(o->id, o->actor, "prod", strchr(o->id, '1') ? "a" : "b");
	struct dbx *db = NULL;
	char err[512];

	o->result = ADMIT_ERROR;
	if (dbx_open(o->f->url, NULL, &db, err, sizeof err) != 0) {
		fprintf(stderr, "# opener: %s\n", err);
		pthread_barrier_wait(o->start);
		return NULL;
	}
	pthread_barrier_wait(o->start);
	o->result = shell_registry_admit_dbx(db, &slot, &CAPS, NULL, err, sizeof err);
	if (o->result == ADMIT_ERROR)
		fprintf(stderr, "# opener %s: %s\n", o->id, err);
	dbx_close(db);
	return NULL;
}

/* same_user: every opener is alice (the per-user cap); else each is another user on one
 * cluster (the per-cluster cap). Returns how many were admitted; the others must have been
 * refused by want_refusal. */
static int race(const struct unit_dbx *f, bool same_user, enum admit_result want_refusal)
{
	static const char *const users[OPENERS] = {
		"u00", "u01", "u02", "u03", "u04", "u05", "u06", "u07", "u08", "u09",
		"u10", "u11", "u12", "u13", "u14", "u15", "u16", "u17", "u18", "u19",
	};
	struct opener o[OPENERS];
	pthread_t threads[OPENERS];
	pthread_barrier_t start;
	int admitted = 0;

	ck_assert_int_eq(pthread_barrier_init(&start, NULL, OPENERS), 0);
	for (int i = 0; i < OPENERS; i++) {
		o[i] = (struct opener){ .f = f, .actor = same_user ? "alice" : users[i], .start = &start };
		snprintf(o[i].id, sizeof o[i].id, "%s-%02d", same_user ? "user" : "cluster", i);
		ck_assert_int_eq(pthread_create(&threads[i], NULL, open_one, &o[i]), 0);
	}
	for (int i = 0; i < OPENERS; i++) {
		ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
		ck_assert_msg(o[i].result == ADMIT_OK || o[i].result == want_refusal,
			      "opener %d: %d", i, o[i].result);
		admitted += o[i].result == ADMIT_OK;
	}
	pthread_barrier_destroy(&start);
	return admitted;
}

START_TEST(caps_hold_when_twenty_opens_race_on_two_replicas)
{
	struct unit_dbx f;

	unit_dbx_open(&f, _i);
	ck_assert_int_eq(race(&f, true, ADMIT_CAP_USER), 5);
	ck_assert_int_eq(unit_dbx_int(f.db, "SELECT count(*) FROM shell_sessions WHERE actor_sub = 'alice'"), 5);
	unit_dbx_exec(f.db, "DELETE FROM shell_sessions");
	ck_assert_int_eq(race(&f, false, ADMIT_CAP_CLUSTER), 5);
	ck_assert_int_eq(unit_dbx_int(f.db, "SELECT count(*) FROM shell_sessions WHERE cluster = 'prod'"), 5);
	unit_dbx_close(&f);
}
END_TEST

/* Replica b judges replica a's row by its lease: alive while the heartbeat is fresh (even
 * though no process of b's has its pid), dead once it is older than SHELL_LEASE_MS. Replica
 * a itself judges it by its pid (alive: this process). */
START_TEST(another_replicas_row_lives_as_long_as_its_lease)
{
	struct unit_dbx f;
	struct dbx *b;
	char sql[160];

	unit_dbx_open(&f, _i);
	b = unit_dbx_connect(&f);
	admit_ok(f.db, "s1", "alice", "a");
	ck_assert_int_eq(shell_registry_is_live_dbx(b, "s1", "b"), 1);
	ck_assert_int_eq(shell_registry_heartbeat_dbx(f.db, "s1", now_ms(), 10, 20), 0);
	ck_assert_int_eq(shell_registry_is_live_dbx(b, "s1", "b"), 1);
	/* Replica a stops renewing: its last heartbeat is older than the lease. */
	snprintf(sql, sizeof sql, "UPDATE shell_sessions SET heartbeat_at_ms = %lld WHERE id = 's1'",
		 now_ms() - SHELL_LEASE_MS - 1000);
	unit_dbx_exec(f.db, sql);
	ck_assert_int_eq(shell_registry_is_live_dbx(b, "s1", "b"), 0);
	ck_assert_int_eq(shell_registry_is_live_dbx(f.db, "s1", "a"), 1);
	/* A reaper that does not trust the leases yet (the database just came back) keeps it. */
	ck_assert_int_eq(shell_registry_is_live_pids_dbx(b, "s1", "b"), 1);
	ck_assert_int_eq(shell_registry_reap_pids_dbx(b, "b", NULL), 0);
	ck_assert_int_eq(unit_dbx_int(b, "SELECT count(*) FROM shell_sessions"), 1);
	/* A row with a pid that is not alive here, of this replica: dead at once, leases
	 * trusted or not. */
	unit_dbx_exec(f.db, "UPDATE shell_sessions SET pid_start_ticks = pid_start_ticks + 1 WHERE id = 's1'");
	ck_assert_int_eq(shell_registry_is_live_dbx(f.db, "s1", "a"), 0);
	ck_assert_int_eq(shell_registry_is_live_pids_dbx(f.db, "s1", "a"), 0);
	ck_assert_int_eq(shell_registry_reap_pids_dbx(f.db, "a", NULL), 1);
	ck_assert_int_eq(unit_dbx_int(b, "SELECT count(*) FROM shell_sessions"), 0);
	ck_assert_int_eq(shell_registry_is_live_dbx(b, "no-such-session", "b"), 0);
	dbx_close(b);
	unit_dbx_close(&f);
}
END_TEST

static void expire_lease(struct dbx *db, const char *id)
{
	char sql[200];

	snprintf(sql, sizeof sql, "UPDATE shell_sessions SET heartbeat_at_ms = %lld WHERE id = '%s'",
		 now_ms() - SHELL_LEASE_MS - 1000, id);
	unit_dbx_exec(db, sql);
}

/* Replicas racing to reap, each with its own connection. */
#define REAPERS 6

struct reaper {
	const struct unit_dbx *f;
	pthread_barrier_t *start;
	int reaped;
};

static void *reap_once(void *arg)
{
	struct reaper *r = arg;
	struct dbx *db = NULL;
	char err[512];

	r->reaped = -2;
	if (dbx_open(r->f->url, NULL, &db, err, sizeof err) != 0) {
		fprintf(stderr, "# reaper: %s\n", err);
		pthread_barrier_wait(r->start);
		return NULL;
	}
	pthread_barrier_wait(r->start);
	r->reaped = shell_registry_reap_dbx(db, "b", NULL);
	if (r->reaped < 0)
		fprintf(stderr, "# reaper: %s\n", dbx_errmsg(db));
	dbx_close(db);
	return NULL;
}

/* Replica a dies with three sessions (its heartbeats stop): replica b leaves them while
 * their leases last, then its reapers (six at once) close each exactly once with a "lost"
 * close row that says what the row knew; a's bridge closing late writes nothing more. */
START_TEST(a_dead_replicas_sessions_are_reaped_once_by_another)
{
	static const char *const ids[] = { "s1", "s2", "s3" };
	struct unit_dbx f;
	struct reaper r[REAPERS];
	pthread_t threads[REAPERS];
	pthread_barrier_t start;
	struct audit_event ev = { .verb = "cluster_shell_close", .outcome = "success",
				  .actor_sub = "alice", .reason = "exit" };
	json_t *reaped = NULL;
	struct dbx *b;
	int total = 0;

	unit_dbx_open(&f, _i);
	b = unit_dbx_connect(&f);
	for (size_t i = 0; i < 3; i++)
		admit_ok(f.db, ids[i], "alice", "a");
	ck_assert_int_eq(shell_registry_heartbeat_dbx(f.db, "s1", now_ms(), 1234, 5678), 0);
	ck_assert_int_eq(shell_registry_reap_dbx(b, "b", &reaped), 0);
	ck_assert_int_eq(json_array_size(reaped), 0);
	json_decref(reaped);

	for (size_t i = 0; i < 3; i++)
		expire_lease(f.db, ids[i]);
	ck_assert_int_eq(pthread_barrier_init(&start, NULL, REAPERS), 0);
	for (int i = 0; i < REAPERS; i++) {
		r[i] = (struct reaper){ .f = &f, .start = &start };
		ck_assert_int_eq(pthread_create(&threads[i], NULL, reap_once, &r[i]), 0);
	}
	for (int i = 0; i < REAPERS; i++) {
		ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
		ck_assert_int_ge(r[i].reaped, 0);
		total += r[i].reaped;
	}
	pthread_barrier_destroy(&start);
	ck_assert_int_eq(total, 3);
	ck_assert_int_eq(unit_dbx_int(b, "SELECT count(*) FROM shell_sessions"), 0);
	ck_assert_int_eq(unit_dbx_int(b, "SELECT count(*) FROM audit_events WHERE verb ="
				      " 'cluster_shell_close' AND reason = 'lost' AND outcome = 'failure'"), 3);
	ck_assert_int_eq(unit_dbx_int(b, "SELECT count(DISTINCT session_id) FROM audit_events"), 3);
	ck_assert_int_eq(unit_dbx_int(b, "SELECT count(*) FROM audit_events WHERE session_id = 's1'"
				      " AND extra LIKE '%\"bytes_in\":1234%' AND extra LIKE '%\"bytes_out\":5678%'"
				      " AND extra LIKE '%E_SESSION_LOST%'"), 1);
	/* The bridge of a that comes back and closes: its row is gone, no second close row. */
	ck_assert_int_eq(shell_registry_close_dbx(f.db, "s1", &ev), 0);
	ck_assert_int_eq(unit_dbx_int(b, "SELECT count(*) FROM audit_events"), 3);
	dbx_close(b);
	unit_dbx_close(&f);
}
END_TEST

/* The normal close on either engine: the row and the close row together, once. */
START_TEST(a_normal_close_writes_its_row_once)
{
	struct unit_dbx f;
	struct audit_event ev = { .verb = "cluster_shell_close", .outcome = "success",
				  .actor_sub = "alice", .reason = "exit" };
	json_t *extra = json_pack("{s:s}", "session_id", "s1");

	ev.extra = extra;
	unit_dbx_open(&f, _i);
	admit_ok(f.db, "s1", "alice", "a");
	ck_assert_int_eq(shell_registry_close_dbx(f.db, "s1", &ev), 1);
	ck_assert_int_eq(shell_registry_close_dbx(f.db, "s1", &ev), 0);
	ck_assert_int_eq(unit_dbx_int(f.db, "SELECT count(*) FROM shell_sessions"), 0);
	ck_assert_int_eq(unit_dbx_int(f.db, "SELECT count(*) FROM audit_events WHERE session_id = 's1'"
				      " AND reason = 'exit'"), 1);
	json_decref(extra);
	unit_dbx_close(&f);
}
END_TEST

/* At a cap, an admission on replica b reaps replica a's expired rows first (in its own
 * transaction, under the caps' locks), so a dead replica never keeps its users out. */
START_TEST(a_cap_held_by_a_dead_replica_is_freed_at_the_next_open)
{
	struct unit_dbx f;
	struct shell_slot slot = slot_of("b1", "alice", "prod", "b");
	struct dbx *b;
	char err[256] = "";

	unit_dbx_open(&f, _i);
	b = unit_dbx_connect(&f);
	for (int i = 0; i < 5; i++) {
		char id[8];

		snprintf(id, sizeof id, "a%d", i);
		admit_ok(f.db, id, "alice", "a");
	}
	ck_assert_int_eq(shell_registry_admit_dbx(b, &slot, &CAPS, NULL, err, sizeof err), ADMIT_CAP_USER);
	/* One late row of a replica that is alive is its own to judge (by pid): still capped. */
	expire_lease(f.db, "a0");
	ck_assert_int_eq(shell_registry_admit_dbx(b, &slot, &CAPS, NULL, err, sizeof err), ADMIT_CAP_USER);
	/* Replica a dies: all its heartbeats stop. */
	for (int i = 1; i < 5; i++) {
		char id[8];

		snprintf(id, sizeof id, "a%d", i);
		expire_lease(f.db, id);
	}
	ck_assert_msg(shell_registry_admit_dbx(b, &slot, &CAPS, NULL, err, sizeof err) == ADMIT_OK, "%s", err);
	ck_assert_int_eq(unit_dbx_int(b, "SELECT count(*) FROM audit_events WHERE reason = 'lost'"), 5);
	ck_assert_int_eq(unit_dbx_int(b, "SELECT count(*) FROM shell_sessions"), 1);
	ck_assert_int_eq(unit_dbx_int(b, "SELECT count(*) FROM shell_sessions WHERE replica_id = 'b'"), 1);
	dbx_close(b);
	unit_dbx_close(&f);
}
END_TEST

/* A replica is dead when all its heartbeats are old, not when one is: a late bridge of a
 * live replica (its connection reconnecting) is that replica's to judge, by pid. */
START_TEST(a_late_row_of_a_live_replica_is_left_to_it)
{
	struct unit_dbx f;
	struct dbx *b;

	unit_dbx_open(&f, _i);
	b = unit_dbx_connect(&f);
	admit_ok(f.db, "s1", "alice", "a");
	admit_ok(f.db, "s2", "bob", "a");
	expire_lease(f.db, "s1");
	ck_assert_int_eq(shell_registry_is_live_dbx(b, "s1", "b"), 1);
	ck_assert_int_eq(shell_registry_reap_dbx(b, "b", NULL), 0);
	expire_lease(f.db, "s2");
	ck_assert_int_eq(shell_registry_is_live_dbx(b, "s1", "b"), 0);
	ck_assert_int_eq(shell_registry_reap_dbx(b, "b", NULL), 2);
	ck_assert_int_eq(unit_dbx_int(b, "SELECT count(*) FROM audit_events WHERE reason = 'lost'"), 2);
	dbx_close(b);
	unit_dbx_close(&f);
}
END_TEST

/* DELETE /api/sessions/{id} and a watch, served by replica b, reach the bridge of replica a
 * through the database at its next poll (every SHELL_CONTROL_POLL_MS). */
START_TEST(an_end_and_a_watch_asked_on_another_replica_reach_the_bridge)
{
	struct unit_dbx f;
	struct shell_control_state state;
	struct dbx *b;
	json_t *listed;
	bool joined = false, err = true;
	long long now = now_ms();

	unit_dbx_open(&f, _i);
	b = unit_dbx_connect(&f);
	admit_ok(f.db, "s1", "alice", "a");
	ck_assert_int_eq(shell_control_poll_dbx(f.db, "s1", now, &state), 0);
	ck_assert(!state.terminate);
	ck_assert_int_eq(state.watchers, 0);

	ck_assert_int_eq(shell_control_watch_dbx(b, "s1", "auditor", "auditor@example.com", now, &joined), 1);
	ck_assert(joined);
	ck_assert_int_eq(shell_control_watch_dbx(b, "s1", "auditor", "auditor@example.com", now + 500, &joined), 1);
	ck_assert(!joined);
	ck_assert_int_eq(shell_control_poll_dbx(f.db, "s1", now + 600, &state), 0);
	ck_assert_int_eq(state.watchers, 1);

	/* Not alice's to end for bob; anyone's for an admin (owner NULL). */
	ck_assert_int_eq(shell_control_terminate_dbx(b, "s1", "bob", "bob", NULL, now), 0);
	ck_assert_msg(shell_control_terminate_dbx(b, "s1", NULL, "admin", "admin@example.com", now) == 1,
		      "%s", dbx_errmsg(b));
	ck_assert_int_eq(shell_control_terminate_dbx(b, "s1", NULL, "other", NULL, now + 1), 1);
	ck_assert_int_eq(shell_control_poll_dbx(f.db, "s1", now + 700, &state), 0);
	ck_assert(state.terminate);
	ck_assert_str_eq(state.by_sub, "admin");
	ck_assert_str_eq(state.by_email, "admin@example.com");

	listed = shell_control_get_dbx(b, "s1", NULL, now + 800, &err);
	ck_assert(!err);
	ck_assert_ptr_nonnull(listed);
	ck_assert(json_is_true(json_object_get(listed, "ending")));
	ck_assert_int_eq(json_integer_value(json_object_get(listed, "watchers")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(listed, "actor"), "sub")), "alice");
	json_decref(listed);
	listed = shell_control_list_dbx(b, "bob", now);
	ck_assert_int_eq(json_array_size(json_object_get(listed, "items")), 0);
	json_decref(listed);

	/* Gone (closed on a): the watch ends, its watcher row is forgotten. */
	ck_assert_int_eq(shell_registry_release_dbx(f.db, "s1"), 0);
	ck_assert_int_eq(shell_control_watch_dbx(b, "s1", "auditor", NULL, now + 900, &joined), 0);
	ck_assert_int_eq(shell_control_purge_watchers_dbx(b), 1);
	ck_assert_int_eq(shell_control_poll_dbx(f.db, "s1", now + 1000, &state), 0);
	ck_assert(!state.terminate);
	dbx_close(b);
	unit_dbx_close(&f);
}
END_TEST

static void touch_file(const char *dir, const char *id, long long mtime)
{
	char path[256];
	struct timespec times[2] = { { .tv_sec = mtime }, { .tv_sec = mtime } };
	int fd;

	snprintf(path, sizeof path, "%s/%s.cast", dir, id);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "{}\n", 3), 3);
	close(fd);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, times, 0), 0);
}

static bool file_exists(const char *dir, const char *id)
{
	char path[256];

	snprintf(path, sizeof path, "%s/%s.cast", dir, id);
	return access(path, F_OK) == 0;
}

/* A recording goes when no row names its session any more, whichever replica sweeps: a
 * live row or an audit row keeps it, and so does being younger than the grace. */
START_TEST(the_recording_sweep_keeps_what_a_row_still_names)
{
	static const char live[] = "11111111-1111-4111-8111-111111111111";
	static const char audited[] = "22222222-2222-4222-8222-222222222222";
	static const char orphan[] = "33333333-3333-4333-8333-333333333333";
	static const char young[] = "44444444-4444-4444-8444-444444444444";
	struct unit_dbx f;
	char dir[] = "/tmp/periscope-test-rec-XXXXXX";
	long long now = now_ms() / 1000;
	struct dbx *b;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	unit_dbx_open(&f, _i);
	b = unit_dbx_connect(&f);
	admit_ok(f.db, live, "alice", "a");
	unit_dbx_exec(f.db, "INSERT INTO audit_events (ts_unix_nano, actor_sub, verb, outcome,"
		      " session_id) VALUES (1, 'alice', 'cluster_shell_close', 'success',"
		      " '22222222-2222-4222-8222-222222222222')");
	touch_file(dir, live, now - 3600);
	touch_file(dir, audited, now - 3600);
	touch_file(dir, orphan, now - 3600);
	touch_file(dir, young, now);
	ck_assert_int_eq(recording_sweep_dbx(b, dir, now), 1);
	ck_assert(file_exists(dir, live));
	ck_assert(file_exists(dir, audited));
	ck_assert(!file_exists(dir, orphan));
	ck_assert(file_exists(dir, young));
	ck_assert_int_eq(recording_sweep_dbx(b, dir, now), 0);
	ck_assert_int_eq(recording_sweep_dbx(b, "/tmp/periscope-test-no-such-dir", now), 0);
	for (const char *const *id = (const char *const[]){ live, audited, young, NULL }; *id; id++) {
		char path[256];

		snprintf(path, sizeof path, "%s/%s.cast", dir, *id);
		unlink(path);
	}
	ck_assert_int_eq(rmdir(dir), 0);
	dbx_close(b);
	unit_dbx_close(&f);
}
END_TEST

/* Agent registrations (store/agent_registry.h) on both engines, and the tunnel bookkeeping
 * of two replicas: a tunnel process acts on the agent's row only while it holds it, by pid
 * and replica, so a process of replica b with the same pid cannot mark replica a's
 * connection down. */
static enum agent_reg_result register_agent(struct dbx *db, const char *cluster, const char *key,
					    const char *fp, int *port)
{
	char *token = NULL, bound[64], why[160];
	struct agent_registration r = { .cluster = cluster, .public_key = key, .fingerprint = fp,
					.api_token = "sa-token", .ca_sha256 = "00" };
	enum agent_reg_result res;
	int again;

	ck_assert_int_eq(agent_token_create_dbx(db, cluster, "admin", 1000, 900, &token), 0);
	r.token = token;
	res = agent_register_dbx(db, &r, 1001, 20000, port, bound, why, sizeof why);
	ck_assert_str_eq(bound, cluster);
	/* A token is good once, whatever the outcome. */
	ck_assert_int_eq(agent_register_dbx(db, &r, 1002, 20000, &again, bound, why, sizeof why),
			 AGENT_REG_REFUSED);
	ck_assert_str_eq(why, "the registration token was already used");
	free(token);
	return res;
}

START_TEST(agents_register_and_only_the_holding_replica_marks_its_tunnel)
{
	struct unit_dbx f;
	struct agent_record rec;
	struct dbx *b;
	char cluster[64];
	int port = 0;

	unit_dbx_open(&f, _i);
	b = unit_dbx_connect(&f);
	ck_assert_int_eq(register_agent(f.db, "edge", "ssh-ed25519 AAAA1", "SHA256:one", &port), AGENT_REG_OK);
	ck_assert_int_eq(port, 20000);
	ck_assert_int_eq(register_agent(b, "lab", "ssh-ed25519 AAAA2", "SHA256:two", &port), AGENT_REG_OK);
	ck_assert_int_eq(port, 20001);
	/* Another cluster's key is refused; a re-registration keeps the port. */
	ck_assert_int_eq(register_agent(b, "lab", "ssh-ed25519 AAAA1", "SHA256:one", &port), AGENT_REG_REFUSED);
	ck_assert_int_eq(register_agent(b, "edge", "ssh-ed25519 AAAA3", "SHA256:three", &port), AGENT_REG_OK);
	ck_assert_int_eq(port, 20000);
	ck_assert_int_eq(agent_port_of_dbx(b, "SHA256:three", &port), 1);
	ck_assert_int_eq(port, 20000);

	ck_assert_int_eq(agent_mark_connected_dbx(f.db, "SHA256:three", 2000, 4242, "a", cluster,
						  sizeof cluster), 0);
	ck_assert_str_eq(cluster, "edge");
	ck_assert_int_eq(agent_connected_dbx(b, "edge"), 1);
	ck_assert_int_eq(agent_lookup_dbx(b, "edge", &rec), 1);
	ck_assert_str_eq(rec.tunnel_replica, "a");
	/* Replica b's process 4242 is another process: it changes nothing. */
	ck_assert_int_eq(agent_mark_seen_dbx(b, "SHA256:three", 2100, 4242, "b"), 0);
	ck_assert_int_eq(agent_mark_disconnected_dbx(b, "SHA256:three", 2100, 4242, "b"), 0);
	ck_assert_int_eq(agent_lookup_dbx(b, "edge", &rec), 1);
	ck_assert_int_eq(rec.connected_since, 2000);
	ck_assert_int_eq(rec.last_seen, 2000);
	ck_assert_int_eq(agent_mark_seen_dbx(f.db, "SHA256:three", 2200, 4242, "a"), 0);
	ck_assert_int_eq(agent_mark_disconnected_dbx(f.db, "SHA256:three", 2300, 4242, "a"), 0);
	ck_assert_int_eq(agent_lookup_dbx(b, "edge", &rec), 1);
	ck_assert_int_eq(rec.connected_since, 0);
	ck_assert_int_eq(rec.last_seen, 2300);
	ck_assert_str_eq(rec.tunnel_replica, "");
	ck_assert_int_eq(agent_connected_dbx(b, "edge"), 0);
	ck_assert_int_eq(agent_connected_dbx(b, "nowhere"), 0);
	dbx_close(b);
	unit_dbx_close(&f);
}
END_TEST

/* The live set a sweep reads once (shell_registry_live_ids_dbx) holds exactly the rows
 * written out in each case, for each way a row is judged: this replica's by pid, another
 * replica's by its lease, with leases trusted or not. (shell_registry_is_live_dbx is read
 * from the same set, so comparing the two would prove nothing.) */
static json_t *live_set(struct dbx *db, const char *replica, bool leases)
{
	json_t *live = shell_registry_live_ids_dbx(db, replica, leases);

	ck_assert_ptr_nonnull(live);
	return live;
}

static void assert_live_set(struct dbx *db, const char *replica, bool leases, const char *want)
{
	json_t *live = live_set(db, replica, leases);
	char got[64] = "";
	const char *ids[] = { "s1", "s2", "s3" };

	for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
		if (json_object_get(live, ids[i]))
			snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", *got ? " " : "", ids[i]);
	}
	ck_assert_uint_eq(json_object_size(live), strlen(want) ? (strlen(want) + 1) / 3 : 0);
	ck_assert_str_eq(got, want);
	json_decref(live);
}

START_TEST(the_live_set_is_each_rows_own_judgement)
{
	struct unit_dbx f;
	struct dbx *b;

	unit_dbx_open(&f, _i);
	b = unit_dbx_connect(&f);
	admit_ok(f.db, "s1", "alice", "a");
	admit_ok(f.db, "s2", "bob", "a");
	admit_ok(f.db, "s3", "carol", "a");
	/* s3's process is gone: dead to its own replica at once, alive to b while a's lease
	 * (its newest heartbeat, s1's and s2's) is fresh. */
	unit_dbx_exec(f.db, "UPDATE shell_sessions SET pid_start_ticks = pid_start_ticks + 1 WHERE id = 's3'");
	assert_live_set(f.db, "a", true, "s1 s2");
	assert_live_set(f.db, "a", false, "s1 s2");
	assert_live_set(b, "b", true, "s1 s2 s3");
	/* Replica a stops renewing: dead to b once its leases are trusted, alive until then. */
	expire_lease(f.db, "s1");
	expire_lease(f.db, "s2");
	expire_lease(f.db, "s3");
	assert_live_set(b, "b", true, "");
	assert_live_set(b, "b", false, "s1 s2 s3");
	assert_live_set(f.db, "a", true, "s1 s2");
	dbx_close(b);
	unit_dbx_close(&f);
}
END_TEST

static Suite *shell_suite(int engines)
{
	Suite *s = suite_create("dbx_shell");
	TCase *tc = tcase_create("engines");

	/* PostgreSQL's first CREATE DATABASE can take seconds on a loaded machine. */
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, caps_hold_when_twenty_opens_race_on_two_replicas, 0, engines);
	tcase_add_loop_test(tc, another_replicas_row_lives_as_long_as_its_lease, 0, engines);
	tcase_add_loop_test(tc, a_dead_replicas_sessions_are_reaped_once_by_another, 0, engines);
	tcase_add_loop_test(tc, a_normal_close_writes_its_row_once, 0, engines);
	tcase_add_loop_test(tc, a_late_row_of_a_live_replica_is_left_to_it, 0, engines);
	tcase_add_loop_test(tc, the_live_set_is_each_rows_own_judgement, 0, engines);
	tcase_add_loop_test(tc, a_cap_held_by_a_dead_replica_is_freed_at_the_next_open, 0, engines);
	tcase_add_loop_test(tc, an_end_and_a_watch_asked_on_another_replica_reach_the_bridge, 0, engines);
	tcase_add_loop_test(tc, the_recording_sweep_keeps_what_a_row_still_names, 0, engines);
	tcase_add_loop_test(tc, agents_register_and_only_the_holding_replica_marks_its_tunnel, 0, engines);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_dbx_main(shell_suite);
}
