/* periscope-agent-tunnel: the server's end of one agent connection (docs/agent.md).
 * websocketd (binary mode) runs it per WebSocket on the tunnel path; it writes the
 * authorized keys of the registered agents, runs the tunnel's sshd (agent/tunnel_sshd.h)
 * on the WebSocket's stdin/stdout, and follows sshd's log: the accepted key names the
 * agent, whose cluster is then marked connected (and seen every 15 s) and audited
 * (agent_connect); when sshd ends, agent_disconnect. A connection whose key is not
 * accepted is audited as a refused agent_connect. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/tunnel_keys.h"
#include "agent/tunnel_streams.h"
#include "agent/tunnel_sshd.h"
#include "config/config.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/agent_registry.h"
#include "store/audit.h"
#include "store/db.h"
#include "store/dbx.h"
#include "store/dbx_config.h"

#define LINE_MAX_LEN 2048

/* How long an authenticated agent has to open its forward before it counts as failed. */
#define FORWARD_WAIT_MS 10000

struct tunnel {
	const struct config *cfg;
	struct dbx *db;              /* database.url: the agent registry, the audit log */
	pid_t sshd;
	char accepted[64];           /* the fingerprint sshd accepted, "" before */
	int port;                    /* its tunnel port */
	long long accepted_mono;
	char fingerprint[64];        /* set once the forward listens: connected */
	char cluster[64];
	long long connected_at;
	long long seen_mono;          /* when last_seen was last written */
	char last_line[256];
};

static void audit_tunnel(struct tunnel *t, const char *verb, const char *outcome,
			 const char *reason, json_t *extra)
{
	char actor[80];
	struct audit_event ev = { .route = "/agent/tunnel", .verb = verb, .outcome = outcome,
				  .reason = reason, .extra = extra };

	if (*t->cluster) {
		snprintf(actor, sizeof actor, "agent:%s", t->cluster);
		ev.actor_sub = actor;
		ev.cluster = t->cluster;
	}
	audit_write_dbx(t->db, &ev, NULL);
	json_decref(extra);
}

/* "Accepted publickey for USER from ADDR port N ssh2: ED25519 SHA256:..." (sshd's
 * auth_log, auth.c): the fingerprint is the last word. */
static void on_sshd_line(struct tunnel *t, char *line)
{
	const char *fp;

	line[strcspn(line, "\r\n")] = '\0';
	if (!*line)
		return;
	snprintf(t->last_line, sizeof t->last_line, "%s", line);
	log_json(LOG_INFO, "agent-tunnel", "sshd", json_pack("{s:s}", "line", line));
	if (strncmp(line, "Accepted publickey for ", 23) != 0 || *t->accepted)
		return;
	fp = strrchr(line, ' ');
	if (!fp || strncmp(fp + 1, "SHA256:", 7) != 0)
		return;
	snprintf(t->accepted, sizeof t->accepted, "%s", fp + 1);
	t->accepted_mono = monotonic_ms();
	if (agent_port_of_dbx(t->db, t->accepted, &t->port) != 1)
		t->port = 0;
}

/* Once the accepted agent's forward listens, it is connected. */
static void check_forward(struct tunnel *t)
{
	if (!*t->accepted || *t->fingerprint || !t->port || tunnel_port_listening(PROC_NET_TCP, t->port) != 1)
		return;
	snprintf(t->fingerprint, sizeof t->fingerprint, "%s", t->accepted);
	t->connected_at = now_ms() / 1000;
	t->seen_mono = monotonic_ms();
	if (agent_mark_connected_dbx(t->db, t->fingerprint, t->connected_at, (int)getpid(),
				     t->cfg->database.replica_id, t->cluster, sizeof t->cluster) != 0)
		log_msg(LOG_ERROR, "agent-tunnel", "cannot record the connection: %s",
			dbx_errmsg(t->db));
	audit_tunnel(t, "agent_connect", "success", NULL,
		     json_pack("{s:s, s:i}", "fingerprint", t->fingerprint, "tunnel_port", t->port));
}

static pid_t start_sshd(struct tunnel_sshd_args *a, int *err_fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(p[1], STDERR_FILENO) < 0)
			_exit(127);
		execv(a->argv[0], a->argv);
		_exit(127);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	*err_fd = p[0];
	return pid;
}

/* Reads sshd's log until it ends; marks the agent seen meanwhile; forwards signals. */
static void follow(struct tunnel *t, int err_fd, int sig_fd)
{
	char buf[LINE_MAX_LEN + 1];
	size_t have = 0;

	for (;;) {
		struct pollfd pfd[2] = { { err_fd, POLLIN, 0 }, { sig_fd, POLLIN, 0 } };
		bool waiting = *t->accepted && !*t->fingerprint &&
			       monotonic_ms() - t->accepted_mono < FORWARD_WAIT_MS;
		int n = poll(pfd, 2, waiting ? 50 : TUNNEL_ALIVE_SECONDS * 1000);
		ssize_t got;

		check_forward(t);

		if (n < 0 && errno != EINTR)
			return;
		/* Whatever sshd logs meanwhile, last_seen moves every interval while connected. */
		if (*t->fingerprint &&
		    monotonic_ms() - t->seen_mono >= TUNNEL_ALIVE_SECONDS * 1000LL) {
			agent_mark_seen_dbx(t->db, t->fingerprint, now_ms() / 1000, (int)getpid(),
					    t->cfg->database.replica_id);
			t->seen_mono = monotonic_ms();
		}
		if (n > 0 && (pfd[1].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si)
				kill(t->sshd, SIGTERM);
		}
		if (n <= 0 || !(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		got = read(err_fd, buf + have, LINE_MAX_LEN - have);
		if (got <= 0) {
			if (got < 0 && errno == EINTR)
				continue;
			return;
		}
		have += (size_t)got;
		buf[have] = '\0';
		for (char *nl; (nl = strchr(buf, '\n')) != NULL;) {
			*nl = '\0';
			on_sshd_line(t, buf);
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have + 1);
		}
		if (have == LINE_MAX_LEN) {
			on_sshd_line(t, buf);
			have = 0;
		}
	}
}

static int user_name(const struct config *cfg, char *out, size_t len)
{
	struct passwd pw, *found = NULL;
	char buf[1024];

	if (*cfg->agents.ssh_user) {
		snprintf(out, len, "%s", cfg->agents.ssh_user);
		return 0;
	}
	if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &found) != 0 || !found)
		return -1;
	snprintf(out, len, "%s", found->pw_name);
	return 0;
}

int main(void)
{
	struct tunnel t = { 0 };
	struct tunnel_sshd_args args;
	struct config *cfg = NULL;
	char err[1024] = "", dir[2048], keys[2300] = "", host_key[2048], user[256];
	size_t count = 0, len;
	sigset_t set;
	int err_fd = -1, sig_fd = -1, status = 0, rc = 1;

	cfg = config_load(NULL, err, sizeof err);
	if (!cfg) {
		log_msg(LOG_ERROR, "agent-tunnel", "%s", err);
		goto done;
	}
	t.cfg = cfg;
	if (log_sink_open(cfg->server.wsbridge_log, "periscope-agent-tunnel", err, sizeof err) != 0)
		log_msg(LOG_ERROR, "agent-tunnel", "%s; logging to stderr", err);
	if (dbx_open_configured(cfg, &t.db, err, sizeof err) != 0) {
		log_msg(LOG_ERROR, "agent-tunnel", "%s", err);
		goto done;
	}
	/* The host key's directory holds the per-connection keys files too. */
	len = strlen(cfg->agents.host_key_file);
	snprintf(dir, sizeof dir, "%s", cfg->agents.host_key_file);
	if (len < 5 || strcmp(cfg->agents.host_key_file + len - 4, ".pub") != 0 ||
	    !strrchr(dir, '/') || user_name(cfg, user, sizeof user) != 0) {
		log_msg(LOG_ERROR, "agent-tunnel", "agents.hostKeyFile must be the path of a .pub "
			"file, next to its private key");
		goto done;
	}
	snprintf(host_key, sizeof host_key, "%.*s", (int)(len - 4), cfg->agents.host_key_file);
	*strrchr(dir, '/') = '\0';
	snprintf(keys, sizeof keys, "%s/authorized_keys.%ld", dir, (long)getpid());
	if (tunnel_keys_write(t.db, cfg, keys, &count, err, sizeof err) != 0 ||
	    tunnel_sshd_args(&args, host_key, keys, user) != 0) {
		log_msg(LOG_ERROR, "agent-tunnel", "%s", err);
		goto done;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (sig_fd = signalfd(-1, &set, SFD_CLOEXEC)) < 0 ||
	    (t.sshd = start_sshd(&args, &err_fd)) < 0) {
		log_msg(LOG_ERROR, "agent-tunnel", "cannot start %s: %s", SSHD_PATH, strerror(errno));
		goto done;
	}
	/* The WebSocket is sshd's alone: its end is the connection's end. */
	close(STDIN_FILENO);
	close(STDOUT_FILENO);
	follow(&t, err_fd, sig_fd);
	while (waitpid(t.sshd, &status, 0) < 0 && errno == EINTR)
		;
	if (*t.fingerprint) {
		agent_mark_disconnected_dbx(t.db, t.fingerprint, now_ms() / 1000, (int)getpid(),
					    cfg->database.replica_id);
		audit_tunnel(&t, "agent_disconnect", "success", NULL,
			     json_pack("{s:s, s:I, s:s}", "fingerprint", t.fingerprint, "duration_s",
				       (json_int_t)(now_ms() / 1000 - t.connected_at), "last_log",
				       t.last_line));
	} else if (*t.accepted) {
		audit_tunnel(&t, "agent_connect", "denied",
			     "the agent authenticated but its remote forward never listened on its port",
			     json_pack("{s:s, s:i, s:s}", "fingerprint", t.accepted, "tunnel_port", t.port,
				       "last_log", t.last_line));
	} else {
		audit_tunnel(&t, "agent_connect", "denied",
			     "no key of a registered agent of a configured agent cluster was accepted",
			     json_pack("{s:I, s:s}", "keys_offered_to_sshd", (json_int_t)count,
				       "last_log", t.last_line));
	}
	rc = 0;
done:
	if (*keys)
		unlink(keys);
	if (err_fd >= 0)
		close(err_fd);
	if (sig_fd >= 0)
		close(sig_fd);
	dbx_close(t.db);
	config_free(cfg);
	return rc;
}
