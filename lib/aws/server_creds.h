/* The server's own AWS identity, for reaching EKS apiservers (never for the node shell,
 * which uses only the operator's credentials). Read explicitly from the standard sources,
 * in the configured order (eks.credentialSources), the way the AWS SDKs' default chains
 * read them:
 *   podIdentity      EKS Pod Identity: GET $AWS_CONTAINER_CREDENTIALS_FULL_URI with the
 *                    token read from $AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (on every
 *                    fetch: the agent rotates it) as Authorization (botocore
 *                    credentials.py ContainerProvider, utils.py ContainerMetadataFetcher)
 *   irsa             $AWS_ROLE_ARN + $AWS_WEB_IDENTITY_TOKEN_FILE → STS
 *                    AssumeRoleWithWebIdentity (botocore AssumeRoleWithWebIdentityProvider)
 *   instanceProfile  IMDSv2: PUT /latest/api/token, then the role name, then its
 *                    credentials (botocore utils.py InstanceMetadataFetcher)
 * Never the static AWS_ACCESS_KEY_ID variables, profiles or credential files. */
#ifndef PERISCOPE_SERVER_CREDS_H
#define PERISCOPE_SERVER_CREDS_H

#include <stddef.h>

#include "aws/sigv4.h"
#include "config/config.h"

struct server_creds {
	struct aws_credentials creds;
	long long expires;              /* Unix seconds; 0 = no expiry given */
	enum aws_cred_source source;
	char *arn;                      /* the assumed role, when the source says it; or NULL */
};

void server_creds_clear(struct server_creds *c);

/* Tries each configured source in order; a source whose variables are not set is skipped,
 * one that is set but fails is an error (like the SDKs: no silent fall-through to another
 * identity). region picks the STS endpoint for irsa. 0, or -1 with err (no secrets). */
int server_creds_fetch(const struct eks_config *cfg, const char *region, struct server_creds *out,
		       char *err, size_t errlen);

/* Which source the chain would use, without fetching: its name, or NULL with err saying
 * what is missing. For --check-config. */
const char *server_creds_source_present(const struct eks_config *cfg, char *err, size_t errlen);

#endif
