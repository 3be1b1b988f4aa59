/* The PayloadDigest of the session's acknowledgements, one per output message received.
 * An ack of output_stream_data is JSON whose first 64 bytes never change
 * ({"AcknowledgedMessageType":"output_stream_data","AcknowledgedMessageId":"...): their
 * SHA-256 state is kept, and each ack hashes only the rest (2 blocks of 64 bytes instead
 * of 3). Any other payload is hashed whole.
 *
 * Why acks carry a digest at all: amazon-ssm-agent does not check it
 * (agent/session/datachannel/datachannel.go dataChannelIncomingMessageHandler calls
 * AgentMessage.Validate, agent/session/contracts/agentmessage.go, which checks only
 * HeaderLength, MessageType and CreatedDate), but every client computes it
 * (session-manager-plugin src/message/messageparser.go SerializeClientMessage, acks
 * included) and the service between them (MGS) is not public: whether it checks is
 * unknown (ssm-protocol.md §F.2), so it is kept, and made cheaper. */
#ifndef PERISCOPE_SSM_ACK_DIGEST_H
#define PERISCOPE_SSM_ACK_DIGEST_H

#include <nettle/sha2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSM_ACK_PREFIX_LEN 64

/* nettle's context is a plain struct: each ack copies it (no allocation), and nettle runs
 * SHA-NI where the CPU has it (bench/hash-bench: 96 ns an ack, against 117 through a GnuTLS
 * hash copy and 137 whole; docs/HACKING.md has the measurement). */
struct ssm_ack_digest {
	struct sha256_ctx prefix;   /* SHA-256 of text, not finished */
	uint8_t text[SSM_ACK_PREFIX_LEN];
	bool ready;
};

/* Prepares the prefix state. Without it every digest is computed whole: d is always
 * usable. */
void ssm_ack_digest_init(struct ssm_ack_digest *d);
/* SHA-256 of payload into out. 0, or -1 when GnuTLS fails (a payload hashed whole). */
int ssm_ack_digest(const struct ssm_ack_digest *d, const void *payload, size_t len,
		   uint8_t out[32]);
void ssm_ack_digest_free(struct ssm_ack_digest *d);

#endif
