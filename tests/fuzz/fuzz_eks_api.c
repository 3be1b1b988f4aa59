/* Fuzz target: the server-credential and DescribeCluster answers periscope parses (JSON from
 * the EKS API), which a compromised or confused endpoint controls. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/eks_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eks_cluster_info i;
	char err[256];

	if (eks_parse_describe_cluster((const char *)data, size, &i, err, sizeof err) == 0) {
		if (!i.endpoint || strncmp(i.endpoint, "https://", 8) != 0 || !i.ca_data)
			abort();
		eks_cluster_info_clear(&i);
	}
	return 0;
}
