/* The SSM session state machine driven in memory by a fake agent written here: the fake
 * encodes what an agent (through MGS) would send, feeds it to the session with a
 * controlled clock, and decodes and checks everything the session puts on the wire. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "aws/ssm_message.h"
#include "aws/ssm_payloads.h"
#include "aws/ssm_session.h"
#include "ssm_vectors.h"
#include "unit.h"

#define MAX_SEEN 1024
#define T0 1000000LL   /* monotonic ms at the start of each test */

/* One message the session sent, as the agent decodes it. */
struct seen {
	char type[SSM_MESSAGE_TYPE_LEN + 1];
	int64_t seq;
	uint64_t flags;
	uint32_t payload_type;
	uint8_t id[SSM_UUID_LEN];
	uint8_t payload[SSM_SEND_PAYLOAD_MAX + 1];  /* NUL-terminated for JSON checks */
	size_t len;
	uint8_t frame[SSM_HEADER_SIZE + SSM_SEND_PAYLOAD_MAX];
	size_t frame_len;
};

struct agent {
	struct ssm_session *s;
	long long now;
	int64_t out_seq;          /* the agent's next output sequence number */
	struct seen *seen;        /* MAX_SEEN, on the heap */
	size_t n_seen, n_read;    /* n_read: how many next_sent() has handed out */
};

static long long fixed_wall_clock(void *ctx)
{
	(void)ctx;
	return (long long)SSM_VECTOR_CREATED_MS;
}

static void agent_start(struct agent *a, struct ssm_session_opts *opts)
{
	char err[160] = "";

	memset(a, 0, sizeof *a);
	a->seen = calloc(MAX_SEEN, sizeof *a->seen);
	ck_assert_ptr_nonnull(a->seen);
	a->now = T0;
	opts->wall_clock_ms = fixed_wall_clock;
	if (!opts->session_id)
		opts->session_id = "alice-0a1b2c3d";
	if (!opts->token)
		opts->token = "TOKEN-abc";
	a->s = ssm_session_new(opts, err, sizeof err);
	ck_assert_msg(a->s != NULL, "%s", err);
}

static void agent_stop(struct agent *a)
{
	ssm_session_free(a->s);
	free(a->seen);
}

/* Takes everything the session wants to send, as the transport would. */
static void collect(struct agent *a)
{
	const uint8_t *data;
	size_t len;

	while (ssm_session_peek_outgoing(a->s, &data, &len)) {
		struct seen *m;
		struct ssm_message msg;
		char err[160] = "";

		ck_assert_uint_lt(a->n_seen, MAX_SEEN);
		m = &a->seen[a->n_seen++];
		ck_assert_msg(ssm_message_decode(data, len, &msg, err, sizeof err) == 0,
			      "the session sent an invalid message: %s", err);
		ck_assert_uint_eq(msg.schema_version, 1);
		ck_assert_uint_eq(msg.created_date_ms, SSM_VECTOR_CREATED_MS);
		ck_assert_uint_gt(msg.payload_length, 0);
		memcpy(m->type, msg.message_type, sizeof m->type);
		m->seq = msg.sequence_number;
		m->flags = msg.flags;
		m->payload_type = msg.payload_type;
		memcpy(m->id, msg.message_id, SSM_UUID_LEN);
		memcpy(m->payload, msg.payload, msg.payload_length);
		m->payload[msg.payload_length] = '\0';
		m->len = msg.payload_length;
		memcpy(m->frame, data, len);
		m->frame_len = len;
		ssm_session_pop_outgoing(a->s);
	}
}

/* The next message sent since the last call, or NULL. */
static struct seen *next_sent(struct agent *a)
{
	collect(a);
	return a->n_read < a->n_seen ? &a->seen[a->n_read++] : NULL;
}

static void assert_nothing_sent(struct agent *a)
{
	struct seen *m = next_sent(a);

	ck_assert_msg(m == NULL, "unexpected %s seq %lld: %s", m ? m->type : "",
		      m ? (long long)m->seq : 0LL, m ? (const char *)m->payload : "");
}

static void feed(struct agent *a, const char *type, int64_t seq, uint64_t flags,
		 uint32_t payload_type, const void *payload, size_t len)
{
	struct ssm_message m;
	uint8_t frame[SSM_HEADER_SIZE + 8192];
	size_t flen = 0;
	char err[160] = "";

	memset(&m, 0, sizeof m);
	snprintf(m.message_type, sizeof m.message_type, "%s", type);
	m.schema_version = 1;
	m.created_date_ms = SSM_VECTOR_CREATED_MS;
	m.sequence_number = seq;
	m.flags = flags;
	ssm_uuid_generate(m.message_id);
	m.payload_type = payload_type;
	m.payload = payload;
	m.payload_length = (uint32_t)len;
	ck_assert_int_eq(ssm_message_encode(&m, frame, sizeof frame, &flen, err, sizeof err), 0);
	ck_assert_msg(ssm_session_on_binary(a->s, frame, flen, a->now, err, sizeof err) == 0,
		      "%s", err);
}

static void feed_json(struct agent *a, const char *type, int64_t seq, uint32_t payload_type,
		      const char *json)
{
	feed(a, type, seq, 0, payload_type, json, strlen(json));
}

static void feed_output(struct agent *a, int64_t seq, uint32_t payload_type, const char *text)
{
	feed(a, SSM_MT_OUTPUT, seq, seq == 0 ? SSM_FLAG_SYN : 0, payload_type, text, strlen(text));
}

/* The agent acknowledges the client's stream message seq. */
static void feed_ack(struct agent *a, int64_t seq)
{
	char json[256];

	snprintf(json, sizeof json,
		 "{\"AcknowledgedMessageType\":\"input_stream_data\",\"AcknowledgedMessageId\":"
		 "\"00000000-0000-4000-8000-000000000000\",\"AcknowledgedMessageSequenceNumber\":%lld,"
		 "\"IsSequentialMessage\":true}", (long long)seq);
	feed(a, SSM_MT_ACK, 0, SSM_ACK_FLAGS, SSM_PT_NONE, json, strlen(json));
}

static void feed_control(struct agent *a, const char *type)
{
	feed(a, type, 0, SSM_ACK_FLAGS, SSM_PT_NONE, "{}", 2);
}

/* Asserts that the next message is an ack of output seq. */
static void expect_ack(struct agent *a, int64_t seq)
{
	struct seen *m = next_sent(a);
	struct ssm_ack ack;
	char err[160] = "";

	ck_assert_msg(m != NULL, "no ack of output %lld", (long long)seq);
	ck_assert_str_eq(m->type, SSM_MT_ACK);
	ck_assert_int_eq(m->seq, 0);
	ck_assert_uint_eq(m->flags, 3);
	ck_assert_uint_eq(m->payload_type, 0);
	ck_assert_int_eq(ssm_ack_parse(m->payload, m->len, &ack, err, sizeof err), 0);
	ck_assert_str_eq(ack.acked_type, SSM_MT_OUTPUT);
	ck_assert_int_eq(ack.acked_sequence, seq);
	ck_assert_int_eq(ack.is_sequential, 1);
}

/* Asserts that the next message is input_stream_data seq of that type and payload. */
static struct seen *expect_input(struct agent *a, int64_t seq, uint32_t payload_type,
				 const char *payload)
{
	struct seen *m = next_sent(a);

	ck_assert_msg(m != NULL, "no input seq %lld", (long long)seq);
	ck_assert_str_eq(m->type, SSM_MT_INPUT);
	ck_assert_int_eq(m->seq, seq);
	ck_assert_uint_eq(m->flags, 0);
	ck_assert_uint_eq(m->payload_type, payload_type);
	if (payload)
		ck_assert_str_eq((const char *)m->payload, payload);
	return m;
}

static void expect_event(struct agent *a, enum ssm_event_type type, struct ssm_event *ev)
{
	ck_assert_msg(ssm_session_next_event(a->s, ev) == 1, "no event (wanted %d)", type);
	ck_assert_int_eq(ev->type, type);
}

static void expect_output(struct agent *a, const char *text)
{
	char buf[8192];
	size_t n = ssm_session_read_output(a->s, (uint8_t *)buf, sizeof buf - 1);

	buf[n] = '\0';
	ck_assert_str_eq(buf, text);
}

static void send_text(struct agent *a, const char *text)
{
	char err[160] = "";

	ck_assert_int_eq(ssm_session_send_input(a->s, (const uint8_t *)text, strlen(text), a->now,
						err, sizeof err), (ssize_t)strlen(text));
}

/* The session with the no-handshake start done: seq 0 output shown, acked, size sent. */
static void start_live(struct agent *a, struct ssm_session_opts *opts)
{
	struct ssm_event ev;

	agent_start(a, opts);
	feed_output(a, 0, SSM_PT_OUTPUT, "sh-5.2$ ");
	expect_ack(a, 0);
	expect_input(a, 0, SSM_PT_SIZE, NULL);
	expect_event(a, SSM_EVENT_LIVE, &ev);
	expect_output(a, "sh-5.2$ ");
}

static const char handshake_request_shell[] =
	"{\"AgentVersion\":\"3.3.40.0\",\"RequestedClientActions\":[{\"ActionType\":"
	"\"SessionType\",\"ActionParameters\":{\"SessionType\":\"Standard_Stream\","
	"\"Properties\":null}}]}";

/* ---- tests ---- */

START_TEST(open_message_carries_token_and_fresh_request_ids)
{
	struct ssm_session_opts opts = { 0 };
	struct agent a;
	char err[160] = "", *first, *second;
	json_t *j1, *j2;

	agent_start(&a, &opts);
	first = ssm_session_open_message(a.s, NULL, err, sizeof err);
	second = ssm_session_open_message(a.s, "TOKEN-new", err, sizeof err);
	ck_assert_ptr_nonnull(first);
	ck_assert_ptr_nonnull(second);
	ck_assert_int_eq(strncmp(first, "{\"MessageSchemaVersion\":\"1.0\",\"RequestId\":\"", 43), 0);
	j1 = json_loads(first, 0, NULL);
	j2 = json_loads(second, 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(j1, "TokenValue")), "TOKEN-abc");
	ck_assert_str_eq(json_string_value(json_object_get(j2, "TokenValue")), "TOKEN-new");
	ck_assert_str_eq(json_string_value(json_object_get(j1, "ClientVersion")), "1.2.0.0");
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(j1, "RequestId"))), 36);
	ck_assert_str_ne(json_string_value(json_object_get(j1, "RequestId")),
			 json_string_value(json_object_get(j2, "RequestId")));
	ck_assert_str_eq(json_string_value(json_object_get(j1, "ClientId")),
			 json_string_value(json_object_get(j2, "ClientId")));
	json_decref(j1);
	json_decref(j2);
	free(first);
	free(second);
	agent_stop(&a);
}
END_TEST

START_TEST(no_handshake_start_acks_prompt_then_sends_size_then_queued_input)
{
	struct ssm_session_opts opts = { .cols = 80, .rows = 24 };
	struct agent a;
	struct ssm_event ev;
	struct seen *m;

	agent_start(&a, &opts);
	send_text(&a, "ls\r");          /* typed before the agent said anything */
	assert_nothing_sent(&a);
	ck_assert_int_eq(ssm_session_state(a.s), SSM_STATE_STARTING);

	feed_output(&a, 0, SSM_PT_OUTPUT, "sh-5.2$ ");
	expect_ack(&a, 0);
	expect_input(&a, 0, SSM_PT_SIZE, "{\"cols\":80,\"rows\":24}");
	m = expect_input(&a, 1, SSM_PT_OUTPUT, "ls\r");
	ck_assert_uint_eq(m->frame_len, 123);
	assert_nothing_sent(&a);
	expect_event(&a, SSM_EVENT_LIVE, &ev);
	ck_assert_str_eq(ev.text, "");
	ck_assert_int_eq(ssm_session_state(a.s), SSM_STATE_LIVE);
	expect_output(&a, "sh-5.2$ ");
	agent_stop(&a);
}
END_TEST

START_TEST(ack_echoes_the_acked_message_id)
{
	struct ssm_session_opts opts = { 0 };
	struct agent a;
	uint8_t v3[SSM_HEADER_SIZE + 64];
	size_t len = 0;
	struct seen *m;
	struct ssm_ack ack;
	char err[160] = "";

	agent_start(&a, &opts);
	for (size_t i = 0; i < sizeof SSM_V3_HEX / 2; i++)
		sscanf(SSM_V3_HEX + 2 * i, "%2hhx", &v3[len++]);
	ck_assert_int_eq(ssm_session_on_binary(a.s, v3, len, a.now, err, sizeof err), 0);
	m = next_sent(&a);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(ssm_ack_parse(m->payload, m->len, &ack, err, sizeof err), 0);
	/* the V4 payload: the ack the spec derives from V3 */
	ck_assert_str_eq((const char *)m->payload,
			 "{\"AcknowledgedMessageType\":\"output_stream_data\",\"AcknowledgedMessageId\":"
			 "\"fedcba98-7654-4321-8fed-cba987654321\",\"AcknowledgedMessageSequenceNumber\":0,"
			 "\"IsSequentialMessage\":true}");
	agent_stop(&a);
}
END_TEST

START_TEST(handshake_is_answered_and_input_waits_for_complete)
{
	struct ssm_session_opts opts = { .cols = 120, .rows = 40 };
	struct agent a;
	struct ssm_event ev;
	char err[160] = "";

	agent_start(&a, &opts);
	feed(&a, SSM_MT_OUTPUT, 0, SSM_FLAG_SYN, SSM_PT_HANDSHAKE_REQUEST, handshake_request_shell,
	     strlen(handshake_request_shell));
	expect_ack(&a, 0);
	/* the V6 payload */
	expect_input(&a, 0, SSM_PT_HANDSHAKE_RESPONSE,
		     "{\"ClientVersion\":\"1.2.0.0\",\"ProcessedClientActions\":[{\"ActionType\":"
		     "\"SessionType\",\"ActionStatus\":1,\"ActionResult\":null,\"Error\":\"\"}],"
		     "\"Errors\":null}");
	ck_assert_int_eq(ssm_session_state(a.s), SSM_STATE_HANDSHAKING);
	ck_assert_int_eq(ssm_session_next_event(a.s, &ev), 0);

	feed_ack(&a, 0);
	send_text(&a, "whoami\r");
	ck_assert_int_eq(ssm_session_resize(a.s, 100, 30, a.now, err, sizeof err), 0);
	assert_nothing_sent(&a);        /* the agent would discard them now */

	feed_json(&a, SSM_MT_OUTPUT, 1, SSM_PT_HANDSHAKE_COMPLETE,
		  "{\"HandshakeTimeToComplete\":1500000,\"CustomerMessage\":\"hello from mock\"}");
	expect_ack(&a, 1);
	expect_input(&a, 1, SSM_PT_SIZE, "{\"cols\":100,\"rows\":30}");
	expect_input(&a, 2, SSM_PT_OUTPUT, "whoami\r");
	assert_nothing_sent(&a);
	expect_event(&a, SSM_EVENT_LIVE, &ev);
	ck_assert_str_eq(ev.text, "hello from mock");
	ck_assert_ptr_null(ev.code);

	feed_output(&a, 2, SSM_PT_OUTPUT, "root\r\n");
	expect_ack(&a, 2);
	expect_output(&a, "root\r\n");
	agent_stop(&a);
}
END_TEST

START_TEST(kms_request_is_declined_with_an_error_event)
{
	static const char request[] =
		"{\"AgentVersion\":\"3.3.40.0\",\"RequestedClientActions\":["
		"{\"ActionType\":\"SessionType\",\"ActionParameters\":{\"SessionType\":"
		"\"Standard_Stream\",\"Properties\":null}},"
		"{\"ActionType\":\"KMSEncryption\",\"ActionParameters\":{\"KMSKeyId\":"
		"\"arn:aws:kms:us-east-1:111122223333:key/abc\"}}]}";
	struct ssm_session_opts opts = { 0 };
	struct agent a;
	struct ssm_event ev;
	struct seen *m;
	json_t *resp, *actions;
	char err[160] = "";

	agent_start(&a, &opts);
	feed(&a, SSM_MT_OUTPUT, 0, SSM_FLAG_SYN, SSM_PT_HANDSHAKE_REQUEST, request, strlen(request));
	expect_ack(&a, 0);
	m = expect_input(&a, 0, SSM_PT_HANDSHAKE_RESPONSE, NULL);
	resp = json_loads((const char *)m->payload, 0, NULL);
	actions = json_object_get(resp, "ProcessedClientActions");
	ck_assert_uint_eq(json_array_size(actions), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(actions, 1),
							   "ActionType")), "KMSEncryption");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(actions, 1),
							    "ActionStatus")), 3);
	ck_assert_uint_eq(json_array_size(json_object_get(resp, "Errors")), 1);
	json_decref(resp);

	expect_event(&a, SSM_EVENT_KMS_DECLINED, &ev);
	ck_assert_str_eq(ev.code, "E_NODE_SHELL_KMS_UNSUPPORTED");
	ck_assert_ptr_nonnull(strstr(ev.text, "KMS encryption"));
	ck_assert_int_eq(ssm_session_state(a.s), SSM_STATE_FAILED);
	ck_assert_int_eq(ssm_session_send_input(a.s, (const uint8_t *)"x", 1, a.now, err,
						sizeof err), -1);

	/* the decline itself is still delivered reliably */
	a.now += 201;
	ck_assert_int_eq(ssm_session_tick(a.s, a.now, err, sizeof err), 0);
	ck_assert_mem_eq(next_sent(&a)->frame, m->frame, m->frame_len);

	feed_json(&a, SSM_MT_CHANNEL_CLOSED, 0, SSM_PT_NONE,
		  "{\"SessionId\":\"alice-0a1b2c3d\",\"Output\":\"\"}");
	expect_event(&a, SSM_EVENT_CLOSED, &ev);
	ck_assert_int_eq(ssm_session_state(a.s), SSM_STATE_CLOSED);
	agent_stop(&a);
}
END_TEST

START_TEST(port_session_type_fails_the_handshake)
{
	static const char request[] =
		"{\"RequestedClientActions\":[{\"ActionType\":\"SessionType\","
		"\"ActionParameters\":{\"SessionType\":\"Port\"}}]}";
	struct ssm_session_opts opts = { 0 };
	struct agent a;
	struct ssm_event ev;

	agent_start(&a, &opts);
	feed(&a, SSM_MT_OUTPUT, 0, SSM_FLAG_SYN, SSM_PT_HANDSHAKE_REQUEST, request, strlen(request));
	expect_ack(&a, 0);
	expect_input(&a, 0, SSM_PT_HANDSHAKE_RESPONSE, NULL);
	expect_event(&a, SSM_EVENT_HANDSHAKE_FAILED, &ev);
	ck_assert_str_eq(ev.code, "E_NODE_SHELL_HANDSHAKE_FAILED");
	ck_assert_ptr_nonnull(strstr(ev.text, "Port"));
	agent_stop(&a);
}
END_TEST

START_TEST(input_gets_consecutive_sequence_numbers_in_1k_chunks)
{
	struct ssm_session_opts opts = { 0 };
	struct agent a;
	char big[3000 + 1], joined[3000 + 1] = "";
	struct seen *m;
	struct ssm_session_stats st;

	start_live(&a, &opts);
	send_text(&a, "a");
	send_text(&a, "b");
	expect_input(&a, 1, SSM_PT_OUTPUT, "a");
	expect_input(&a, 2, SSM_PT_OUTPUT, "b");

	for (int i = 0; i < 3000; i++)
		big[i] = (char)('A' + i % 26);
	big[3000] = '\0';
	send_text(&a, big);
	m = expect_input(&a, 3, SSM_PT_OUTPUT, NULL);
	ck_assert_uint_eq(m->len, 1024);
	strcat(joined, (const char *)m->payload);
	m = expect_input(&a, 4, SSM_PT_OUTPUT, NULL);
	ck_assert_uint_eq(m->len, 1024);
	strcat(joined, (const char *)m->payload);
	m = expect_input(&a, 5, SSM_PT_OUTPUT, NULL);
	ck_assert_uint_eq(m->len, 952);
	strcat(joined, (const char *)m->payload);
	ck_assert_str_eq(joined, big);
	assert_nothing_sent(&a);

	ssm_session_get_stats(a.s, &st);
	ck_assert_uint_eq(st.bytes_out, 3002);
	ck_assert_uint_eq(st.messages_out, 6);
	agent_stop(&a);
}
END_TEST

START_TEST(unacked_input_is_retransmitted_with_backoff_until_acked)
{
	struct ssm_session_opts opts = { 0 };
	struct agent a;
	struct seen *orig, *again;
	struct ssm_session_stats st;
	char err[160] = "";

	start_live(&a, &opts);
	feed_ack(&a, 0);                /* the size */
	send_text(&a, "ls\r");
	orig = expect_input(&a, 1, SSM_PT_OUTPUT, "ls\r");
	/* after an ack with a zero sample: RTTVAR 25, SRTT 87.5, RTO = SRTT + 4 RTTVAR */
	ssm_session_get_stats(a.s, &st);
	ck_assert_int_eq(st.rto_ms, 187);
	ck_assert_int_eq(ssm_session_next_timeout(a.s, a.now), 188);

	a.now += 187;
	ck_assert_int_eq(ssm_session_tick(a.s, a.now, err, sizeof err), 0);
	assert_nothing_sent(&a);
	a.now += 1;
	ck_assert_int_eq(ssm_session_tick(a.s, a.now, err, sizeof err), 0);
	again = next_sent(&a);
	ck_assert_ptr_nonnull(again);
	ck_assert_uint_eq(again->frame_len, orig->frame_len);
	ck_assert_mem_eq(again->frame, orig->frame, orig->frame_len);   /* same bytes, same id */

	/* second resend waits twice as long */
	ck_assert_int_eq(ssm_session_next_timeout(a.s, a.now), 375);
	a.now += 374;
	ck_assert_int_eq(ssm_session_tick(a.s, a.now, err, sizeof err), 0);
	assert_nothing_sent(&a);
	a.now += 1;
	ck_assert_int_eq(ssm_session_tick(a.s, a.now, err, sizeof err), 0);
	ck_assert_mem_eq(next_sent(&a)->frame, orig->frame, orig->frame_len);

	feed_ack(&a, 1);
	ck_assert_int_eq(ssm_session_next_timeout(a.s, a.now), -1);
	a.now += 5000;
	ck_assert_int_eq(ssm_session_tick(a.s, a.now, err, sizeof err), 0);
	assert_nothing_sent(&a);
	ssm_session_get_stats(a.s, &st);
	ck_assert_uint_eq(st.retransmits, 2);
	ck_assert_uint_eq(st.acks_received, 2);
	agent_stop(&a);
}
END_TEST

START_TEST(first_rto_is_200ms_and_resends_are_capped_at_1s)
{
	struct ssm_session_opts opts = { 0 };
	struct agent a;
	char err[160] = "";
	long long waits[6];

	start_live(&a, &opts);   /* the size (seq 0) is never acked */
	for (int i = 0; i < 6; i++) {
		waits[i] = ssm_session_next_timeout(a.s, a.now);
		a.now += waits[i];
		ck_assert_int_eq(ssm_session_tick(a.s, a.now, err, sizeof err), 0);
		expect_input(&a, 0, SSM_PT_SIZE, NULL);
	}
	ck_assert_int_eq(waits[0], 201);
	ck_assert_int_eq(waits[1], 401);
	ck_assert_int_eq(waits[2], 801);
	ck_assert_int_eq(waits[3], 1001);
	ck_assert_int_eq(waits[5], 1001);
	agent_stop(&a);
}
END_TEST

START_TEST(output_out_of_order_with_duplicates_is_acked_and_delivered_once_in_order)
{
	struct ssm_session_opts opts = { 0 };
	struct agent a;
	struct ssm_session_stats st;

	start_live(&a, &opts);            /* output seq 0 done */
	feed_output(&a, 3, SSM_PT_OUTPUT, "D");
	expect_ack(&a, 3);
	expect_output(&a, "");            /* held: 1 and 2 missing */
	feed_output(&a, 3, SSM_PT_OUTPUT, "D");   /* duplicate while held */
	expect_ack(&a, 3);
	feed_output(&a, 1, SSM_PT_OUTPUT, "B");
	expect_ack(&a, 1);
	feed_output(&a, 1, SSM_PT_OUTPUT, "B");   /* duplicate after delivery */
	expect_ack(&a, 1);
	expect_output(&a, "B");
	feed_output(&a, 2, SSM_PT_OUTPUT, "C");
	expect_ack(&a, 2);
	assert_nothing_sent(&a);
	expect_output(&a, "CD");
	feed_output(&a, 0, SSM_PT_OUTPUT, "sh-5.2$ ");   /* a very late retransmission */
	expect_ack(&a, 0);
	expect_output(&a, "");

	ssm_session_get_stats(a.s, &st);
	ck_assert_uint_eq(st.duplicates, 3);
	ck_assert_uint_eq(st.messages_in, 4);
	ck_assert_uint_eq(st.bytes_in, 8 + 3);
	ck_assert_uint_eq(st.acks_sent, 7);
	agent_stop(&a);
}
END_TEST

START_TEST(output_too_far_ahead_is_dropped_unacked)
{
	struct ssm_session_opts opts = { .reorder_window = 4 };
	struct agent a;
	struct ssm_session_stats st;

	start_live(&a, &opts);            /* expected is now 1: room for 1..4 */
	feed_output(&a, 5, SSM_PT_OUTPUT, "F");
	assert_nothing_sent(&a);
	feed_output(&a, 4, SSM_PT_OUTPUT, "E");
	expect_ack(&a, 4);
	for (int64_t seq = 1; seq <= 3; seq++) {
		char text[2] = { (char)('A' + seq), 0 };

		feed_output(&a, seq, SSM_PT_OUTPUT, text);
		expect_ack(&a, seq);
	}
	expect_output(&a, "BCDE");
	feed_output(&a, 5, SSM_PT_OUTPUT, "F");   /* the agent's retransmission */
	expect_ack(&a, 5);
	expect_output(&a, "F");
	ssm_session_get_stats(a.s, &st);
	ck_assert_uint_eq(st.dropped_window, 1);
	agent_stop(&a);
}
END_TEST

START_TEST(send_window_bounds_messages_in_flight)
{
	struct ssm_session_opts opts = { .send_window = 4, .input_buffer = 4096 };
	struct agent a;
	static uint8_t lots[10000];
	char err[160] = "";
	ssize_t taken;
	int64_t seq = 1;

	start_live(&a, &opts);            /* size is seq 0, unacked */
	memset(lots, 'x', sizeof lots);
	taken = ssm_session_send_input(a.s, lots, sizeof lots, a.now, err, sizeof err);
	/* the input buffer takes 4096; 3 chunks leave at once (the window holds 4 with the
	 * size), 1024 bytes wait */
	ck_assert_int_eq(taken, 4096);
	for (; seq <= 3; seq++)
		expect_input(&a, seq, SSM_PT_OUTPUT, NULL);
	assert_nothing_sent(&a);
	ck_assert_int_eq(ssm_session_send_input(a.s, lots, sizeof lots, a.now, err, sizeof err),
			 3072);
	assert_nothing_sent(&a);

	feed_ack(&a, 1);                  /* not the oldest: the window stays full */
	assert_nothing_sent(&a);
	feed_ack(&a, 0);                  /* now two slots are free */
	expect_input(&a, 4, SSM_PT_OUTPUT, NULL);
	expect_input(&a, 5, SSM_PT_OUTPUT, NULL);
	assert_nothing_sent(&a);
	agent_stop(&a);
}
END_TEST

START_TEST(full_output_buffer_holds_acked_output_until_read)
{
	struct ssm_session_opts opts = { .output_buffer = 4096 };
	struct agent a;
	static char chunk[3001];
	char buf[4096];

	start_live(&a, &opts);
	memset(chunk, 'o', 3000);
	feed_output(&a, 1, SSM_PT_OUTPUT, chunk);
	expect_ack(&a, 1);
	feed_output(&a, 2, SSM_PT_OUTPUT, chunk);   /* no room: held, still acked once */
	expect_ack(&a, 2);
	ck_assert_uint_eq(ssm_session_output_pending(a.s), 3000);
	ck_assert_uint_eq(ssm_session_read_output(a.s, (uint8_t *)buf, sizeof buf), 3000);
	ck_assert_uint_eq(ssm_session_output_pending(a.s), 3000);
	ck_assert_uint_eq(ssm_session_read_output(a.s, (uint8_t *)buf, sizeof buf), 3000);
	assert_nothing_sent(&a);
	agent_stop(&a);
}
END_TEST

/* The node shell's out queue has 256 slots of ~4 KiB: a queue that went round them all
 * would make 1 MiB resident for the session's life, for acks sent one at a time. Taken
 * as they come, every ack is built in the first slot. */
START_TEST(acks_taken_as_they_come_all_use_the_first_queue_slot)
{
	struct ssm_session_opts opts = { .out_queue = 256 };
	struct agent a;
	const uint8_t *first = NULL, *data;
	size_t len;
	char buf[64];

	start_live(&a, &opts);
	for (int64_t seq = 1; seq <= 300; seq++) {
		feed_output(&a, seq, SSM_PT_OUTPUT, "x");
		ck_assert_int_eq(ssm_session_peek_outgoing(a.s, &data, &len), 1);
		if (!first)
			first = data;
		ck_assert_msg(data == first, "the ack of output %lld was built %td bytes past the first slot",
			      (long long)seq, data - first);
		ssm_session_pop_outgoing(a.s);
		ck_assert_uint_eq(ssm_session_read_output(a.s, (uint8_t *)buf, sizeof buf), 1);
	}
	agent_stop(&a);
}
END_TEST

/* Anonymous resident memory of this process in KiB (/proc/self/status RssAnon: the code
 * run for the first time faults in file pages, which are not what is measured here). */
static long resident_kib(void)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "RssAnon:", 8) == 0)
			kib = strtol(line + 8, NULL, 10);
	fclose(f);
	ck_assert_int_ge(kib, 0);
	return kib;
}

#ifdef __SANITIZE_ADDRESS__
#define RING_BURST_KIB 2048   /* ASan's quarantine keeps what each message freed: ~790 KiB here */
#else
#define RING_BURST_KIB 1024
#endif
/* Output read as it comes passes through the start of the output buffer only: 4 MB through
 * a 16 MiB buffer leave this process's resident memory within 1 MiB of where it was (a
 * buffer that kept going round would have made 4 MB of it resident, and kept it so). */
START_TEST(output_read_as_it_comes_touches_only_the_start_of_the_buffer)
{
	struct ssm_session_opts opts = { .output_buffer = 16u << 20 };
	struct agent a;
	static char chunk[4001];
	char buf[4096];
	const uint8_t *data;
	size_t len;
	long before;

	memset(chunk, 'o', 4000);
	start_live(&a, &opts);
	before = resident_kib();
	for (int64_t seq = 1; seq <= 1000; seq++) {
		feed_output(&a, seq, SSM_PT_OUTPUT, chunk);
		ck_assert_int_eq(ssm_session_peek_outgoing(a.s, &data, &len), 1);
		ssm_session_pop_outgoing(a.s);
		ck_assert_uint_eq(ssm_session_read_output(a.s, (uint8_t *)buf, sizeof buf), 4000);
	}
	ck_assert_int_le(resident_kib() - before, RING_BURST_KIB);
	agent_stop(&a);
}
END_TEST

/* The node shell's windows (4096 held slots of 4 KiB, 256 queue slots) cost memory only
 * when used: a new session makes less than 64 KiB of this process resident (the held
 * slots' payload pointers alone took 160 KiB before). */
#ifdef __SANITIZE_ADDRESS__
#define NEW_SESSION_KIB 256   /* ASan's shadow of the allocations is resident too (~190 KiB) */
#else
#define NEW_SESSION_KIB 64
#endif
START_TEST(a_new_session_touches_no_slot_it_does_not_use)
{
	struct ssm_session_opts opts = { .session_id = "alice-0a1b2c3d", .token = "TOKEN-abc",
					 .reorder_window = 4096, .out_queue = 256,
					 .output_buffer = 256u * 1024, .wall_clock_ms = fixed_wall_clock };
	char err[160] = "";
	struct ssm_session *s;
	long before = resident_kib();

	s = ssm_session_new(&opts, err, sizeof err);
	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_int_le(resident_kib() - before, NEW_SESSION_KIB);
	ssm_session_free(s);
}
END_TEST

START_TEST(resize_sends_a_size_message)
{
	struct ssm_session_opts opts = { 0 };
	struct agent a;
	char err[160] = "";

	start_live(&a, &opts);
	ck_assert_int_eq(ssm_session_resize(a.s, 132, 43, a.now, err, sizeof err), 0);
	expect_input(&a, 1, SSM_PT_SIZE, "{\"cols\":132,\"rows\":43}");
	ck_assert_int_eq(ssm_session_resize(a.s, 132, 43, a.now, err, sizeof err), 0);
	assert_nothing_sent(&a);
	ck_assert_int_eq(ssm_session_resize(a.s, 0, 43, a.now, err, sizeof err), -1);
	assert_nothing_sent(&a);
	agent_stop(&a);
}
END_TEST

START_TEST(default_size_is_300x100)
{
	struct ssm_session_opts opts = { 0 };
	struct agent a;

	agent_start(&a, &opts);
	feed_output(&a, 0, SSM_PT_OUTPUT, "$ ");
	expect_ack(&a, 0);
	expect_input(&a, 0, SSM_PT_SIZE, "{\"cols\":300,\"rows\":100}");
	agent_stop(&a);
}
END_TEST

START_TEST(channel_closed_ends_the_session)
{
	struct ssm_session_opts opts = { 0 };
	struct agent a;
	struct ssm_event ev;
	char banner[512], err[160] = "";
	static const char closed[] =
		"{\"MessageId\":\"9d1b5c0e-0000-4000-8000-000000000001\",\"CreatedDate\":"
		"\"2024-01-01T00:00:00.000Z\",\"DestinationId\":\"i-0abc\",\"SessionId\":"
		"\"alice-0a1b2c3d\",\"MessageType\":\"channel_closed\",\"SchemaVersion\":1,"
		"\"Output\":\"\"}";

	start_live(&a, &opts);
	feed(&a, SSM_MT_CHANNEL_CLOSED, 0, 0, SSM_PT_NONE, closed, strlen(closed));
	assert_nothing_sent(&a);          /* channel_closed is not acked */
	expect_event(&a, SSM_EVENT_CLOSED, &ev);
	ck_assert_str_eq(ev.text, "");
	ck_assert_str_eq(ev.session_id, "alice-0a1b2c3d");
	ssm_closed_banner(&ev, banner, sizeof banner);
	ck_assert_str_eq(banner, "\r\n\r\nExiting session with sessionId: alice-0a1b2c3d.\r\n\r\n");
	ck_assert_int_eq(ssm_session_state(a.s), SSM_STATE_CLOSED);

	ck_assert_int_eq(ssm_session_send_input(a.s, (const uint8_t *)"x", 1, a.now, err,
						sizeof err), -1);
	feed_output(&a, 1, SSM_PT_OUTPUT, "late");
	assert_nothing_sent(&a);
	expect_output(&a, "");
	a.now += 10000;                   /* nothing is retransmitted any more */
	ck_assert_int_eq(ssm_session_next_timeout(a.s, a.now), -1);
	ck_assert_int_eq(ssm_session_tick(a.s, a.now, err, sizeof err), 0);
	assert_nothing_sent(&a);
	agent_stop(&a);
}
END_TEST

START_TEST(channel_closed_reason_is_reported)
{
	struct ssm_session_opts opts = { 0 };
	struct agent a;
	struct ssm_event ev;
	char banner[512];
	static const char closed[] = "{\"Output\":\"Session timed out\",\"SessionId\":\"s-1\"}";

	agent_start(&a, &opts);
	feed(&a, SSM_MT_CHANNEL_CLOSED, 0, 0, SSM_PT_NONE, closed, strlen(closed));
	expect_event(&a, SSM_EVENT_CLOSED, &ev);
	ck_assert_str_eq(ev.text, "Session timed out");
	ssm_closed_banner(&ev, banner, sizeof banner);
	ck_assert_str_eq(banner, "\r\n\r\nSessionId: s-1 : Session timed out\r\n\r\n");
	agent_stop(&a);
}
END_TEST

START_TEST(pause_publication_holds_input_and_retransmissions)
{
	struct ssm_session_opts opts = { 0 };
	struct agent a;
	char err[160] = "";

	start_live(&a, &opts);
	feed_control(&a, SSM_MT_PAUSE_PUBLICATION);
	ck_assert_int_eq(ssm_session_paused(a.s), 1);
	send_text(&a, "held\r");
	a.now += 5000;
	ck_assert_int_eq(ssm_session_next_timeout(a.s, a.now), -1);
	ck_assert_int_eq(ssm_session_tick(a.s, a.now, err, sizeof err), 0);
	assert_nothing_sent(&a);          /* neither the new input nor the unacked size */

	feed_control(&a, SSM_MT_START_PUBLICATION);
	ck_assert_int_eq(ssm_session_paused(a.s), 0);
	expect_input(&a, 1, SSM_PT_OUTPUT, "held\r");
	ck_assert_int_eq(ssm_session_next_timeout(a.s, a.now), 0);   /* the size is overdue */
	ck_assert_int_eq(ssm_session_tick(a.s, a.now, err, sizeof err), 0);
	expect_input(&a, 0, SSM_PT_SIZE, NULL);
	agent_stop(&a);
}
END_TEST

START_TEST(garbage_and_foreign_messages_are_ignored)
{
	struct ssm_session_opts opts = { 0 };
	struct agent a;
	struct ssm_session_stats st;
	char err[160] = "";

	start_live(&a, &opts);
	ck_assert_int_eq(ssm_session_on_binary(a.s, (const uint8_t *)"{\"hello\":1}", 11, a.now,
					       err, sizeof err), 0);
	feed(&a, "agent_session_state", 0, 0, 0, "{\"SessionState\":\"Connected\"}", 28);
	feed(&a, SSM_MT_ACK, 0, 3, 0, "not json", 8);
	feed_ack(&a, 77);                 /* never sent: ignored */
	assert_nothing_sent(&a);
	ssm_session_get_stats(a.s, &st);
	ck_assert_uint_eq(st.dropped_invalid, 2);
	ck_assert_int_eq(ssm_session_state(a.s), SSM_STATE_LIVE);
	agent_stop(&a);
}
END_TEST

START_TEST(reconnect_makes_unacked_input_due_at_once)
{
	struct ssm_session_opts opts = { 0 };
	struct agent a;
	char err[160] = "";

	start_live(&a, &opts);
	send_text(&a, "pwd\r");
	expect_input(&a, 1, SSM_PT_OUTPUT, "pwd\r");
	a.now += 10;
	ssm_session_reconnected(a.s, a.now);
	ck_assert_int_eq(ssm_session_next_timeout(a.s, a.now), 0);
	ck_assert_int_eq(ssm_session_tick(a.s, a.now, err, sizeof err), 0);
	expect_input(&a, 0, SSM_PT_SIZE, NULL);
	expect_input(&a, 1, SSM_PT_OUTPUT, "pwd\r");
	agent_stop(&a);
}
END_TEST

START_TEST(peer_that_never_acks_stalls_the_session)
{
	struct ssm_session_opts opts = { 0 };
	struct agent a;
	struct ssm_event ev;
	struct ssm_session_stats st;
	char err[160] = "";
	int resends = 0;

	start_live(&a, &opts);            /* the size is never acked */
	while (ssm_session_next_event(a.s, &ev) == 0 && resends < SSM_MAX_RESENDS + 10) {
		a.now += ssm_session_next_timeout(a.s, a.now);
		ck_assert_int_eq(ssm_session_tick(a.s, a.now, err, sizeof err), 0);
		expect_input(&a, 0, SSM_PT_SIZE, NULL);
		resends++;
	}
	ck_assert_int_eq(resends, SSM_MAX_RESENDS);
	ck_assert_int_eq(ev.type, SSM_EVENT_STALLED);
	ck_assert_str_eq(ev.code, "E_NODE_SHELL_STALLED");
	ssm_session_get_stats(a.s, &st);
	ck_assert_uint_eq(st.retransmits, SSM_MAX_RESENDS);
	agent_stop(&a);
}
END_TEST

/* The handshake failed on what the agent sent: nothing answered it, one handshake_failed
 * event with its code (and text, unless NULL), and the session is over. */
static void expect_handshake_failed(struct agent *a, const char *text)
{
	struct ssm_event ev;

	assert_nothing_sent(a);
	expect_event(a, SSM_EVENT_HANDSHAKE_FAILED, &ev);
	ck_assert_str_eq(ev.code, "E_NODE_SHELL_HANDSHAKE_FAILED");
	if (text)
		ck_assert_str_eq(ev.text, text);
	ck_assert_int_eq(ssm_session_state(a->s), SSM_STATE_FAILED);
}

START_TEST(unreadable_handshake_request_fails_the_session)
{
	struct ssm_session_opts opts = { 0 };
	struct agent a;

	agent_start(&a, &opts);
	feed_json(&a, SSM_MT_OUTPUT, 0, SSM_PT_HANDSHAKE_REQUEST, "{\"RequestedClientActions\":7}");
	expect_ack(&a, 0);
	expect_handshake_failed(&a, NULL);
	agent_stop(&a);
}
END_TEST


/* The frame of an agent Output message of seq carrying payload as it is (already sealed,
 * or not: the session is to judge it). Returns its length. */
static size_t output_frame(int64_t seq, const void *payload, size_t len, uint8_t *frame,
			   size_t cap)
{
	struct ssm_message m;
	char err[160] = "";
	size_t flen = 0;

	memset(&m, 0, sizeof m);
	snprintf(m.message_type, sizeof m.message_type, "%s", SSM_MT_OUTPUT);
	m.schema_version = 1;
	m.created_date_ms = SSM_VECTOR_CREATED_MS;
	m.sequence_number = seq;
	ssm_uuid_generate(m.message_id);
	m.payload_type = SSM_PT_OUTPUT;
	m.payload = payload;
	m.payload_length = (uint32_t)len;
	ck_assert_msg(ssm_message_encode(&m, frame, cap, &flen, err, sizeof err) == 0, "%s", err);
	return flen;
}

/* KMS encryption when the caller supports it: the request waits for the data key, the
 * answer carries it, the challenge is answered under the client's key, and Output payloads
 * are AES-GCM both ways with the halves the agent uses (blockcipher.go). */
START_TEST(kms_session_answers_with_the_data_key_and_encrypts_both_ways)
{
	static const char request[] =
		"{\"AgentVersion\":\"3.3.1142.0\",\"RequestedClientActions\":["
		"{\"ActionType\":\"SessionType\",\"ActionParameters\":{\"SessionType\":\"Standard_Stream\",\"Properties\":null}},"
		"{\"ActionType\":\"KMSEncryption\",\"ActionParameters\":{\"KMSKeyId\":\"arn:aws:kms:us-east-1:1:key/k\","
		"\"Challenge\":\"Q0hBTExFTkdFMTIzNDU2Nw==\"}}]}";
	struct ssm_session_opts opts = { .kms_supported = 1 };
	struct agent a;
	struct ssm_event ev;
	struct ssm_cipher agent_cipher;
	uint8_t key[SSM_KMS_DATA_KEY_LEN], swapped[SSM_KMS_DATA_KEY_LEN], secret[64];
	uint8_t sealed[256], opened[256], back[SSM_CHALLENGE_MAX];
	char json[512], err[160] = "";
	const char *key_id, *challenge;
	json_t *resp, *kms;
	struct seen *m;
	size_t n, sn, bn;

	for (size_t i = 0; i < sizeof key; i++)
		key[i] = (uint8_t)(i * 7 + 1);
	/* The agent's view: it encrypts with the first half and decrypts with the second. */
	memcpy(swapped, key + 32, 32);
	memcpy(swapped + 32, key, 32);
	ck_assert_int_eq(ssm_cipher_init(&agent_cipher, swapped), 0);

	agent_start(&a, &opts);
	feed(&a, SSM_MT_OUTPUT, 0, SSM_FLAG_SYN, SSM_PT_HANDSHAKE_REQUEST, request, strlen(request));
	expect_ack(&a, 0);
	assert_nothing_sent(&a);
	expect_event(&a, SSM_EVENT_KMS_KEY_NEEDED, &ev);
	ck_assert_str_eq(ev.text, "arn:aws:kms:us-east-1:1:key/k");
	ck_assert_int_eq(ssm_session_kms_request(a.s, &key_id, &challenge), 0);
	ck_assert_str_eq(key_id, "arn:aws:kms:us-east-1:1:key/k");
	ck_assert_str_eq(challenge, "Q0hBTExFTkdFMTIzNDU2Nw==");
	ck_assert_int_eq(ssm_session_kms_key(a.s, key, "QkxPQg==", a.now, err, sizeof err), 0);
	m = expect_input(&a, 0, SSM_PT_HANDSHAKE_RESPONSE, NULL);
	resp = json_loads((const char *)m->payload, 0, NULL);
	ck_assert_ptr_nonnull(resp);
	kms = json_array_get(json_object_get(resp, "ProcessedClientActions"), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(kms, "ActionStatus")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(kms, "ActionResult"),
							   "KMSCipherTextKey")), "QkxPQg==");
	ck_assert(json_is_true(json_object_get(json_object_get(kms, "ActionResult"),
					       "ChallengeAcknowledgement")));
	ck_assert(json_is_null(json_object_get(resp, "Errors")));
	json_decref(resp);

	/* The encryption challenge: 64 random bytes under the agent's key come back under ours. */
	for (size_t i = 0; i < sizeof secret; i++)
		secret[i] = (uint8_t)(255 - i);
	ck_assert_int_eq(ssm_cipher_encrypt(&agent_cipher, secret, sizeof secret, sealed, sizeof sealed, &sn), 0);
	ck_assert_int_eq(ssm_challenge_build(sealed, sn, json, sizeof json, &n, err, sizeof err), 0);
	feed(&a, SSM_MT_OUTPUT, 1, 0, SSM_PT_ENC_CHALLENGE_REQUEST, json, n);
	expect_ack(&a, 1);
	m = expect_input(&a, 1, SSM_PT_ENC_CHALLENGE_RESPONSE, NULL);
	ck_assert_int_eq(ssm_challenge_parse(m->payload, m->len, back, sizeof back, &bn, err, sizeof err), 0);
	ck_assert_int_eq(ssm_cipher_decrypt(&agent_cipher, back, bn, opened, sizeof opened, &n), 0);
	ck_assert_uint_eq(n, sizeof secret);
	ck_assert_mem_eq(opened, secret, sizeof secret);

	feed_json(&a, SSM_MT_OUTPUT, 2, SSM_PT_HANDSHAKE_COMPLETE,
		  "{\"HandshakeTimeToComplete\":1000,\"CustomerMessage\":\"This session is encrypted using AWS KMS.\"}");
	expect_ack(&a, 2);
	expect_event(&a, SSM_EVENT_LIVE, &ev);
	ck_assert_str_eq(ev.text, "This session is encrypted using AWS KMS.");
	/* Size stays plain JSON; keystrokes go out encrypted. */
	expect_input(&a, 2, SSM_PT_SIZE, "{\"cols\":300,\"rows\":100}");
	send_text(&a, "ls\r");
	m = expect_input(&a, 3, SSM_PT_OUTPUT, NULL);
	ck_assert_uint_eq(m->len, 3 + SSM_GCM_OVERHEAD);
	ck_assert_int_eq(ssm_cipher_decrypt(&agent_cipher, m->payload, m->len, opened, sizeof opened, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(opened, "ls\r", 3);
	/* Output from the agent is decrypted before it is shown. */
	ck_assert_int_eq(ssm_cipher_encrypt(&agent_cipher, (const uint8_t *)"total 0\r\n", 9, sealed, sizeof sealed, &sn), 0);
	feed(&a, SSM_MT_OUTPUT, 3, 0, SSM_PT_OUTPUT, sealed, sn);
	expect_ack(&a, 3);
	expect_output(&a, "total 0\r\n");
	/* A payload that does not decrypt ends the session rather than showing garbage. */
	{
		uint8_t frame[SSM_HEADER_SIZE + 64];
		size_t flen = output_frame(4, "plain text!!plain text!!plain", 29, frame, sizeof frame);

		ck_assert_int_eq(ssm_session_on_binary(a.s, frame, flen, a.now, err, sizeof err), -1);
	}
	expect_event(&a, SSM_EVENT_ERROR, &ev);
	ck_assert_str_eq(ev.code, "E_NODE_SHELL_INTERNAL");
	ssm_cipher_free(&agent_cipher);
	agent_stop(&a);
}
END_TEST

/* The agent's handshake request of a KMS session whose challenge comes later. */
static const char kms_handshake_request[] =
	"{\"AgentVersion\":\"3.3.1142.0\",\"RequestedClientActions\":["
	"{\"ActionType\":\"SessionType\",\"ActionParameters\":{\"SessionType\":\"Standard_Stream\",\"Properties\":null}},"
	"{\"ActionType\":\"KMSEncryption\",\"ActionParameters\":{\"KMSKeyId\":\"k\",\"Challenge\":\"\"}}]}";

/* A KMS session that has acknowledged request (one asking for KMSEncryption) and asked its
 * caller for the data key. */
static void start_kms_handshake(struct agent *a, const char *request)
{
	struct ssm_session_opts opts = { .kms_supported = 1 };
	struct ssm_event ev;

	agent_start(a, &opts);
	feed(a, SSM_MT_OUTPUT, 0, SSM_FLAG_SYN, SSM_PT_HANDSHAKE_REQUEST, request, strlen(request));
	expect_ack(a, 0);
	expect_event(a, SSM_EVENT_KMS_KEY_NEEDED, &ev);
}

/* A KMS session made live: the data key given, the challenge answered, the handshake
 * complete; agent_cipher is the agent's side of the key. Output seq 0..2 used. */
static void start_kms_live(struct agent *a, struct ssm_cipher *agent_cipher)
{
	struct ssm_event ev;
	uint8_t key[SSM_KMS_DATA_KEY_LEN], swapped[SSM_KMS_DATA_KEY_LEN], secret[64], sealed[256];
	char json[512], err[160] = "";
	size_t n, sn;

	for (size_t i = 0; i < sizeof key; i++)
		key[i] = (uint8_t)(i * 7 + 1);
	memcpy(swapped, key + 32, 32);
	memcpy(swapped + 32, key, 32);
	ck_assert_int_eq(ssm_cipher_init(agent_cipher, swapped), 0);
	start_kms_handshake(a, kms_handshake_request);
	ck_assert_int_eq(ssm_session_kms_key(a->s, key, "QkxPQg==", a->now, err, sizeof err), 0);
	expect_input(a, 0, SSM_PT_HANDSHAKE_RESPONSE, NULL);
	memset(secret, 0x33, sizeof secret);
	ck_assert_int_eq(ssm_cipher_encrypt(agent_cipher, secret, sizeof secret, sealed, sizeof sealed, &sn), 0);
	ck_assert_int_eq(ssm_challenge_build(sealed, sn, json, sizeof json, &n, err, sizeof err), 0);
	feed(a, SSM_MT_OUTPUT, 1, 0, SSM_PT_ENC_CHALLENGE_REQUEST, json, n);
	expect_ack(a, 1);
	expect_input(a, 1, SSM_PT_ENC_CHALLENGE_RESPONSE, NULL);
	feed_json(a, SSM_MT_OUTPUT, 2, SSM_PT_HANDSHAKE_COMPLETE, "{\"HandshakeTimeToComplete\":1000}");
	expect_ack(a, 2);
	expect_event(a, SSM_EVENT_LIVE, &ev);
	expect_input(a, 2, SSM_PT_SIZE, NULL);
}

/* An encrypted Output that arrived early and does not decrypt ends the session when its
 * turn comes, as one in order does: acknowledged (it was received), never shown. */
START_TEST(kms_output_held_out_of_order_that_does_not_decrypt_ends_the_session)
{
	static const char garbage[] = "plain text!!plain text!!plain";
	struct agent a;
	struct ssm_cipher agent_cipher;
	struct ssm_event ev;
	uint8_t sealed[256], frame[SSM_HEADER_SIZE + 256];
	char err[160] = "";
	size_t sn, flen;

	start_kms_live(&a, &agent_cipher);
	feed(&a, SSM_MT_OUTPUT, 4, 0, SSM_PT_OUTPUT, garbage, strlen(garbage));
	expect_ack(&a, 4);
	expect_output(&a, "");
	/* seq 3, good, comes late: shown, then the held seq 4 is processed and refused. */
	ck_assert_int_eq(ssm_cipher_encrypt(&agent_cipher, (const uint8_t *)"ok\r\n", 4, sealed, sizeof sealed, &sn), 0);
	flen = output_frame(3, sealed, sn, frame, sizeof frame);
	ck_assert_int_eq(ssm_session_on_binary(a.s, frame, flen, a.now, err, sizeof err), -1);
	ck_assert_str_eq(err, "an encrypted payload did not decrypt");
	expect_event(&a, SSM_EVENT_ERROR, &ev);
	ck_assert_str_eq(ev.code, "E_NODE_SHELL_INTERNAL");
	expect_output(&a, "ok\r\n");
	ssm_cipher_free(&agent_cipher);
	agent_stop(&a);
}
END_TEST

/* A KMS call that failed is answered as a failure (the agent ends the session) and told. */
START_TEST(kms_failure_is_answered_and_reported)
{
	struct agent a;
	struct ssm_event ev;
	char err[160] = "";
	json_t *resp, *kms;
	struct seen *m;

	start_kms_handshake(&a, kms_handshake_request);
	ck_assert_int_eq(ssm_session_kms_failed(a.s, "AccessDeniedException: no", a.now, err, sizeof err), 0);
	m = expect_input(&a, 0, SSM_PT_HANDSHAKE_RESPONSE, NULL);
	resp = json_loads((const char *)m->payload, 0, NULL);
	kms = json_array_get(json_object_get(resp, "ProcessedClientActions"), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(kms, "ActionStatus")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(kms, "Error")),
			 "Failed to process action KMSEncryption: AccessDeniedException: no");
	ck_assert(json_is_null(json_object_get(kms, "ActionResult")));
	json_decref(resp);
	expect_event(&a, SSM_EVENT_KMS_FAILED, &ev);
	ck_assert_str_eq(ev.code, "E_NODE_SHELL_KMS_FAILED");
	ck_assert_int_eq(ssm_session_state(a.s), SSM_STATE_FAILED);
	/* Nothing waits any more. */
	ck_assert_int_eq(ssm_session_kms_failed(a.s, "again", a.now, err, sizeof err), -1);
	agent_stop(&a);
}
END_TEST

/* An agent whose encryption challenge does not open under the session's key (it holds
 * another data key, or sends it in a session that never agreed to KMS) gets no answer: the
 * handshake fails, said once, and nothing goes on the wire. */
START_TEST(challenge_under_another_key_fails_the_handshake)
{
	struct ssm_session_opts opts = { 0 };
	struct agent a;
	struct ssm_event ev;
	struct ssm_cipher other;
	uint8_t key[SSM_KMS_DATA_KEY_LEN], other_key[SSM_KMS_DATA_KEY_LEN], secret[64], sealed[256];
	char json[512], err[160] = "";
	size_t n, sn;

	for (size_t i = 0; i < sizeof key; i++) {
		key[i] = (uint8_t)(i * 7 + 1);
		other_key[i] = (uint8_t)(i * 11 + 5);
	}
	memset(secret, 0x5a, sizeof secret);
	ck_assert_int_eq(ssm_cipher_init(&other, other_key), 0);
	ck_assert_int_eq(ssm_cipher_encrypt(&other, secret, sizeof secret, sealed, sizeof sealed, &sn), 0);
	ck_assert_int_eq(ssm_challenge_build(sealed, sn, json, sizeof json, &n, err, sizeof err), 0);

	start_kms_handshake(&a, kms_handshake_request);
	ck_assert_int_eq(ssm_session_kms_key(a.s, key, "QkxPQg==", a.now, err, sizeof err), 0);
	expect_input(&a, 0, SSM_PT_HANDSHAKE_RESPONSE, NULL);
	feed(&a, SSM_MT_OUTPUT, 1, 0, SSM_PT_ENC_CHALLENGE_REQUEST, json, n);
	expect_ack(&a, 1);
	expect_handshake_failed(&a, "the SSM agent's encryption challenge could not be answered");
	ck_assert_int_eq(ssm_session_next_event(a.s, &ev), 0);
	agent_stop(&a);

	/* A session without KMS has no key to answer with. */
	agent_start(&a, &opts);
	feed_json(&a, SSM_MT_OUTPUT, 0, SSM_PT_HANDSHAKE_REQUEST, handshake_request_shell);
	expect_ack(&a, 0);
	expect_input(&a, 0, SSM_PT_HANDSHAKE_RESPONSE, NULL);
	feed(&a, SSM_MT_OUTPUT, 1, 0, SSM_PT_ENC_CHALLENGE_REQUEST, json, n);
	expect_ack(&a, 1);
	expect_handshake_failed(&a, "the SSM agent's encryption challenge could not be answered");
	ssm_cipher_free(&other);
	agent_stop(&a);
}
END_TEST

/* A handshake request whose answer would not fit in one message (four actions whose
 * ActionType is control characters, each escaped to six bytes and echoed twice in the
 * answer) fails the session instead of sending a cut answer; with KMS, once the key came. */
START_TEST(handshake_request_too_large_to_answer_fails_the_session)
{
	char request[8192], type[128 * 6 + 1], err[160] = "";
	uint8_t key[SSM_KMS_DATA_KEY_LEN] = { 0 };
	struct ssm_session_opts opts = { 0 };
	struct agent a;
	size_t at = 0;

	for (int i = 0; i < 120; i++)
		at += (size_t)snprintf(type + at, sizeof type - at, "\\u000%d", 1 + i % 8);
	snprintf(request, sizeof request,
		 "{\"AgentVersion\":\"3.3.1142.0\",\"RequestedClientActions\":["
		 "{\"ActionType\":\"%s\"},{\"ActionType\":\"%s\"},{\"ActionType\":\"%s\"},"
		 "{\"ActionType\":\"%s\"}]}", type, type, type, type);
	agent_start(&a, &opts);
	feed(&a, SSM_MT_OUTPUT, 0, SSM_FLAG_SYN, SSM_PT_HANDSHAKE_REQUEST, request, strlen(request));
	expect_ack(&a, 0);
	expect_handshake_failed(&a, "the SSM agent's handshake request is too large to answer");
	agent_stop(&a);

	snprintf(request, sizeof request,
		 "{\"AgentVersion\":\"3.3.1142.0\",\"RequestedClientActions\":["
		 "{\"ActionType\":\"KMSEncryption\",\"ActionParameters\":{\"KMSKeyId\":\"k\",\"Challenge\":\"\"}},"
		 "{\"ActionType\":\"%s\"},{\"ActionType\":\"%s\"},{\"ActionType\":\"%s\"}]}", type, type, type);
	start_kms_handshake(&a, request);
	ck_assert_int_eq(ssm_session_kms_key(a.s, key, "QkxPQg==", a.now, err, sizeof err), 0);
	expect_handshake_failed(&a, "the SSM agent's handshake request is too large to answer");
	agent_stop(&a);
}
END_TEST

static Suite *ssm_session_suite(void)
{
	Suite *s = suite_create("ssm_session");
	TCase *tc = tcase_create("session");

	tcase_add_test(tc, open_message_carries_token_and_fresh_request_ids);
	tcase_add_test(tc, no_handshake_start_acks_prompt_then_sends_size_then_queued_input);
	tcase_add_test(tc, ack_echoes_the_acked_message_id);
	tcase_add_test(tc, handshake_is_answered_and_input_waits_for_complete);
	tcase_add_test(tc, kms_request_is_declined_with_an_error_event);
	tcase_add_test(tc, port_session_type_fails_the_handshake);
	tcase_add_test(tc, input_gets_consecutive_sequence_numbers_in_1k_chunks);
	tcase_add_test(tc, unacked_input_is_retransmitted_with_backoff_until_acked);
	tcase_add_test(tc, first_rto_is_200ms_and_resends_are_capped_at_1s);
	tcase_add_test(tc, output_out_of_order_with_duplicates_is_acked_and_delivered_once_in_order);
	tcase_add_test(tc, output_too_far_ahead_is_dropped_unacked);
	tcase_add_test(tc, send_window_bounds_messages_in_flight);
	tcase_add_test(tc, full_output_buffer_holds_acked_output_until_read);
	tcase_add_test(tc, acks_taken_as_they_come_all_use_the_first_queue_slot);
	tcase_add_test(tc, output_read_as_it_comes_touches_only_the_start_of_the_buffer);
	tcase_add_test(tc, a_new_session_touches_no_slot_it_does_not_use);
	tcase_add_test(tc, resize_sends_a_size_message);
	tcase_add_test(tc, default_size_is_300x100);
	tcase_add_test(tc, channel_closed_ends_the_session);
	tcase_add_test(tc, channel_closed_reason_is_reported);
	tcase_add_test(tc, pause_publication_holds_input_and_retransmissions);
	tcase_add_test(tc, garbage_and_foreign_messages_are_ignored);
	tcase_add_test(tc, reconnect_makes_unacked_input_due_at_once);
	tcase_add_test(tc, peer_that_never_acks_stalls_the_session);
	tcase_add_test(tc, unreadable_handshake_request_fails_the_session);
	tcase_add_test(tc, kms_session_answers_with_the_data_key_and_encrypts_both_ways);
	tcase_add_test(tc, kms_failure_is_answered_and_reported);
	tcase_add_test(tc, challenge_under_another_key_fails_the_handshake);
	tcase_add_test(tc, handshake_request_too_large_to_answer_fails_the_session);
	tcase_add_test(tc, kms_output_held_out_of_order_that_does_not_decrypt_ends_the_session);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(ssm_session_suite)
