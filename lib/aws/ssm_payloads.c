#include "aws/ssm_payloads.h"
#include "core/encoding.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies s into out (cap bytes incl. NUL); a cut never splits a UTF-8 sequence, so the
 * result stays valid UTF-8 for later JSON output. */
static void copy_text(char *out, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

static void copy_member(char *out, size_t cap, json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	copy_text(out, cap, s ? s : "");
}

static json_t *load_object(const uint8_t *payload, size_t len, const char *what,
			   char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb((const char *)payload, len, 0, &jerr);

	if (!root) {
		snprintf(err, errlen, "%s: invalid JSON at byte %d", what, jerr.position);
		return NULL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "%s: not a JSON object", what);
		json_decref(root);
		return NULL;
	}
	return root;
}

/* Serialises compact JSON into out. Jansson keeps object members in insertion order,
 * which is what makes the output match the reference client byte for byte. */
static int dump_into(json_t *root, const char *what, char *out, size_t cap, size_t *out_len,
		     char *err, size_t errlen)
{
	size_t n = json_dumpb(root, out, cap, JSON_COMPACT);

	if (n == 0) {
		snprintf(err, errlen, "%s: JSON serialisation failed", what);
		return -1;
	}
	if (n > cap) {
		snprintf(err, errlen, "%s: %zu bytes do not fit in %zu", what, n, cap);
		return -1;
	}
	*out_len = n;
	return 0;
}

/* Whether s goes into a JSON string unchanged, as Jansson writes it: printable ASCII other
 * than the quote and backslash (Jansson escapes those and control characters; bytes above
 * 0x7f would need its UTF-8 check). */
static int plain_json_text(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

/* The same object through Jansson: for a MessageType that would need escaping. */
static int ack_build_jansson(const struct ssm_message *acked, const char *id, char *out,
			     size_t cap, size_t *out_len, char *err, size_t errlen)
{
	json_t *root = json_pack("{s:s,s:s,s:I,s:b}",
				 "AcknowledgedMessageType", acked->message_type,
				 "AcknowledgedMessageId", id,
				 "AcknowledgedMessageSequenceNumber",
				 (json_int_t)acked->sequence_number,
				 "IsSequentialMessage", 1);
	int rc = -1;

	if (!root) {
		snprintf(err, errlen, "ssm ack: cannot build the JSON");
		goto fail;
	}
	rc = dump_into(root, "ssm ack", out, cap, out_len, err, errlen);
fail:
	json_decref(root);
	return rc;
}

/* Written by hand, byte for byte what json_pack + json_dumpb(JSON_COMPACT) make (members in
 * this order, integer as %lld): one ack per output message, and Jansson's tree costs
 * about 20k instructions per ack against a few hundred here. */
int ssm_ack_build(const struct ssm_message *acked, char *out, size_t cap, size_t *out_len,
		  char *err, size_t errlen)
{
	/* Written piece by piece: snprintf was ~1,400 instructions an ack, one ack per message. */
	static const char k_type[] = "{\"AcknowledgedMessageType\":\"",
			  k_id[] = "\",\"AcknowledgedMessageId\":\"",
			  k_seq[] = "\",\"AcknowledgedMessageSequenceNumber\":",
			  k_end[] = ",\"IsSequentialMessage\":true}";
	char id[SSM_UUID_STR_LEN + 1], seq[24], *o = out;
	size_t tlen, idlen, seqlen;
	int n;

	ssm_uuid_format(acked->message_id, id);
	if (!plain_json_text(acked->message_type))
		return ack_build_jansson(acked, id, out, cap, out_len, err, errlen);
	tlen = strlen(acked->message_type);
	idlen = strlen(id);
	seqlen = format_decimal((long long)acked->sequence_number, seq);
	n = (int)(sizeof k_type - 1 + tlen + sizeof k_id - 1 + idlen + sizeof k_seq - 1 + seqlen +
		  sizeof k_end - 1);
	/* The JSON must fit whole, with a NUL after it (as snprintf wrote one). */
	if ((size_t)n >= cap) {
		snprintf(err, errlen, "ssm ack: %d bytes do not fit in %zu", n, cap);
		return -1;
	}
	memcpy(o, k_type, sizeof k_type - 1);
	o += sizeof k_type - 1;
	memcpy(o, acked->message_type, tlen);
	o += tlen;
	memcpy(o, k_id, sizeof k_id - 1);
	o += sizeof k_id - 1;
	memcpy(o, id, idlen);
	o += idlen;
	memcpy(o, k_seq, sizeof k_seq - 1);
	o += sizeof k_seq - 1;
	memcpy(o, seq, seqlen);
	o += seqlen;
	memcpy(o, k_end, sizeof k_end);
	*out_len = (size_t)n;
	return 0;
}

/* Reads the literal lit at *p (within end); moves past it. */
static bool take_literal(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

/* A JSON string of printable ASCII without escapes (its value is its bytes), up to the
 * closing quote, into out as copy_text would; moves past the quote. */
static bool take_plain_string(const char **p, const char *end, char *out, size_t cap)
{
	const char *s = *p;
	size_t n;

	while (*p < end && **p != '"') {
		if (**p < 0x20 || **p > 0x7e || **p == '\\')
			return false;
		(*p)++;
	}
	if (*p == end)
		return false;
	n = (size_t)(*p - s) < cap - 1 ? (size_t)(*p - s) : cap - 1;
	memcpy(out, s, n);
	out[n] = '\0';
	(*p)++;
	return true;
}

/* The ack as the agent writes it: amazon-ssm-agent's AcknowledgeContent
 * (agent/session/contracts/model.go) through Go's json.Marshal, so the members come in
 * that order, compact, the strings a message type and a UUID. Read without jansson: one
 * arrives for every input message, and json_loadb was 28.7k of a node-shell bridge's 88k
 * instructions a keystroke (callgrind, dev/bench keystroke). Anything else (another
 * order, spaces, escapes, a sign, 19 digits or more) goes to the JSON parser, so the result
 * is always what ssm_ack_parse_json gives (fuzz_ssm_message checks that). */
static bool parse_plain_ack(const uint8_t *payload, size_t len, struct ssm_ack *ack)
{
	const char *p = (const char *)payload, *end = p + len, *digits;
	int64_t seq = 0;

	if (!take_literal(&p, end, "{\"AcknowledgedMessageType\":\"") ||
	    !take_plain_string(&p, end, ack->acked_type, sizeof ack->acked_type) ||
	    !take_literal(&p, end, ",\"AcknowledgedMessageId\":\"") ||
	    !take_plain_string(&p, end, ack->acked_id, sizeof ack->acked_id) ||
	    !take_literal(&p, end, ",\"AcknowledgedMessageSequenceNumber\":"))
		return false;
	digits = p;
	while (p < end && *p >= '0' && *p <= '9' && p - digits < 18)
		seq = seq * 10 + (*p++ - '0');
	/* JSON has no leading zeros; 18 digits always fit an int64 */
	if (p == digits || (*digits == '0' && p - digits > 1) || (p < end && *p >= '0' && *p <= '9'))
		return false;
	ack->acked_sequence = seq;
	if (take_literal(&p, end, ",\"IsSequentialMessage\":true}"))
		ack->is_sequential = 1;
	else if (!take_literal(&p, end, ",\"IsSequentialMessage\":false}"))
		return false;
	return p == end;
}

int ssm_ack_parse(const uint8_t *payload, size_t len, struct ssm_ack *ack,
		  char *err, size_t errlen)
{
	memset(ack, 0, sizeof *ack);
	if (parse_plain_ack(payload, len, ack))
		return 0;
	return ssm_ack_parse_json(payload, len, ack, err, errlen);
}

int ssm_ack_parse_json(const uint8_t *payload, size_t len, struct ssm_ack *ack,
		       char *err, size_t errlen)
{
	json_t *root = load_object(payload, len, "ssm ack", err, errlen), *seq;
	int rc = -1;

	memset(ack, 0, sizeof *ack);
	if (!root)
		goto fail;
	seq = json_object_get(root, "AcknowledgedMessageSequenceNumber");
	if (!json_is_integer(seq)) {
		snprintf(err, errlen, "ssm ack: AcknowledgedMessageSequenceNumber is not an integer");
		goto fail;
	}
	ack->acked_sequence = json_integer_value(seq);
	copy_member(ack->acked_type, sizeof ack->acked_type, root, "AcknowledgedMessageType");
	copy_member(ack->acked_id, sizeof ack->acked_id, root, "AcknowledgedMessageId");
	ack->is_sequential = json_is_true(json_object_get(root, "IsSequentialMessage"));
	rc = 0;
fail:
	json_decref(root);
	return rc;
}

static int parse_action(json_t *item, struct ssm_client_action *action, char *err,
			size_t errlen)
{
	const char *type = json_string_value(json_object_get(item, "ActionType"));
	json_t *params = json_object_get(item, "ActionParameters");

	if (!type) {
		snprintf(err, errlen, "ssm handshake request: an action has no ActionType");
		return -1;
	}
	copy_text(action->action_type, sizeof action->action_type, type);
	if (strcmp(type, "SessionType") == 0) {
		action->kind = SSM_ACTION_SESSION_TYPE;
		copy_member(action->session_type, sizeof action->session_type, params,
			    "SessionType");
	} else if (strcmp(type, "KMSEncryption") == 0) {
		action->kind = SSM_ACTION_KMS_ENCRYPTION;
		copy_member(action->kms_key_id, sizeof action->kms_key_id, params, "KMSKeyId");
		copy_member(action->challenge, sizeof action->challenge, params, "Challenge");
	} else {
		action->kind = SSM_ACTION_UNKNOWN;
	}
	return 0;
}

int ssm_handshake_request_parse(const uint8_t *payload, size_t len,
				struct ssm_handshake_request *req, char *err, size_t errlen)
{
	json_t *root = load_object(payload, len, "ssm handshake request", err, errlen);
	json_t *actions, *item;
	size_t i;
	int rc = -1;

	memset(req, 0, sizeof *req);
	if (!root)
		goto fail;
	copy_member(req->agent_version, sizeof req->agent_version, root, "AgentVersion");
	actions = json_object_get(root, "RequestedClientActions");
	if (!actions || json_is_null(actions)) {
		rc = 0;
		goto fail;
	}
	if (!json_is_array(actions)) {
		snprintf(err, errlen, "ssm handshake request: RequestedClientActions is not an array");
		goto fail;
	}
	if (json_array_size(actions) > SSM_HANDSHAKE_MAX_ACTIONS) {
		snprintf(err, errlen, "ssm handshake request: %zu actions (at most %d)",
			 json_array_size(actions), SSM_HANDSHAKE_MAX_ACTIONS);
		goto fail;
	}
	json_array_foreach(actions, i, item) {
		if (parse_action(item, &req->actions[i], err, errlen) != 0)
			goto fail;
		req->n_actions = i + 1;
	}
	rc = 0;
fail:
	json_decref(root);
	return rc;
}

int ssm_session_type_is_shell(const char *session_type)
{
	static const char *const shells[] = {
		"Standard_Stream", "InteractiveCommands", "NonInteractiveCommands",
	};

	for (size_t i = 0; i < sizeof shells / sizeof shells[0]; i++)
		if (strcmp(session_type, shells[i]) == 0)
			return 1;
	return 0;
}

void ssm_handshake_decide(const struct ssm_handshake_request *req,
			  struct ssm_handshake_outcome *outcome)
{
	memset(outcome, 0, sizeof *outcome);
	outcome->n_actions = req->n_actions;
	for (size_t i = 0; i < req->n_actions; i++) {
		const struct ssm_client_action *a = &req->actions[i];
		char *error = outcome->error[i];
		size_t cap = sizeof outcome->error[i];

		switch (a->kind) {
		case SSM_ACTION_SESSION_TYPE:
			if (ssm_session_type_is_shell(a->session_type)) {
				outcome->status[i] = SSM_ACTION_SUCCESS;
				break;
			}
			outcome->status[i] = SSM_ACTION_UNSUPPORTED;
			outcome->session_type_refused = 1;
			snprintf(error, cap,
				 "Failed to process action SessionType: session type %s is not supported by this client",
				 a->session_type);
			break;
		case SSM_ACTION_KMS_ENCRYPTION:
			/* There is no plaintext fallback (§D.8): declining ends the session. */
			outcome->status[i] = SSM_ACTION_UNSUPPORTED;
			outcome->kms_declined = 1;
			snprintf(error, cap,
				 "Failed to process action KMSEncryption: KMS encryption is not supported by this client");
			break;
		default:
			outcome->status[i] = SSM_ACTION_UNSUPPORTED;
			snprintf(error, cap, "Unsupported action %s", a->action_type);
			break;
		}
	}
}

int ssm_handshake_response_build(const struct ssm_handshake_request *req,
				 const struct ssm_handshake_outcome *outcome,
				 const char *client_version, char *out, size_t cap,
				 size_t *out_len, char *err, size_t errlen)
{
	json_t *root = NULL, *processed = json_array(), *errors = json_array();
	int rc = -1;

	if (!processed || !errors || outcome->n_actions != req->n_actions)
		goto oom;
	for (size_t i = 0; i < req->n_actions; i++) {
		json_t *result = json_null();
		json_t *item;

		/* The agent's KMSEncryptionResponse (contracts/model.go): the data key as KMS
		 * returned it, and that the random challenge went into its encryption context. */
		if (req->actions[i].kind == SSM_ACTION_KMS_ENCRYPTION &&
		    outcome->status[i] == SSM_ACTION_SUCCESS && outcome->kms_ciphertext_b64)
			result = json_pack("{s:s,s:n,s:b}", "KMSCipherTextKey",
					   outcome->kms_ciphertext_b64, "KMSCipherTextHash",
					   "ChallengeAcknowledgement", req->actions[i].challenge[0] != '\0');
		item = json_pack("{s:s,s:i,s:o,s:s}",
				 "ActionType", req->actions[i].action_type,
				 "ActionStatus", (int)outcome->status[i],
				 "ActionResult", result,
				 "Error", outcome->error[i]);

		if (json_array_append_new(processed, item) != 0)
			goto oom;
		if (outcome->error[i][0] &&
		    json_array_append_new(errors, json_string(outcome->error[i])) != 0)
			goto oom;
	}
	root = json_pack("{s:s,s:O,s:O}", "ClientVersion", client_version,
			 "ProcessedClientActions", processed,
			 "Errors", json_array_size(errors) ? errors : json_null());
	if (!root)
		goto oom;
	rc = dump_into(root, "ssm handshake response", out, cap, out_len, err, errlen);
	goto done;
oom:
	snprintf(err, errlen, "ssm handshake response: cannot build the JSON");
done:
	json_decref(root);
	json_decref(processed);
	json_decref(errors);
	return rc;
}

int ssm_challenge_parse(const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
			size_t *out_len, char *err, size_t errlen)
{
	json_t *root = load_object(payload, len, "ssm encryption challenge", err, errlen);
	const char *b64;
	unsigned char *raw = NULL;
	size_t n = 0;
	int rc = -1;

	if (!root)
		return -1;
	b64 = json_string_value(json_object_get(root, "Challenge"));
	if (!b64 || b64_decode(b64, strlen(b64), &raw, &n) != 0) {
		snprintf(err, errlen, "ssm encryption challenge: Challenge is not base64");
		goto done;
	}
	if (n > cap) {
		snprintf(err, errlen, "ssm encryption challenge: %zu bytes (at most %zu)", n, cap);
		goto done;
	}
	memcpy(out, raw, n);
	*out_len = n;
	rc = 0;
done:
	free(raw);
	json_decref(root);
	return rc;
}

int ssm_challenge_build(const uint8_t *challenge, size_t len, char *out, size_t cap,
			size_t *out_len, char *err, size_t errlen)
{
	char *b64 = b64_encode(challenge, len);
	json_t *root = b64 ? json_pack("{s:s}", "Challenge", b64) : NULL;
	int rc = -1;

	if (!root)
		snprintf(err, errlen, "ssm encryption challenge: cannot build the JSON");
	else
		rc = dump_into(root, "ssm encryption challenge", out, cap, out_len, err, errlen);
	json_decref(root);
	free(b64);
	return rc;
}

int ssm_handshake_complete_parse(const uint8_t *payload, size_t len,
				 struct ssm_handshake_complete *hc, char *err, size_t errlen)
{
	json_t *root = load_object(payload, len, "ssm handshake complete", err, errlen);

	memset(hc, 0, sizeof *hc);
	if (!root)
		return -1;
	hc->time_to_complete_ns =
		json_integer_value(json_object_get(root, "HandshakeTimeToComplete"));
	copy_member(hc->customer_message, sizeof hc->customer_message, root, "CustomerMessage");
	json_decref(root);
	return 0;
}

int ssm_size_build(uint32_t cols, uint32_t rows, char *out, size_t cap, size_t *out_len,
		   char *err, size_t errlen)
{
	json_t *root = json_pack("{s:I,s:I}", "cols", (json_int_t)cols, "rows", (json_int_t)rows);
	int rc = -1;

	if (!root) {
		snprintf(err, errlen, "ssm size: cannot build the JSON");
		goto fail;
	}
	rc = dump_into(root, "ssm size", out, cap, out_len, err, errlen);
fail:
	json_decref(root);
	return rc;
}

int ssm_channel_closed_parse(const uint8_t *payload, size_t len,
			     struct ssm_channel_closed *cc, char *err, size_t errlen)
{
	json_t *root = load_object(payload, len, "ssm channel_closed", err, errlen);

	memset(cc, 0, sizeof *cc);
	if (!root)
		return -1;
	copy_member(cc->output, sizeof cc->output, root, "Output");
	copy_member(cc->session_id, sizeof cc->session_id, root, "SessionId");
	copy_member(cc->destination_id, sizeof cc->destination_id, root, "DestinationId");
	copy_member(cc->message_id, sizeof cc->message_id, root, "MessageId");
	json_decref(root);
	return 0;
}
