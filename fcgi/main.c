/* periscope.fcgi: the FastCGI application behind lighttpd or Apache. It answers the API
 * (auth, clusters, audit, ...) and, as a FastCGI authorizer, gates the WebSocket routes
 * before the web server hands them to websocketd.
 *
 * The listening sockets are --socket PATH|HOST:PORT (up to four: Apache's API over a Unix
 * socket, its terminal gate over TCP; listeners.h), else systemd's (LISTEN_FDS), else fd 0
 * (spawn-fcgi, lighttpd bin-path, mod_fcgid). Worker threads each own a database connection.
 * SIGTERM/SIGINT end it cleanly: libfcgi's own handler only sets a flag, so the main thread
 * waits for the signal and shuts the listening sockets to wake every worker's wait. */
#include <curl/curl.h>
#include <errno.h>
#include <fcgiapp.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app.h"
#include "connection.h"
#include "handlers.h"
#include "listeners.h"
#include "config/config.h"
#include "k8s/cluster_check.h"
#include "k8s/cred_cache.h"
#include "store/db.h"
#include "store/db_check.h"
#include "store/dbx_config.h"
#include "core/log.h"
#include "maintenance.h"
#include "metrics/metrics_store.h"
#include "request.h"
#include "router.h"
#include "shell/fork_limit.h"

#define MAX_WORKERS 64

struct worker_thread {
	pthread_t thread;
	const struct config *cfg;
	struct cred_cache *creds;
	const struct listeners *listeners;
};

static void serve_one(struct worker *w, FCGX_Request *fcgx)
{
	struct request rq;

	if (request_init(&rq, fcgx, w) == 0)
		router_dispatch(&rq);
	else
		respond_error(&rq, 500, "E_INTERNAL", "out of memory", NULL);
	request_cleanup(&rq);
	/* Upstream calls this request made, into the shared counters (kept for the next
	 * request if the database is busy now). */
	cred_cache_take_tally(w->creds, &w->tally);
	if (metrics_upstream_flush_dbx(w->dbx, &w->tally) != 0)
		log_msg(LOG_WARN, "fcgi", "upstream counts not recorded yet: %s", dbx_errmsg(w->dbx));
}

static void *worker_main(void *arg)
{
	struct worker_thread *t = arg;
	struct worker w;
	struct listener_wait wait;
	FCGX_Request *fcgx;
	char err[512];

	if (worker_init(&w, t->cfg, err, sizeof err) != 0) {
		log_msg(LOG_ERROR, "fcgi", "worker cannot start: %s", err);
		return NULL;
	}
	w.creds = t->creds;
	if (listener_wait_init(&wait, t->listeners) != 0) {
		log_msg(LOG_ERROR, "fcgi", "worker cannot wait on its sockets: %s", strerror(errno));
		worker_cleanup(&w);
		return NULL;
	}
	while ((fcgx = listener_wait_accept(&wait)) != NULL) {
		serve_one(&w, fcgx);
		connection_close_plainly_when_read(fcgx);
		FCGX_Finish_r(fcgx);
	}
	listener_wait_free(&wait);
	worker_cleanup(&w);
	return NULL;
}

/* --check-ready: the checks /readyz makes, for a systemd unit or a script on the host. */
static int ready_once(const struct config *cfg)
{
	struct worker w;
	json_t *report = NULL;
	char err[1024], *text;
	bool ready;

	if (worker_init(&w, cfg, err, sizeof err) != 0) {
		printf("{\"status\":\"not_ready\",\"failing\":\"database\"}\n");
		fprintf(stderr, "periscope.fcgi: %s\n", err);
		return EXIT_FAILURE;
	}
	ready = health_ready(&w, &report);
	text = report ? json_dumps(report, JSON_COMPACT) : NULL;
	printf("%s\n", text ? text : "{\"status\":\"not_ready\"}");
	free(text);
	json_decref(report);
	worker_cleanup(&w);
	return ready ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* --check-config: the file, then per cluster what its backend needs and whether it is
 * there (a kubeconfig that loads, the service account, the server's AWS identity and
 * eks:DescribeCluster). The exit status is the file's: a cluster that is not reachable
 * yet (its access entry still being created, say) must not keep the service from
 * starting, so it is reported, not fatal. The database is: without it nothing is served. */
static int check_config(const struct config *cfg, struct cred_cache *creds)
{
	char db_line[2048];
	int db_ok;

	printf("configuration OK (%s)\n", *cfg->source_path ? cfg->source_path : "defaults");
	db_ok = db_check(cfg, db_line, sizeof db_line) == 0;
	printf("database %s\n", db_line);
	for (size_t i = 0; i < cfg->clusters_count; i++) {
		const struct cluster_config *c = &cfg->clusters[i];
		char line[1536];
		int ok = cluster_check(c, creds, line, sizeof line) == 0;

		printf("cluster %s: %s: %s\n", c->name, ok ? "ready" : "NOT READY", line);
	}
	return db_ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

static void usage(FILE *out)
{
	fputs("usage: periscope.fcgi [--config FILE] [--socket PATH|HOST:PORT]... [--check-config]\n"
	      "  --config FILE     configuration (default: $PERISCOPE_CONFIG)\n"
	      "  --socket ADDR     listen there instead of fd 0 / systemd's sockets (up to 4 times)\n"
	      "  --check-config    load and validate the configuration, then exit\n"
	      "  --check-ready     run /readyz's checks once, print their JSON, exit 0 if ready\n"
	      "  --print-maxforks  print websocketd's --maxforks for the configured caps, exit\n",
	      out);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "check-ready", no_argument, NULL, 'r' },
		{ "print-maxforks", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct worker_thread threads[MAX_WORKERS];
	struct maintenance maint = { 0 };
	const char *config_path = NULL, *socket_specs[LISTENERS_MAX];
	size_t n_specs = 0;
	struct listeners listeners;
	bool check_only = false, check_ready = false, print_maxforks = false;
	struct config *cfg = NULL;
	struct cred_cache *creds = NULL;
	struct dbx *db = NULL;
	sigset_t signals;
	int opt, sig, n_workers, started = 0, status = EXIT_FAILURE;
	char err[1024];

	while ((opt = getopt_long(argc, argv, "c:s:krmh", options, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 's':
			if (n_specs == LISTENERS_MAX) {
				fprintf(stderr, "periscope.fcgi: at most %d --socket\n", LISTENERS_MAX);
				return 2;
			}
			socket_specs[n_specs++] = optarg;
			break;
		case 'k': check_only = true; break;
		case 'r': check_ready = true; break;
		case 'm': print_maxforks = true; break;
		case 'h': usage(stdout); return EXIT_SUCCESS;
		default: usage(stderr); return 2;
		}
	}
	/* Block the shutdown signals in every thread; the main thread takes them with sigwait. */
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	cfg = config_load(config_path, err, sizeof err);
	if (!cfg) {
		fprintf(stderr, "periscope.fcgi: %s\n", err);
		return 2;
	}
	/* Only the number on stdout: dev/up, the test stack and the systemd unit's ExecStartPre
	 * put it on websocketd's command line (shell/fork_limit.h says why it is above the caps). */
	if (print_maxforks) {
		printf("%ld\n", fork_limit(cfg));
		config_free(cfg);
		return EXIT_SUCCESS;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(creds = cred_cache_new(cfg))) {
		fprintf(stderr, "periscope.fcgi: library initialisation failed\n");
		goto done;
	}
	if (check_ready) {
		status = ready_once(cfg);
		config_free(cfg);
		return status;
	}
	if (check_only) {
		status = check_config(cfg, creds);
		goto done;
	}
	if (FCGX_Init() != 0) {
		fprintf(stderr, "periscope.fcgi: library initialisation failed\n");
		goto done;
	}
	/* Fail fast on an unusable database (and migrate it once, before the workers). */
	if (dbx_open_configured(cfg, &db, err, sizeof err) != 0) {
		fprintf(stderr, "periscope.fcgi: %s\n", err);
		goto done;
	}
	dbx_close(db);
	if (listeners_open(&listeners, socket_specs, n_specs, err, sizeof err) != 0) {
		fprintf(stderr, "periscope.fcgi: %s\n", err);
		goto done;
	}
	if (maintenance_start(&maint, cfg, creds) != 0)
		log_msg(LOG_WARN, "fcgi", "maintenance thread did not start");
	n_workers = cfg->server.workers > MAX_WORKERS ? MAX_WORKERS : cfg->server.workers;
	for (; started < n_workers; started++) {
		threads[started].cfg = cfg;
		threads[started].creds = creds;
		threads[started].listeners = &listeners;
		if (pthread_create(&threads[started].thread, NULL, worker_main, &threads[started]) != 0)
			break;
	}
	log_json(LOG_INFO, "fcgi", "periscope.fcgi ready",
		 json_pack("{s:i, s:s}", "workers", started, "config",
			   *cfg->source_path ? cfg->source_path : "defaults"));
	while (sigwait(&signals, &sig) != 0)
		;
	log_msg(LOG_INFO, "fcgi", "signal %d: shutting down", sig);
	FCGX_ShutdownPending();
	listeners_shutdown(&listeners);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i].thread, NULL);
	maintenance_stop(&maint);
	status = EXIT_SUCCESS;
done:
	cred_cache_free(creds);
	config_free(cfg);
	curl_global_cleanup();
	return status;
}
