/* eks:DescribeCluster (REST-JSON, GET /clusters/{name}, SigV4 for service "eks"), signed
 * with the server's own credentials: where a cluster's apiserver is and which CA it has. */
#ifndef PERISCOPE_EKS_API_H
#define PERISCOPE_EKS_API_H

#include "metrics/upstream_tally.h"
#include <stddef.h>

#include "aws/sigv4.h"

struct eks_cluster_info {
	char *endpoint;        /* cluster.endpoint: https://XXXX.gr7.<region>.eks.amazonaws.com */
	char *ca_data;         /* cluster.certificateAuthority.data: base64 of the CA's PEM */
	char *status;          /* ACTIVE, CREATING, ... */
};

void eks_cluster_info_clear(struct eks_cluster_info *i);

/* "https://eks.<region>.amazonaws.com" into out; 0 or -1. */
int eks_default_endpoint(const char *region, char *out, size_t outlen);

/* 0 with out filled; -1 with err ("eks:DescribeCluster: <Code>: <message>", or the
 * transport's words), never a credential. */
int eks_describe_cluster(const char *endpoint, const char *region, const char *ca_file,
			 const struct aws_credentials *creds, struct upstream_tally *tally,
			 const char *name, struct eks_cluster_info *out, char *err, size_t errlen);

/* The answer's body into out (exposed for the unit tests and the fuzz target). */
int eks_parse_describe_cluster(const char *body, size_t len, struct eks_cluster_info *out,
			       char *err, size_t errlen);

#endif
