/* Fuzz target: any bytes as an agent's SSH public key line (agent/ssh_pubkey.h). A key
 * that parses becomes an authorized_keys line of the tunnel's sshd, so it must carry no
 * newline, quote or option, begin with its type, and parse again to the same fingerprint. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/ssh_pubkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct ssh_pubkey k, again;
	char err[256];

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (ssh_pubkey_parse(text, &k, err, sizeof err) == 0) {
		if (strpbrk(k.line, "\n\r\",") || strlen(k.fingerprint) != SSH_FINGERPRINT_LEN ||
		    strncmp(k.fingerprint, "SHA256:", 7) != 0 ||
		    (strncmp(k.line, "ssh-ed25519 ", 12) != 0 &&
		     strncmp(k.line, "ecdsa-sha2-nistp256 ", 20) != 0))
			abort();
		if (ssh_pubkey_parse(k.line, &again, err, sizeof err) != 0 ||
		    strcmp(again.fingerprint, k.fingerprint) != 0 || strcmp(again.line, k.line) != 0)
			abort();
	}
	free(text);
	return 0;
}
