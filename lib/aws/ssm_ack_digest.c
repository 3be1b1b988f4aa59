#include "aws/ssm_ack_digest.h"

#include <string.h>

#include "aws/ssm_message.h"
#include "aws/ssm_payloads.h"
#include "core/encoding.h"

void ssm_ack_digest_init(struct ssm_ack_digest *d)
{
	struct ssm_message acked;
	char json[512], err[160];
	size_t n;

	memset(d, 0, sizeof *d);
	/* The prefix is taken from a real ack, so it follows whatever ssm_ack_build writes. */
	memset(&acked, 0, sizeof acked);
	memcpy(acked.message_type, SSM_MT_OUTPUT, sizeof SSM_MT_OUTPUT);
	if (ssm_ack_build(&acked, json, sizeof json, &n, err, sizeof err) != 0 ||
	    n < SSM_ACK_PREFIX_LEN)
		return;
	memcpy(d->text, json, SSM_ACK_PREFIX_LEN);
	sha256_init(&d->prefix);
	sha256_update(&d->prefix, SSM_ACK_PREFIX_LEN, d->text);
	d->ready = true;
}

int ssm_ack_digest(const struct ssm_ack_digest *d, const void *payload, size_t len,
		   uint8_t out[32])
{
	if (d->ready && len >= SSM_ACK_PREFIX_LEN &&
	    memcmp(payload, d->text, SSM_ACK_PREFIX_LEN) == 0) {
		struct sha256_ctx h = d->prefix;

		sha256_update(&h, len - SSM_ACK_PREFIX_LEN,
			      (const uint8_t *)payload + SSM_ACK_PREFIX_LEN);
		sha256_digest(&h, SHA256_DIGEST_SIZE, out);
		return 0;
	}
	return sha256(payload, len, out);
}

void ssm_ack_digest_free(struct ssm_ack_digest *d)
{
	explicit_bzero(d, sizeof *d);
}
