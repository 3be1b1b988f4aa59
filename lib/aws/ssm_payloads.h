/* JSON payloads carried inside SSM ClientMessages (ssm-protocol.md §D.5, §D.8, §D.9,
 * §D.11), built and parsed with Jansson. Builders write compact JSON, members in the order
 * the reference client uses, into a caller buffer (no NUL is added; the length is
 * returned). Parsers take the raw payload bytes and copy what they keep into fixed-size
 * fields (longer strings are cut at a UTF-8 character boundary). */
#ifndef PERISCOPE_SSM_PAYLOADS_H
#define PERISCOPE_SSM_PAYLOADS_H

#include <stddef.h>
#include <stdint.h>

#include "aws/ssm_message.h"

/* ---- acknowledge (§D.5) ---- */

struct ssm_ack {
	char acked_type[SSM_MESSAGE_TYPE_LEN + 1];   /* "" when absent */
	char acked_id[SSM_UUID_STR_LEN + 1];         /* "" when absent */
	int64_t acked_sequence;                      /* the only member peers rely on */
	int is_sequential;
};

/* {"AcknowledgedMessageType":…,"AcknowledgedMessageId":…,
 *  "AcknowledgedMessageSequenceNumber":…,"IsSequentialMessage":true} for message m. */
int ssm_ack_build(const struct ssm_message *acked, char *out, size_t cap, size_t *out_len,
		  char *err, size_t errlen);
/* Requires AcknowledgedMessageSequenceNumber (an integer); the others are optional. */
int ssm_ack_parse(const uint8_t *payload, size_t len, struct ssm_ack *ack,
		  char *err, size_t errlen);
/* The same through the JSON parser alone: ssm_ack_parse reads the agent's own layout
 * without it and must give what this gives (fuzz_ssm_message). */
int ssm_ack_parse_json(const uint8_t *payload, size_t len, struct ssm_ack *ack,
		       char *err, size_t errlen);

/* ---- handshake (§D.8) ---- */

#define SSM_HANDSHAKE_MAX_ACTIONS 4   /* agents send one or two */
#define SSM_HANDSHAKE_TEXT_MAX 128

enum ssm_action_kind {
	SSM_ACTION_UNKNOWN = 0,
	SSM_ACTION_SESSION_TYPE,
	SSM_ACTION_KMS_ENCRYPTION,
};

/* ActionStatus values. */
enum ssm_action_status {
	SSM_ACTION_SUCCESS = 1,
	SSM_ACTION_FAILED = 2,
	SSM_ACTION_UNSUPPORTED = 3,
};

struct ssm_client_action {
	enum ssm_action_kind kind;
	char action_type[SSM_HANDSHAKE_TEXT_MAX];
	char session_type[SSM_HANDSHAKE_TEXT_MAX];   /* SessionType actions */
	char kms_key_id[SSM_HANDSHAKE_TEXT_MAX * 2]; /* KMSEncryption actions (an ARN) */
	char challenge[SSM_HANDSHAKE_TEXT_MAX];      /* KMSEncryption: the agent's random
	                                              * challenge (base64), "" on older agents */
};

struct ssm_handshake_request {
	char agent_version[SSM_HANDSHAKE_TEXT_MAX];
	size_t n_actions;
	struct ssm_client_action actions[SSM_HANDSHAKE_MAX_ACTIONS];
};

/* Refuses a payload that is not an object with a RequestedClientActions array (null is
 * taken as empty), an action without a string ActionType, and more than
 * SSM_HANDSHAKE_MAX_ACTIONS actions. */
int ssm_handshake_request_parse(const uint8_t *payload, size_t len,
				struct ssm_handshake_request *req, char *err, size_t errlen);

/* Whether this client can run a session of that type as a terminal. */
int ssm_session_type_is_shell(const char *session_type);

/* What the client decided about each requested action, in request order. */
struct ssm_handshake_outcome {
	size_t n_actions;
	enum ssm_action_status status[SSM_HANDSHAKE_MAX_ACTIONS];
	char error[SSM_HANDSHAKE_MAX_ACTIONS][SSM_HANDSHAKE_TEXT_MAX * 2];
	int kms_declined;            /* a KMSEncryption action was answered Unsupported */
	const char *kms_ciphertext_b64; /* set: KMSEncryption succeeded with this data key
	                                 * (ActionResult KMSCipherTextKey, challenge acknowledged) */
	int session_type_refused;    /* a SessionType this client cannot run */
};

/* Decides every action: shell session types succeed; KMSEncryption, other session types
 * and unknown actions are Unsupported with an error text. */
void ssm_handshake_decide(const struct ssm_handshake_request *req,
			  struct ssm_handshake_outcome *outcome);

/* {"ClientVersion":…,"ProcessedClientActions":[{"ActionType":…,"ActionStatus":n,
 *  "ActionResult":null,"Error":"…"}…],"Errors":null|["…"]} */
int ssm_handshake_response_build(const struct ssm_handshake_request *req,
				 const struct ssm_handshake_outcome *outcome,
				 const char *client_version, char *out, size_t cap,
				 size_t *out_len, char *err, size_t errlen);

struct ssm_handshake_complete {
	int64_t time_to_complete_ns;
	char customer_message[1024];
};

int ssm_handshake_complete_parse(const uint8_t *payload, size_t len,
				 struct ssm_handshake_complete *hc, char *err, size_t errlen);

/* ---- KMS encryption challenge (§D.8): {"Challenge":"<base64>"} both ways ---- */

#define SSM_CHALLENGE_MAX 512   /* bytes of a decoded challenge (the agent sends 64 + 28) */

/* The decoded Challenge into out (at most cap bytes). -1 when absent, not base64 or too
 * long. */
int ssm_challenge_parse(const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
			size_t *out_len, char *err, size_t errlen);
int ssm_challenge_build(const uint8_t *challenge, size_t len, char *out, size_t cap,
			size_t *out_len, char *err, size_t errlen);

/* ---- terminal size (§D.9) ---- */

/* {"cols":C,"rows":R} */
int ssm_size_build(uint32_t cols, uint32_t rows, char *out, size_t cap, size_t *out_len,
		   char *err, size_t errlen);

/* ---- channel_closed (§D.11) ---- */

struct ssm_channel_closed {
	char output[1024];         /* the reason; often empty */
	char session_id[256];
	char destination_id[256];
	char message_id[64];
};

/* Every member is optional (MGS's exact texts are not public); a payload that is not a
 * JSON object is refused. */
int ssm_channel_closed_parse(const uint8_t *payload, size_t len,
			     struct ssm_channel_closed *cc, char *err, size_t errlen);

#endif
