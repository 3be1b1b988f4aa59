/* The node-shell backend: an SSM Session Manager session onto the node's EC2 host, opened
 * with the operator's own STS credentials, spoken natively (no session-manager-plugin):
 * StartSession, then the data channel over wss:// with the binary message protocol
 * (lib/aws/ssm_session.c), and TerminateSession on every way out (by the session's guardian
 * when this process dies). The output is kept for the close row within transcriptMaxBytes,
 * its first and its last half (shell/transcript.h). */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws_errors.h"
#include "backends.h"
#include "core/log.h"
#include "shell/node_shell_prep.h"
#include "shell/transcript.h"
#include "store/dbx.h"
#include "store/shell_registry.h"
#include "aws/kms.h"
#include "aws/ssm_api.h"
#include "aws/ssm_guardian.h"
#include "aws/ssm_session.h"
#include "core/timeutil.h"
#include "core/utf8.h"
#include "net/wsclient.h"

#define STREAM_CONNECT_TIMEOUT_MS 15000
#define RESUME_TRIES 5                /* the plugin's DataChannelNumMaxRetries */
#define RESUME_MAX_DELAY_MS 5000      /* its DataChannelRetryMaxIntervalMillis */
#define INPUT_BUFFER (256u * 1024)

struct node_shell {
	struct session *s;
	struct http_wait wait;
	struct node_access access;
	struct ssm_client client;
	struct aws_clock clock;         /* AWS's clock offset, learnt once for the session */
	int credential_seconds;         /* the STS DurationSeconds asked for */
	long long renew_at_ms;          /* monotonic time to assume the role again; 0 = never */
	int resumes;                    /* data channel reconnections (ResumeSession) */
	char resume_error[512];
	struct ssm_started_session started;
	bool session_started;
	struct ssm_guardian guardian;   /* ends the SSM session if this process dies */
	struct ssm_session *channel;
	struct ws_client *ws;
	char channel_error[256];
	/* The output for the close row: head and tail within transcriptMaxBytes. */
	struct transcript transcript;
	unsigned char chunk[32768];
};

static void capture(struct node_shell *ns, const unsigned char *data, size_t len);

/* Moves delivered output on to the browser at once, so that the state machine's output
 * buffer never fills while a burst of messages is read (a full buffer would make it leave
 * messages to the agent's retransmission). */
static int pull_output(struct node_shell *ns)
{
	size_t n;

	while ((n = ssm_session_read_output(ns->channel, ns->chunk, sizeof ns->chunk)) > 0) {
		capture(ns, ns->chunk, n);
		if (session_emit_stdout(ns->s, ns->chunk, n) != 0)
			return -1;
	}
	return 0;
}

/* Hands queued messages (acknowledgements first of all) to the socket. 0, or -1 when the
 * socket is closed; a full socket queue just leaves the rest for later. */
static int push_outgoing(struct node_shell *ns)
{
	const uint8_t *msg;
	size_t len;

	while (ssm_session_peek_outgoing(ns->channel, &msg, &len)) {
		int rc = ws_client_send(ns->ws, WS_OPCODE_BINARY, msg, len);
		if (rc > 0)
			return 0;
		if (rc < 0)
			return -1;
		ssm_session_pop_outgoing(ns->channel);
	}
	return 0;
}

static void on_ws_message(void *ud, enum ws_opcode op, const uint8_t *data, size_t len)
{
	struct node_shell *ns = ud;
	char err[256];

	(void)op;
	if (ssm_session_on_binary(ns->channel, data, len, monotonic_ms(), err, sizeof err) != 0 &&
	    !ns->channel_error[0])
		snprintf(ns->channel_error, sizeof ns->channel_error, "%s", err);
	/* Acknowledge and deliver per message, not per read: a read can hold hundreds. */
	push_outgoing(ns);
	pull_output(ns);
}

static void capture(struct node_shell *ns, const unsigned char *data, size_t len)
{
	transcript_add(&ns->transcript, data, len);
}

/* Moves everything the state machine produced: messages to the agent, output to the
 * browser, events to the session. 0 go on, 1 the session ended, -1 failure. */
/* The agent asks for KMS encryption (the target's Session Manager preferences name a
 * key): a data key from KMS GenerateDataKey with the operator's credentials and the
 * encryption context the agent will decrypt with, handed to the channel, which answers the
 * handshake and then the encryption challenge (session-manager-plugin
 * encryption/encrypter.go, datachannel ProcessKMSEncryptionHandshakeAction). A failure is
 * answered too (the agent ends the session) and ends the terminal with its reason. */
static int kms_handshake(struct node_shell *ns)
{
	struct session *s = ns->s;
	const char *key_id, *challenge;
	uint8_t key[SSM_KMS_DATA_KEY_LEN];
	char endpoint[256], err[512], *blob = NULL;
	struct aws_error aerr = { 0 };
	struct ssm_client kc = ns->client;
	int rc = -1;

	if (ssm_session_kms_request(ns->channel, &key_id, &challenge) != 0)
		return 0;
	if (s->cfg->node_shell.kms_endpoint && *s->cfg->node_shell.kms_endpoint)
		snprintf(endpoint, sizeof endpoint, "%s", s->cfg->node_shell.kms_endpoint);
	else if (kms_default_endpoint(ns->access.region, endpoint, sizeof endpoint) != 0)
		endpoint[0] = '\0';
	kc.endpoint = endpoint;
	if (kms_generate_data_key(&kc, key_id, ns->started.session_id, ns->access.instance_id,
				  challenge, key, &blob, &aerr, err, sizeof err) != 0) {
		char fe[256];

		if (ssm_session_kms_failed(ns->channel, err, monotonic_ms(), fe, sizeof fe) != 0)
			log_msg(LOG_WARN, "node_shell", "session %s: %s", s->session_id, fe);
		(void)push_outgoing(ns);
		session_fail(s, !strcmp(aerr.code, "AccessDeniedException") ? "E_AWS_FORBIDDEN"
									     : SSM_CODE_KMS_FAILED,
			     false, "this node's Session Manager preferences require KMS encryption, "
			     "and the data key could not be had: %s", err);
		goto done;
	}
	if (ssm_session_kms_key(ns->channel, key, blob, monotonic_ms(), err, sizeof err) != 0) {
		session_fail(s, SSM_CODE_KMS_FAILED, false, "KMS handshake: %s", err);
		goto done;
	}
	rc = 0;
done:
	explicit_bzero(key, sizeof key);
	free(blob);
	return rc;
}

static int drain(struct node_shell *ns)
{
	struct session *s = ns->s;
	struct ssm_event ev;

	/* A closed socket keeps its messages queued: the poll loop notices the drop and
	 * resumes the channel (channel_dropped), and they go out on the new one. */
	(void)push_outgoing(ns);
	if (pull_output(ns) != 0)
		return -1;
	while (ssm_session_next_event(ns->channel, &ev)) {
		switch (ev.type) {
		case SSM_EVENT_LIVE:
			break;
		case SSM_EVENT_KMS_KEY_NEEDED:
			if (kms_handshake(ns) != 0)
				return -1;
			(void)push_outgoing(ns);
			break;
		case SSM_EVENT_CLOSED:
			/* SSM tells that the shell ended, not its exit status. */
			session_set_exit(s, "exit", -1);
			return 1;
		default:
			session_fail(s, ev.code ? ev.code : "E_UPSTREAM", false, "%s", ev.text);
			return -1;
		}
	}
	if (ns->channel_error[0]) {
		session_fail(s, "E_UPSTREAM", true, "SSM data channel: %s", ns->channel_error);
		return -1;
	}
	return 0;
}

/* What a lost close row should name (store/shell_lost.h): the SSM session and its host. */
static void record_detail(struct node_shell *ns)
{
	json_t *d = json_pack("{s:s, s:s?, s:s?, s:s}", "ssm_session_id", ns->started.session_id,
			      "instance_id", ns->access.instance_id, "region", ns->access.region,
			      "auth", "sts");
	char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;

	if (!text || shell_registry_set_detail_dbx(ns->s->dbx, ns->s->session_id, text) != 0)
		log_msg(LOG_WARN, "node_shell", "session %s: the registry detail was not recorded",
			ns->s->session_id);
	free(text);
	json_decref(d);
}

static int start_ssm(struct node_shell *ns)
{
	struct session *s = ns->s;
	struct aws_error aerr = { 0 };
	char reason[256], err[512];

	/* CloudTrail and the SSM session history show who opened it and why. */
	snprintf(reason, sizeof reason, "periscope cluster=%.60s node=%.60s actor=%.100s",
		 s->target.cluster, s->target.node, s->id.subject);
	ns->client = (struct ssm_client){ .endpoint = ns->access.ssm_endpoint,
					  .region = ns->access.region,
					  .creds = &ns->access.role.creds,
					  .ca_file = ns->access.ca_file,
					  .clock = &ns->clock, .tally = &s->tally };
	/* The guardian makes the call: from its start the session outlives a killed bridge only
	 * until the guardian ends it. */
	if (ssm_guardian_start_session(&ns->guardian, &ns->client, ns->access.instance_id, reason,
				       &ns->started, &aerr, err, sizeof err) != 0) {
		struct product_error pe = aws_error_classify(AWS_OP_SSM_START_SESSION, &aerr);
		char text[512];

		aws_error_format(&aerr, text, sizeof text);
		session_fail(s, aerr.code[0] && strcmp(pe.code, "E_AWS_API") != 0 ? pe.code
										   : "E_NODE_SHELL_START_FAILED",
			     pe.retryable, "could not start the SSM session: %s", aerr.code[0] ? text : err);
		return -1;
	}
	ns->session_started = true;
	record_detail(ns);
	return 0;
}

/* Opens a WebSocket to url and sends the open message with token (a fresh RequestId, the
 * same ClientId); replaces ns->ws. 0, or -1 with err. */
static int connect_ws(struct node_shell *ns, const char *url, const char *token, char *err,
		      size_t errlen)
{
	struct session *s = ns->s;
	struct ws_client_opts wo = {
		.url = url,
		.ca_file = ns->access.ca_file,
		.connect_timeout_ms = STREAM_CONNECT_TIMEOUT_MS,
		.on_message = on_ws_message,
		.userdata = ns,
		/* The plugin pings every 5 minutes (communicator/websocketchannel.go StartPings);
		 * that would not survive a 60 s L7 proxy, so periscope pings more often. */
		.ping_interval_ms = s->cfg->node_shell.timers.upstream_ping_seconds * 1000,
		.read_timeout_ms = (s->cfg->node_shell.timers.upstream_ping_seconds * 12 + 1) * 1000,
	};
	char *open_msg = NULL;
	int rc = -1;

	if (ns->ws) {
		ws_client_free(ns->ws);
		ns->ws = NULL;
	}
	ns->ws = ws_client_new(&wo, err, errlen);
	if (!ns->ws || ws_client_connect(ns->ws, err, errlen) != 0) {
		upstream_tally_record(&ns->s->tally, UPSTREAM_SSMMESSAGES, ns->ws ? ws_client_http_status(ns->ws) : 0);
		goto done;
	}
	upstream_tally_record(&ns->s->tally, UPSTREAM_SSMMESSAGES, 101);
	open_msg = ssm_session_open_message(ns->channel, token, err, errlen);
	if (!open_msg)
		goto done;
	if (ws_client_send(ns->ws, WS_OPCODE_TEXT, open_msg, strlen(open_msg)) != 0) {
		snprintf(err, errlen, "send failed");
		goto done;
	}
	rc = 0;
done:
	if (open_msg) {
		explicit_bzero(open_msg, strlen(open_msg));
		free(open_msg);
	}
	return rc;
}

static int open_channel(struct node_shell *ns)
{
	struct session *s = ns->s;
	struct ssm_session_opts opts = {
		.session_id = ns->started.session_id,
		.token = ns->started.token_value,
		.cols = s->cols > 0 ? (uint32_t)s->cols : 0,
		.rows = s->rows > 0 ? (uint32_t)s->rows : 0,
		.input_buffer = INPUT_BUFFER,
		/* Room for a loss burst: the agent resends only its oldest unacknowledged message
		 * per tick, so whatever does not fit here costs a tick each. Slots are touched
		 * only when used, so the window costs memory only under loss. */
		.reorder_window = 4096,
		.out_queue = 256,
		.output_buffer = 256u * 1024,
		.kms_supported = 1,
	};
	char err[512];

	ns->channel = ssm_session_new(&opts, err, sizeof err);
	if (!ns->channel) {
		session_fail(s, "E_INTERNAL", false, "cannot set up the data channel: %s", err);
		return -1;
	}
	if (connect_ws(ns, ns->started.stream_url, NULL, err, sizeof err) != 0) {
		session_fail(s, "E_UPSTREAM", true, "cannot open the SSM data channel: %s", err);
		return -1;
	}
	return 0;
}

/* The data channel dropped (reset, closed without channel_closed, silent past the read
 * deadline): ResumeSession gives a new token, and the channel is opened again, up to
 * RESUME_TRIES times with a doubling delay from 100-200 ms, at most 5 s, as the plugin
 * does (sessionmanagerplugin/session/sessionhandler.go OpenDataChannel's retryer around
 * ResumeSessionHandler; config.go DataChannelNumMaxRetries, DataChannelRetryInitialDelayMillis,
 * DataChannelRetryMaxIntervalMillis). Sequence numbers and both buffers stay: the agent
 * resends what was not acknowledged, duplicates are acknowledged again and not shown twice
 * (lib/aws/ssm_session.c), and unacknowledged input goes out again at once.
 * 0 reconnected; 1 the session is gone (ResumeSession gave no token); -1 failed. */
static int resume_channel(struct node_shell *ns, const char *why)
{
	struct session *s = ns->s;
	long delay = 100 + (long)(aws_retry_rand01() * 100);
	char err[512] = "";

	log_json(LOG_WARN, "node_shell", "SSM data channel dropped; resuming",
		 json_pack("{s:s, s:s, s:s}", "session_id", s->session_id, "ssm_session_id",
			   ns->started.session_id, "why", why));
	for (int attempt = 1; attempt <= RESUME_TRIES; attempt++) {
		struct ssm_started_session r = { 0 };
		struct aws_error aerr = { 0 };
		int rc;

		aws_retry_sleep_ms(delay);
		delay = delay * 2 > RESUME_MAX_DELAY_MS ? RESUME_MAX_DELAY_MS : delay * 2;
		if (ssm_resume_session(&ns->client, ns->started.session_id, &r, &aerr, err,
				       sizeof err) != 0)
			continue;
		if (!*r.token_value) {
			ssm_started_session_free(&r);
			return 1;
		}
		/* A fresh StreamUrl may carry another cell-number: prefer it. */
		rc = connect_ws(ns, *r.stream_url ? r.stream_url : ns->started.stream_url,
				r.token_value, err, sizeof err);
		ssm_started_session_free(&r);
		if (rc == 0) {
			ssm_session_reconnected(ns->channel, monotonic_ms());
			ns->resumes++;
			log_json(LOG_INFO, "node_shell", "SSM data channel resumed",
				 json_pack("{s:s, s:i}", "session_id", s->session_id, "attempt", attempt));
			return 0;
		}
	}
	snprintf(ns->resume_error, sizeof ns->resume_error, "%.255s", err); /* truncated */
	return -1;
}

/* What to do when the channel is gone without channel_closed. 0 go on (resumed), 1 the
 * session ended, -1 failure. */
static int channel_dropped(struct node_shell *ns, const char *why)
{
	struct session *s = ns->s;
	enum ssm_session_state st = ssm_session_state(ns->channel);
	int rc;

	if (st == SSM_STATE_CLOSED || st == SSM_STATE_FAILED) {
		session_set_exit(s, "upstream_closed", -1);
		return 1;
	}
	rc = resume_channel(ns, why);
	if (rc == 0)
		return drain(ns) < 0 ? -1 : 0;
	if (rc == 1) {
		/* ResumeSession says the session is over (timed out or terminated). */
		session_set_exit(s, "upstream_closed", -1);
		return 1;
	}
	session_fail(s, "E_UPSTREAM", true, "the SSM data channel failed (%s) and could not be resumed: %s",
		     why, ns->resume_error[0] ? ns->resume_error : "no answer");
	return -1;
}

/* The STS lifetime to ask for: the session's maximum and a margin for the
 * TerminateSession at its end, or (no maximum) as long as allowed; capped by
 * nodeShell.maxCredentialSeconds and STS's 900..43200. A role allowing less gets 3600 and
 * the credentials are renewed before they expire (schedule_renewal). */
static int credential_seconds(const struct config *cfg)
{
	long long want = cfg->node_shell.timers.max_duration_seconds > 0
				 ? (long long)cfg->node_shell.timers.max_duration_seconds + 300
				 : 43200;

	if (want > cfg->node_shell.max_credential_seconds)
		want = cfg->node_shell.max_credential_seconds;
	if (want > 43200)
		want = 43200;
	if (want < 900)
		want = 900;
	return (int)want;
}

/* Renews 5 minutes before the credentials expire (or at half their lifetime when they are
 * shorter), on AWS's clock, so TerminateSession and ResumeSession always have valid ones. */
static void schedule_renewal(struct node_shell *ns)
{
	long long left = ns->access.role.expiration_unix - (long long)aws_clock_now(&ns->clock, 0);
	long long lead = left / 2 < 300 ? left / 2 : 300;

	ns->renew_at_ms = ns->access.role.expiration_unix > 0
				  ? monotonic_ms() + (left - lead > 0 ? left - lead : 0) * 1000
				  : 0;
}

static void renew_credentials(struct node_shell *ns, long long now)
{
	struct session *s = ns->s;
	char err[512];

	/* What the role granted last time: a role that refused the longer lifetime is not
	 * asked for it again. */
	if (node_shell_renew_credentials(s->cfg, s->auth, s->cookie, ns->access.duration_seconds,
					 &ns->access, err, sizeof err) == 0) {
		log_json(LOG_INFO, "node_shell", "AWS credentials renewed",
			 json_pack("{s:s, s:I}", "session_id", s->session_id, "expires",
				   (json_int_t)ns->access.role.expiration_unix));
		ssm_guardian_update(&ns->guardian, &ns->access.role.creds);
		schedule_renewal(ns);
		return;
	}
	/* The old ones still work until they expire: try again in 30 s. */
	log_json(LOG_WARN, "node_shell", "renewing AWS credentials failed",
		 json_pack("{s:s, s:s}", "session_id", s->session_id, "error", err));
	ns->renew_at_ms = now + 30000;
}

static int ns_start(struct session *s)
{
	struct node_shell *ns = calloc(1, sizeof *ns);
	struct gate_answer ans = { 0 };

	if (!ns) {
		session_fail(s, "E_INTERNAL", false, "out of memory");
		return -1;
	}
	s->backend = ns;
	ns->s = s;
	ns->guardian.fd = -1;
	if (transcript_init(&ns->transcript, (size_t)s->cfg->node_shell.transcript_max_bytes) != 0) {
		session_fail(s, "E_INTERNAL", false, "out of memory");
		return -1;
	}
	session_http_wait(s, &ns->wait);
	ns->credential_seconds = credential_seconds(s->cfg);
	if (node_shell_prepare_session(s->cfg, s->creds, s->auth, s->cookie, &s->target, &s->id,
				       &ns->wait, ns->credential_seconds, &ns->access,
			       &ans) != 0) {
		if (!s->close_reason[0])
			session_fail(s, ans.code, ans.status >= 500, "%s", ans.message);
		gate_answer_clear(&ans);
		return -1;
	}
	if (start_ssm(ns) != 0 || open_channel(ns) != 0)
		return -1;
	schedule_renewal(ns);
	return 0;
}

static int ns_add_fds(struct session *s, struct pollfd *fds, int max, bool read_ok)
{
	struct node_shell *ns = s->backend;

	if (!ns || !ns->ws || max < 1)
		return 0;
	ws_client_pause_reading(ns->ws, !read_ok);
	fds[0] = (struct pollfd){ ws_client_fd(ns->ws), ws_client_poll_events(ns->ws), 0 };
	return 1;
}

static int ns_on_events(struct session *s, struct pollfd *fds, int n)
{
	struct node_shell *ns = s->backend;
	struct ws_close_info info;

	if (n < 1)
		return 0;
	if ((fds[0].revents || ws_client_has_buffered_input(ns->ws)) &&
	    ws_client_on_ready(ns->ws, fds[0].revents) < 0 && !ws_client_closed(ns->ws)) {
		ws_client_close_info(ns->ws, &info);
		return channel_dropped(ns, info.error ? info.error : "connection lost");
	}
	if (drain(ns) != 0)
		return s->fail_code ? -1 : 1;
	/* The acks drain() queued and the keystrokes this pass read from the browser leave now
	 * rather than after one more poll() for POLLOUT (a keystroke's round trip waited for it). */
	if (ws_client_flush(ns->ws) < 0 && !ws_client_closed(ns->ws)) {
		ws_client_close_info(ns->ws, &info);
		return channel_dropped(ns, info.error ? info.error : "connection lost");
	}
	if (ws_client_closed(ns->ws)) {
		ws_client_close_info(ns->ws, &info);
		return channel_dropped(ns, info.error ? info.error : "closed without channel_closed");
	}
	return 0;
}

static int ns_send_input(struct session *s, const unsigned char *data, size_t len)
{
	struct node_shell *ns = s->backend;
	char err[256];
	ssize_t taken;

	if (!ns || !ns->channel)
		return 0;
	taken = ssm_session_send_input(ns->channel, data, len, monotonic_ms(), err, sizeof err);
	if (taken < 0 || (size_t)taken < len) {
		session_fail(s, "E_UPSTREAM", true, "the node is not taking input: %s",
			     taken < 0 ? err : "input buffer full");
		return -1;
	}
	return drain(ns) < 0 ? -1 : 0;
}

static int ns_resize(struct session *s, int cols, int rows)
{
	struct node_shell *ns = s->backend;
	char err[256];

	if (!ns || !ns->channel)
		return 0;
	if (ssm_session_resize(ns->channel, (uint32_t)cols, (uint32_t)rows, monotonic_ms(), err,
			       sizeof err) != 0)
		return 0; /* a resize the channel cannot take yet is resent when it goes live */
	return drain(ns) < 0 ? -1 : 0;
}

static long long ns_next_tick(struct session *s)
{
	struct node_shell *ns = s->backend;
	long long now = monotonic_ms(), t;

	if (!ns || !ns->channel)
		return -1;
	if (ns->ws && ws_client_has_buffered_input(ns->ws))
		return now;
	t = ssm_session_next_timeout(ns->channel, now);
	t = t < 0 ? -1 : now + t;
	if (ns->renew_at_ms && (t < 0 || ns->renew_at_ms < t))
		t = ns->renew_at_ms;
	if (ns->ws) {
		long long k = ws_client_next_keepalive(ns->ws, now);

		if (k >= 0 && (t < 0 || k < t))
			t = k;
	}
	return t;
}

static int ns_tick(struct session *s, long long now)
{
	struct node_shell *ns = s->backend;
	char err[256];

	if (!ns || !ns->channel)
		return 0;
	if (ns->renew_at_ms && now >= ns->renew_at_ms)
		renew_credentials(ns, now);
	if (ns->ws && (ws_client_closed(ns->ws) || ws_client_keepalive(ns->ws, now) != 0)) {
		struct ws_close_info info;
		int rc;

		ws_client_close_info(ns->ws, &info);
		rc = channel_dropped(ns, info.error ? info.error : "connection lost");
		if (rc != 0)
			return rc;
	}
	if (ssm_session_tick(ns->channel, now, err, sizeof err) != 0) {
		session_fail(s, "E_UPSTREAM", true, "SSM data channel: %s", err);
		return -1;
	}
	return drain(ns) < 0 ? -1 : (s->close_reason[0] ? 1 : 0);
}

static void ns_describe(struct session *s, json_t *extra)
{
	struct node_shell *ns = s->backend;

	json_object_set_new(extra, "node", json_string(s->target.node));
	if (!ns)
		return;
	json_object_set_new(extra, "auth", json_string("sts"));
	if (ns->access.instance_id)
		json_object_set_new(extra, "instance_id", json_string(ns->access.instance_id));
	if (ns->access.region)
		json_object_set_new(extra, "region", json_string(ns->access.region));
	if (ns->access.role_session_name[0])
		json_object_set_new(extra, "role_session_name", json_string(ns->access.role_session_name));
	if (ns->access.role.assumed_role_arn)
		json_object_set_new(extra, "assumed_role_arn", json_string(ns->access.role.assumed_role_arn));
	if (ns->session_started)
		json_object_set_new(extra, "ssm_session_id", json_string(ns->started.session_id));
}

static void ns_teardown(struct session *s, json_t *extra)
{
	struct node_shell *ns = s->backend;

	if (!ns)
		return;
	ns_describe(s, extra);
	if (ns->ws) {
		ws_client_close(ns->ws, 1000, "session ended");
		ws_client_free(ns->ws);
	}
	if (ns->session_started) {
		struct aws_error aerr = { 0 };
		char err[256];
		/* Best effort, but on every path: the session must not outlive the browser's. When
		 * it fails here, the guardian tries again. */
		if (ssm_terminate_session(&ns->client, ns->started.session_id, &aerr, err, sizeof err) != 0) {
			log_json(LOG_WARN, "node_shell", "TerminateSession failed",
				 json_pack("{s:s, s:s}", "ssm_session_id", ns->started.session_id, "error",
					   aerr.code[0] ? aerr.code : err));
			ssm_guardian_abandon(&ns->guardian);
		} else {
			ssm_guardian_release(&ns->guardian);
		}
	}
	if (ns->channel) {
		struct ssm_session_stats st;
		ssm_session_get_stats(ns->channel, &st);
		/* How the data channel fared: useful when a session felt slow. */
		json_object_set_new(extra, "channel", json_pack("{s:I, s:I, s:I, s:I, s:I, s:i}",
			"messages_in", (json_int_t)st.messages_in, "duplicates", (json_int_t)st.duplicates,
			"dropped_window", (json_int_t)st.dropped_window, "retransmits", (json_int_t)st.retransmits,
			"acks_sent", (json_int_t)st.acks_sent, "resumes", ns->resumes));
	}
	/* The text goes into the row as JSON already escaped (audit.h extra_raw). */
	if (transcript_to_json(&ns->transcript, extra, &s->close_raw) != 0)
		log_json(LOG_ERROR, "node_shell", "the transcript could not be written to the close row", NULL);
	s->close_raw_keys = transcript_member_keys();
	ssm_session_free(ns->channel);
	ssm_started_session_free(&ns->started);
	node_access_clear(&ns->access);
	transcript_free(&ns->transcript);
	free(ns);
	s->backend = NULL;
}

const struct backend_ops node_shell_ops = {
	.kind = "ssm_session",
	.open_row_after_start = true,
	.start = ns_start,
	.add_fds = ns_add_fds,
	.on_events = ns_on_events,
	.send_input = ns_send_input,
	.resize = ns_resize,
	.next_tick = ns_next_tick,
	.tick = ns_tick,
	.teardown = ns_teardown,
	.describe = ns_describe,
};
