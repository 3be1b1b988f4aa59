/* The bearer token an EKS apiserver accepts: "k8s-aws-v1." + base64url (no padding) of a
 * presigned STS GetCallerIdentity URL whose signed headers include
 * "x-k8s-aws-id: <cluster name>", presigned for 60 s. Built as aws-iam-authenticator
 * (pkg/token/token.go generator.GetWithSTS) and the AWS CLI (awscli/customizations/eks/
 * get_token.py TokenGenerator / STSClientFactory) build it. The apiserver's authenticator
 * accepts it until 15 minutes after X-Amz-Date (token.go tokenVerifier.Verify,
 * presignedURLExpiration), whatever X-Amz-Expires says; both clients call it good for
 * 14 minutes. */
#ifndef PERISCOPE_EKS_TOKEN_H
#define PERISCOPE_EKS_TOKEN_H

#include <stddef.h>
#include <time.h>

#include "aws/sigv4.h"

#define EKS_TOKEN_PREFIX "k8s-aws-v1."
#define EKS_TOKEN_PRESIGN_SECONDS 60
#define EKS_TOKEN_LIFETIME_SECONDS (14 * 60)

/* sts_endpoint: "https://sts.<region>.amazonaws.com" (or a test's). The token, malloc'd,
 * into *out. 0, or -1 with err. */
int eks_token_build(const struct aws_credentials *creds, const char *sts_endpoint,
		    const char *region, const char *cluster_name, time_t now, char **out,
		    char *err, size_t errlen);

#endif
