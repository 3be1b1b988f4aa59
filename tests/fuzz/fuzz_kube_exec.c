/* Fuzz target: what a kubeconfig exec plugin prints (an ExecCredential), parsed as the
 * v1 and v1beta1 versions. */
#include <stdint.h>
#include <stdlib.h>

#include "k8s/kube_exec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const versions[] = { "client.authentication.k8s.io/v1",
						"client.authentication.k8s.io/v1beta1" };
	for (int i = 0; i < 2; i++) {
		struct kube_exec_credential c;
		char err[256];

		if (kube_exec_parse_output((const char *)data, size, versions[i], &c, err, sizeof err) == 0) {
			if (!c.token && !c.cert_pem)
				abort();
			if (!c.cert_pem != !c.key_pem)
				abort();
			kube_exec_credential_clear(&c);
		}
	}
	return 0;
}
