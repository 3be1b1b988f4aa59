/* The live terminals and their recordings (docs/sessions-api.md):
 *   GET    /api/sessions                  live terminals: everyone's for audit admins, else one's own
 *   DELETE /api/sessions/{id}             ends one: audit admins any, users their own
 *   GET    /api/sessions/{id}/recording   the asciicast v2 file: audit admins, or its own actor
 *   GET    /api/sessions/{id}/watch       watch live: the recording from an offset (audit admins)
 * A session that is not the caller's to see is answered exactly like one that does not
 * exist (404), so its existence is not revealed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/origin.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "handlers.h"
#include "router.h"
#include "shell/recording.h"
#include "store/audit.h"
#include "store/db.h"
#include "store/dbx.h"
#include "store/shell_control.h"

/* Whose sessions the caller may act on: NULL (anyone's) for audit admins. */
static const char *owner_filter(const struct request *rq)
{
	return rq->identity.audit_admin ? NULL : rq->identity.subject;
}

static void not_found(struct request *rq)
{
	respond_error(rq, 404, "E_NOT_FOUND", "no such session", NULL);
}

/* A refused act on a session is audited too. The id asked for goes in requested_id, not
 * session_id: the row must not keep a recording alive (store/recording_sweep.h), and it
 * says the same whether the session is missing or someone else's. */
static void audit_refused(struct request *rq, const char *verb, const char *id, const char *code)
{
	struct audit_event ev = { .verb = verb, .outcome = "denied", .reason = code };
	json_t *extra = json_pack("{s:s, s:s}", "requested_id", id, "code", code);

	ev.extra = extra;
	audit_request_event(rq, &ev);
	json_decref(extra);
}

void handle_sessions_list(struct request *rq)
{
	json_t *list = shell_control_list_dbx(rq->w->dbx, owner_filter(rq), now_ms());

	if (!list) {
		log_json(LOG_ERROR, "sessions", "listing live sessions failed",
			 json_pack("{s:s, s:s}", "request_id", rq->request_id, "error",
				   dbx_errmsg(rq->w->dbx)));
		respond_error(rq, 500, "E_INTERNAL", "the live sessions could not be read", NULL);
		return;
	}
	json_object_set_new(list, "scope", json_string(rq->identity.audit_admin ? "all" : "self"));
	respond_json(rq, 200, list);
}

static void audit_terminate(struct request *rq, json_t *session)
{
	struct audit_event ev = { .verb = "session_terminate", .outcome = "success" };
	json_t *extra = json_pack("{s:O, s:O, s:O, s:O?, s:O}", "session_id",
				  json_object_get(session, "id"), "kind", json_object_get(session, "kind"),
				  "cluster", json_object_get(session, "cluster"), "target",
				  json_object_get(session, "target"), "owner",
				  json_object_get(session, "actor"));

	ev.cluster = json_string_value(json_object_get(session, "cluster"));
	ev.extra = extra;
	audit_request_event(rq, &ev);
	json_decref(extra);
}

void handle_session_delete(struct request *rq)
{
	const char *id = rq->params[0];
	json_t *session = NULL;
	bool err = false;
	int rc;

	/* A state change: only from our own pages, as sign-out (auth/origin.h). */
	if (!request_from_our_pages(rq->w->cfg, request_env(rq, "HTTP_ORIGIN"),
				    request_env(rq, "HTTP_SEC_FETCH_SITE"))) {
		audit_refused(rq, "session_terminate", id, "E_ORIGIN");
		respond_error(rq, 403, "E_ORIGIN", "ending a session must come from periscope's own pages",
			      NULL);
		return;
	}
	if (!recording_id_valid(id)) {
		not_found(rq);
		return;
	}
	session = shell_control_get_dbx(rq->w->dbx, id, owner_filter(rq), now_ms(), &err);
	if (!session && !err) {
		audit_refused(rq, "session_terminate", id, "E_NOT_FOUND");
		not_found(rq);
		return;
	}
	rc = err ? -1 : shell_control_terminate_dbx(rq->w->dbx, id, owner_filter(rq),
						     rq->identity.subject, rq->identity.email, now_ms());
	if (rc < 0) {
		respond_error(rq, 500, "E_INTERNAL", "the session could not be ended", NULL);
		goto done;
	}
	if (rc == 0) { /* closed in between */
		not_found(rq);
		goto done;
	}
	audit_terminate(rq, session);
	/* 202: the bridge ends the terminal at its next poll (within 2 s). */
	respond_json(rq, 202, json_pack("{s:s, s:s}", "id", id, "status", "ending"));
done:
	json_decref(session);
}

/* The session's actor, from its live row or its open or close audit row: 1 found, 0 not,
 * -1 error. */
static int session_actor(struct dbx *db, const char *id, char *actor, size_t actorlen)
{
	static const char sql[] =
		"SELECT actor_sub FROM shell_sessions WHERE id = ?1 UNION ALL"
		" SELECT actor_sub FROM audit_events WHERE session_id = ?1 AND verb IN"
		" ('cluster_shell_open', 'ssm_session_open', 'cluster_shell_close', 'ssm_session_close')"
		" LIMIT 1";
	struct dbx_stmt *st = NULL;
	enum dbx_step step;
	int rc = -1;

	if (dbx_prepare(db, sql, &st) != 0)
		return -1;
	dbx_bind_text(st, 1, id);
	step = dbx_step(st);
	if (step == DBX_ROW) {
		snprintf(actor, actorlen, "%s", dbx_column_text(st, 0));
		rc = 1;
	} else if (step == DBX_DONE) {
		rc = 0;
	}
	dbx_finalize(st);
	return rc;
}

/* The caller may see session id's recording: 1 yes, 0 no (or no such session), -1 error. */
static int may_see(struct request *rq, const char *id)
{
	char actor[512];
	int found;

	if (!recording_id_valid(id))
		return 0;
	found = session_actor(rq->w->dbx, id, actor, sizeof actor);
	if (found <= 0)
		return found;
	return rq->identity.audit_admin || strcmp(actor, rq->identity.subject) == 0;
}

void handle_session_recording(struct request *rq)
{
	const char *id = rq->params[0];
	char path[4096];
	struct stat sb;
	int fd = -1, ok = may_see(rq, id);

	if (ok < 0) {
		respond_error(rq, 500, "E_INTERNAL", "the session could not be looked up", NULL);
		return;
	}
	if (ok == 0 || recording_path(rq->w->cfg, id, path, sizeof path) != 0) {
		not_found(rq);
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		if (fd < 0 && errno != ENOENT)
			log_json(LOG_ERROR, "sessions", "cannot open a recording",
				 json_pack("{s:s, s:s}", "session_id", id, "error", strerror(errno)));
		respond_error(rq, 404, "E_NO_RECORDING", "this session has no recording", NULL);
		goto done;
	}
	{
		struct audit_event ev = { .verb = "session_playback", .outcome = "success" };
		json_t *extra = json_pack("{s:s, s:I}", "session_id", id, "bytes", (json_int_t)sb.st_size);
		ev.extra = extra;
		audit_request_event(rq, &ev);
		json_decref(extra);
	}
	add_header(rq, "Content-Disposition: attachment; filename=\"%s.cast\"", id);
	/* A live session's file grows: what it holds now is sent, a valid prefix. */
	if (respond_fd(rq, 200, "application/x-asciicast", fd, (size_t)sb.st_size) != 0)
		log_json(LOG_WARN, "sessions", "a recording was not sent whole",
			 json_pack("{s:s}", "session_id", id));
done:
	if (fd >= 0)
		close(fd);
}

/* A watch poll answers at most this much of the recording (whole lines). */
#define WATCH_CHUNK_MAX (1u << 20)

/* The offset query parameter: 0 when absent; -1 when it is not a non-negative integer. */
static long long watch_offset(const struct request *rq)
{
	for (size_t i = 0; i < rq->query.count; i++) {
		const char *v = rq->query.values[i];
		char *end;
		long long n;

		if (strcmp(rq->query.keys[i], "offset") != 0)
			continue;
		errno = 0;
		n = strtoll(v, &end, 10);
		return errno || end == v || *end || n < 0 ? -1 : n;
	}
	return 0;
}

/* Registers this poll of the watcher, auditing the start of a watch. 1 live, 0 not, -1. */
static int note_watcher(struct request *rq, const char *id)
{
	struct dbx *db = rq->w->dbx;
	bool joined = false;
	int live;

	if (dbx_begin_write(db) != 0)
		return -1;
	live = shell_control_watch_dbx(db, id, rq->identity.subject, rq->identity.email, now_ms(), &joined);
	if (live > 0 && joined) {
		struct audit_event ev = { .verb = "session_watch", .outcome = "success" };
		json_t *extra = json_pack("{s:s}", "session_id", id);
		ev.extra = extra;
		audit_request_event(rq, &ev);
		json_decref(extra);
	}
	if (live < 0 || dbx_commit(db) != 0) {
		dbx_rollback(db);
		return -1;
	}
	return live;
}

/* Up to WATCH_CHUNK_MAX bytes of the file from offset, cut after its last newline, as a
 * JSON string. NULL on a read error. */
static json_t *read_lines(int fd, long long offset, long long size, long long *next)
{
	size_t want = size - offset > WATCH_CHUNK_MAX ? WATCH_CHUNK_MAX : (size_t)(size - offset);
	char *chunk = malloc(want ? want : 1);
	size_t got = 0, keep;
	json_t *text = NULL;

	if (!chunk)
		return NULL;
	while (got < want) {
		ssize_t n = pread(fd, chunk + got, want - got, (off_t)(offset + (long long)got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	for (keep = got; keep > 0 && chunk[keep - 1] != '\n'; keep--)
		;
	*next = offset + (long long)keep;
	/* The bridge writes whole UTF-8 JSON lines; anything else is refused, not mangled. */
	text = json_stringn(chunk, keep);
	free(chunk);
	return text;
}

void handle_session_watch(struct request *rq)
{
	const char *id = rq->params[0];
	long long offset = watch_offset(rq), next = 0;
	char actor[512], path[4096];
	struct stat sb;
	json_t *data;
	int fd = -1, found, live;

	if (!rq->identity.audit_admin) {
		audit_refused(rq, "session_watch", id, "E_FORBIDDEN");
		respond_error(rq, 403, "E_FORBIDDEN", "only audit admins may watch a session live", NULL);
		return;
	}
	if (offset < 0) {
		respond_error(rq, 400, "E_INVALID_REQUEST", "offset must be a non-negative integer", NULL);
		return;
	}
	found = recording_id_valid(id) ? session_actor(rq->w->dbx, id, actor, sizeof actor) : 0;
	live = found > 0 ? note_watcher(rq, id) : found;
	if (live < 0) {
		respond_error(rq, 500, "E_INTERNAL", "the session could not be looked up", NULL);
		return;
	}
	/* A watch starts on a live session; a watcher already in keeps reading to the end. */
	if (found == 0 || (live == 0 && offset == 0)) {
		respond_error(rq, 404, "E_NOT_FOUND", "no such live session", NULL);
		return;
	}
	if (recording_path(rq->w->cfg, id, path, sizeof path) != 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 || fstat(fd, &sb) != 0) {
		respond_error(rq, 404, "E_NO_RECORDING", "this session has no recording", NULL);
		goto done;
	}
	if (offset > sb.st_size) {
		respond_error(rq, 400, "E_INVALID_REQUEST", "offset is past the end of the recording", NULL);
		goto done;
	}
	data = read_lines(fd, offset, sb.st_size, &next);
	if (!data) {
		respond_error(rq, 500, "E_INTERNAL", "the recording could not be read", NULL);
		goto done;
	}
	respond_json(rq, 200, json_pack("{s:s, s:I, s:I, s:I, s:o, s:b}", "id", id, "offset",
					(json_int_t)offset, "next", (json_int_t)next, "size",
					(json_int_t)sb.st_size, "data", data, "live", live > 0));
done:
	if (fd >= 0)
		close(fd);
}
