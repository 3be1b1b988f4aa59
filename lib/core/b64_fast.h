/* Standard base64 (with padding) written in place, for the terminal relay's hot path. The
 * libraries here encode a byte at a time from a 64-entry table: nettle's base64_encode_raw
 * and OpenSSL's EVP_EncodeBlock both cost ~10.3 instructions a byte (callgrind, 4 KiB
 * blocks), the biggest share of relaying a byte. Looking up 12 bits at a time (two output
 * characters per lookup, six input bytes per step) costs about a third of that; twelve
 * bytes per step with SSSE3 shuffles, about an eighth. */
#ifndef PERISCOPE_B64_FAST_H
#define PERISCOPE_B64_FAST_H

#include <stddef.h>

/* Characters b64_encode_into writes for len bytes (no NUL). */
#define B64_ENCODED_LENGTH(len) ((((len) + 2) / 3) * 4)

/* Writes B64_ENCODED_LENGTH(len) characters to out, byte for byte what nettle's
 * base64_encode_raw writes. */
void b64_encode_into(char *out, const void *data, size_t len);

#endif
