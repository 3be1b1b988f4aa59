/* The native cost of each SHA-256 pass of the relay, in the shapes the bridge uses, next
 * to memcpy of the same bytes in the same run (CPU time, so a busy machine matters less):
 *   payload  the SSM PayloadDigest check of each received message (ssm_message_decode):
 *            gnutls_hash_fast over 1 KiB, the agent's message size;
 *   ack      each ack's own digest: whole (gnutls_hash_fast over the 180-byte JSON) and
 *            from the prefix state the session keeps (aws/ssm_ack_digest.h);
 *   record   the recording's hash (shell/recording.c): gnutls_hash over 64 KiB writes.
 * valgrind emulates no SHA-NI, so callgrind counts another code path than the one that runs
 * here: this is the figure to read for SHA-256. The CPU's SHA-NI flag is printed; run with
 * GNUTLS_CPUID_OVERRIDE=0x4 (GnuTLS: SSSE3 only) and NETTLE_FAT_OVERRIDE=none (nettle, the
 * acks' prefix state) to see the same passes without it.
 * Usage: bench/hash-bench [megabytes=256] */
#include <cpuid.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/ssm_ack_digest.h"
#include "aws/ssm_message.h"
#include "aws/ssm_payloads.h"

#define WORK (1u << 20)   /* one MiB, reused: the data stays in cache, as a relay's does */

/* This process's CPU seconds, or a negative number when the clock cannot be read. */
static double cpu_s(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
		return -1;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int has_sha_ni(void)
{
	unsigned a, b, c, d;

	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
}

/* ns per byte of `total` bytes in `chunk`-byte calls of one of the passes. */
enum pass { MEMCPY, FAST, STREAM, ACK_PREFIX };

static double run(enum pass p, const uint8_t *src, uint8_t *dst, size_t chunk, size_t total,
		  const struct ssm_ack_digest *ack, unsigned *sink)
{
	gnutls_hash_hd_t h = NULL;
	uint8_t md[32];
	double t0, t1, ns = -1;
	size_t done = 0, off = 0;

	if (p == STREAM && gnutls_hash_init(&h, GNUTLS_DIG_SHA256) != 0)
		return -1;
	if ((t0 = cpu_s()) < 0)
		goto done;
	while (done < total) {
		if (off + chunk > WORK)
			off = 0;
		switch (p) {
		case MEMCPY:
			memcpy(dst + off, src + off, chunk);
			*sink += dst[off];
			break;
		case FAST:
			if (gnutls_hash_fast(GNUTLS_DIG_SHA256, src + off, chunk, md) != 0)
				goto done;
			*sink += md[0];
			break;
		case STREAM:
			if (gnutls_hash(h, src + off, chunk) != 0)
				goto done;
			break;
		case ACK_PREFIX:
			if (ssm_ack_digest(ack, src, chunk, md) != 0)
				goto done;
			*sink += md[0];
			break;
		}
		done += chunk;
		off += chunk;
	}
	if ((t1 = cpu_s()) >= 0)
		ns = (t1 - t0) * 1e9 / (double)done;
done:
	if (h)
		gnutls_hash_deinit(h, md);
	return ns;
}

int main(int argc, char **argv)
{
	long mb = argc > 1 ? strtol(argv[1], NULL, 10) : 256;
	size_t total = mb > 0 && mb <= 65536 ? (size_t)mb << 20 : 0;
	uint8_t *src = malloc(WORK), *dst = malloc(WORK);
	struct ssm_ack_digest ack;
	struct ssm_message acked;
	char json[512], err[160];
	size_t ack_len;
	unsigned sink = 0;
	double copy, payload, ack_whole, ack_prefix, record;
	int rc = 1;

	ssm_ack_digest_init(&ack);
	if (total == 0) {
		fprintf(stderr, "usage: hash-bench [megabytes, 1-65536]\n");
		rc = 2;
		goto done;
	}
	if (!src || !dst) {
		fprintf(stderr, "hash-bench: out of memory\n");
		goto done;
	}
	for (size_t i = 0; i < WORK; i++)
		src[i] = (uint8_t)(i * 131 + 7);
	/* A real ack of output seq 123456 fills the start of src for the ack passes. */
	memset(&acked, 0, sizeof acked);
	memcpy(acked.message_type, SSM_MT_OUTPUT, sizeof SSM_MT_OUTPUT);
	acked.sequence_number = 123456;
	if (ssm_ack_build(&acked, json, sizeof json, &ack_len, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		goto done;
	}
	memcpy(src, json, ack_len);

	copy = run(MEMCPY, src, dst, 1024, total, &ack, &sink);
	payload = run(FAST, src, dst, 1024, total, &ack, &sink);
	ack_whole = run(FAST, src, dst, ack_len, total / 4, &ack, &sink);
	ack_prefix = run(ACK_PREFIX, src, dst, ack_len, total / 4, &ack, &sink);
	record = run(STREAM, src, dst, 65536, total, &ack, &sink);
	if (copy < 0 || payload < 0 || ack_whole < 0 || ack_prefix < 0 || record < 0) {
		fprintf(stderr, "a hash call or the CPU clock failed\n");
		goto done;
	}
	printf("SHA-NI on this CPU: %s (GNUTLS_CPUID_OVERRIDE=%s, NETTLE_FAT_OVERRIDE=%s)\n",
	       has_sha_ni() ? "yes" : "no",
	       getenv("GNUTLS_CPUID_OVERRIDE") ? getenv("GNUTLS_CPUID_OVERRIDE") : "unset",
	       getenv("NETTLE_FAT_OVERRIDE") ? getenv("NETTLE_FAT_OVERRIDE") : "unset");
	printf("| pass | shape | ns per byte hashed | x memcpy | ns per ack |\n|---|---|---|---|---|\n");
	printf("| memcpy (anchor) | 1 KiB copies | %.3f | 1.0 | |\n", copy);
	printf("| payload digest | gnutls_hash_fast, 1 KiB | %.3f | %.1f | |\n", payload, payload / copy);
	printf("| ack digest, whole | gnutls_hash_fast, %zu B | %.3f | %.1f | %.0f |\n", ack_len,
	       ack_whole, ack_whole / copy, ack_whole * (double)ack_len);
	printf("| ack digest, prefix state | ssm_ack_digest, %zu B | %.3f | %.1f | %.0f |\n", ack_len,
	       ack_prefix, ack_prefix / copy, ack_prefix * (double)ack_len);
	printf("| recording hash | gnutls_hash, 64 KiB writes | %.3f | %.1f | |\n", record,
	       record / copy);
	/* Per relayed byte of a node shell: one 1 KiB payload and one ack per 1 KiB; the
	 * recording hashes about one file byte per terminal byte of plain text. */
	printf("node shell, SHA-256 per relayed byte: %.3f ns (payload %.3f + ack %.3f + recording %.3f)\n",
	       payload + ack_prefix * (double)ack_len / 1024 + record, payload,
	       ack_prefix * (double)ack_len / 1024, record);
	/* sink is printed nowhere: this keeps the compiler from dropping the passes. */
	rc = sink == 0xffffffffu ? 1 : 0;
done:
	ssm_ack_digest_free(&ack);
	free(src);
	free(dst);
	return rc;
}
