/* One terminal session in periscope-wsbridge: the browser side (frames on stdin/stdout
 * from websocketd), the timers, the audit rows, and a backend that owns the remote shell
 * (a pod's exec stream, or an SSM data channel). Single-threaded around poll(). */
#ifndef PERISCOPE_WSBRIDGE_SESSION_H
#define PERISCOPE_WSBRIDGE_SESSION_H

#include "k8s/eks_access.h"
#include <jansson.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "auth/auth.h"
#include "core/buf.h"
#include "config/config.h"
#include "metrics/upstream_tally.h"
#include "shell/login_watch.h"
#include "shell/recording.h"
#include "store/shell_control.h"
#include "shell/shell_gates.h"

/* Output waiting for websocketd: above this, stop reading upstream (backpressure); at the
 * hard maximum the browser is too slow and the session ends. */
#define SESSION_OUT_HIGH_WATER (1u << 20)
#define SESSION_OUT_MAX (8u << 20)
/* What the output buffer may keep between bursts (a few frames of a busy terminal). */
#define SESSION_OUT_KEEP (64u << 10)
#define SESSION_MAX_UPSTREAM_FDS 4

struct session;

struct backend_ops {
	const char *kind;                       /* audit verb prefix: "cluster_shell" / "ssm_session" */
	bool open_row_after_start;              /* write the open row once start() succeeded */
	/* Brings the remote shell up; may serve the browser while it waits (session_pump).
	 * 0, or -1 after session_fail(). */
	int (*start)(struct session *s);
	/* The upstream descriptors to poll; read_ok is false while output is backed up. */
	int (*add_fds)(struct session *s, struct pollfd *fds, int max, bool read_ok);
	/* Upstream readiness. 0 go on, 1 the remote shell ended (session_set_exit called),
	 * -1 failure (after session_fail). */
	int (*on_events)(struct session *s, struct pollfd *fds, int n);
	int (*send_input)(struct session *s, const unsigned char *data, size_t len);
	int (*resize)(struct session *s, int cols, int rows);
	/* The next time (monotonic ms) the backend needs a tick, or -1. */
	long long (*next_tick)(struct session *s);
	int (*tick)(struct session *s, long long now);
	/* Ends the remote side and cleans up; adds its fields to the close row's extra. */
	void (*teardown)(struct session *s, json_t *close_extra);
	/* Fields for the open row's extra and the hello frame. */
	void (*describe)(struct session *s, json_t *extra);
};

struct session {
	const struct config *cfg;
	/* The bridge's one connection (database.url), for the ported modules' _dbx
	 * functions; db is its SQLite handle for the others (NULL on PostgreSQL). */
	struct dbx *dbx;
	sqlite3 *db;
	struct auth_ctx *auth;
	struct cred_cache *creds;                  /* the server's own AWS identity (eks clusters) */
	const char *cookie;                     /* the browser's session cookie (a secret) */
	struct shell_target target;
	struct identity id;
	const struct cluster_config *cluster;
	char session_id[40];
	const struct backend_ops *ops;
	void *backend;

	/* Browser side. */
	struct buf in;                          /* a partial frame line from stdin */
	bool in_overflowed;                     /* it lost bytes at its front (client_lines.h) */
	bool stdin_eof;
	struct buf out;                         /* frame lines waiting for stdout */
	struct buf held;                        /* output not framed yet (frame_held) */
	size_t out_off;
	long long last_write_us;                /* the last write to stdout (shell/out_batch.h) */
	int signal_fd;
	int cols, rows;                         /* last size the browser sent (0 = none yet) */

	/* Timers (monotonic ms). */
	long long upgraded_mono;                /* when this process started: the upgrade */
	bool first_output_seen;                 /* the open latency's second stage was recorded */
	long long started_mono;
	long long started_wall_ms;
	long long last_activity;
	long long last_client_frame;
	bool idle_warned;
	long long next_heartbeat;               /* of the registry row (store/shell_registry.h) */
	struct login_watch watch;               /* the login session, re-checked while we run */
	long long next_control;                 /* the next read of the registry row's requests */
	struct shell_control_state control;     /* what it said last (store/shell_control.h) */
	int watchers_told;                      /* the watchers the browser last heard of */

	/* Accounting and outcome. */
	long long bytes_in, bytes_out;
	long long counted_in, counted_out;      /* of those, already in periscope_shell_bytes_total */
	struct recording rec;                   /* asciicast v2 of the session (recording.h) */
	struct buf close_raw;                   /* close row members already JSON (audit.h extra_raw) */
	const char *const *close_raw_keys;
	struct upstream_tally tally;            /* added to the metrics at heartbeats and close */
	bool admitted;
	bool ended;
	char close_reason[32];
	int exit_code;
	const char *fail_code;                  /* set by session_fail */
	char fail_message[512];
	bool fail_retryable;
};

/* Queues bytes of terminal output for the browser (counts as activity). */
int session_emit_stdout(struct session *s, const void *data, size_t len);
/* Records a failure to report as the final error frame. */
void session_fail(struct session *s, const char *code, bool retryable, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void session_set_exit(struct session *s, const char *reason, int exit_code);
/* While a backend waits on the network (provisioning), the browser is still served:
 * this fills an http_wait whose descriptors are the signal fd, stdin and stdout, and whose
 * serve() returns 1 when the browser left or a signal asked to stop. */
#include "net/http_client.h"
void session_http_wait(struct session *s, struct http_wait *w);

/* The whole life of an admitted session: start, hello, loop, teardown, close row, final
 * frame. Returns the process exit status. */
int session_run(struct session *s);
/* Writes out every queued frame (blocking briefly); used for the final frame. */
void session_flush(struct session *s, int timeout_ms);

#endif
