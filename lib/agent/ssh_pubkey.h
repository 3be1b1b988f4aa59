/* An agent's SSH public key, as it registers it: one OpenSSH public key line
 * ("ssh-ed25519 AAAA... comment"). Checked strictly before it may become an
 * authorized_keys line of the tunnel's sshd: a known type, a blob that decodes and says
 * the same type, the exact key size; nothing that could smuggle authorized_keys options
 * (no newline, no quote, no comma before the type). */
#ifndef PERISCOPE_SSH_PUBKEY_H
#define PERISCOPE_SSH_PUBKEY_H

#include <stddef.h>

#define SSH_PUBKEY_LINE_MAX 512
/* "SHA256:" + 43 base64 characters, as ssh-keygen -l prints it. */
#define SSH_FINGERPRINT_LEN 50

struct ssh_pubkey {
	char line[SSH_PUBKEY_LINE_MAX];           /* "type base64", the comment dropped */
	char fingerprint[SSH_FINGERPRINT_LEN + 1];
};

/* 0 and out filled, or -1 with why in err (no key material in it). */
int ssh_pubkey_parse(const char *text, struct ssh_pubkey *out, char *err, size_t errlen);

#endif
