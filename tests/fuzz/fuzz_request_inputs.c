/* Fuzz target: the small parsers that read what a client sends — query strings, cookies,
 * audit filters and cursors, shell paths, providerIDs, X-Forwarded-For — and the kubeconfig
 * reader. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/audit_query.h"
#include "auth/auth.h"
#include "k8s/kubeconfig.h"
#include "shell/node_shell_prep.h"
#include "shell/shell_gates.h"
#include "core/urlcode.h"
#include "net/client_addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct query_params q;
	struct shell_target t;
	char err[256], *v, *id = NULL, *zone = NULL, client[CLIENT_ADDR_MAX];
	long long ts, cid;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (query_parse(s, &q, err, sizeof err) == 0) {
		struct audit_query aq = { 0 };
		for (size_t i = 0; i < q.count; i++) {
			if (strlen(q.keys[i]) > 0 && !query_get(&q, q.keys[i]))
				abort();
			audit_query_set_param(&aq, q.keys[i], q.values[i], err, sizeof err);
		}
		query_free(&q);
	}
	if ((v = cookie_value(s, "periscope_session")) && !*v)
		abort(); /* an empty value is reported as absent */
	free(v);
	audit_cursor_decode(s, &ts, &cid);
	if (shell_target_parse(s, &t) == 1) {
		if (!t.cluster || (t.kind == SHELL_NODE && !t.node))
			abort();
		shell_target_clear(&t);
	}
	if (parse_provider_id(s, &id, &zone) == 0 && (!id || strncmp(id, "i-", 2) != 0))
		abort();
	free(id);
	free(zone);
	/* Only address characters come out, never more than an address's length. */
	client_address("127.0.0.1", s, client, sizeof client);
	if (strlen(client) > 45 || strspn(client, "0123456789abcdefABCDEF.:") != strlen(client))
		abort();
	json_decref(kubeconfig_parse(s, size, err, sizeof err));
	free(s);
	return 0;
}
