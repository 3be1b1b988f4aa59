/* The URL of a pods/exec WebSocket (k8s-protocol.md section 1.1). Every path segment and
 * query value is percent-encoded by libcurl (curl_easy_escape), so a command like
 * sh -c 'echo a+b & x=1/2' reaches the kubelet as the same argv. */
#ifndef PERISCOPE_K8S_EXEC_URL_H
#define PERISCOPE_K8S_EXEC_URL_H

#include <stdbool.h>
#include <stddef.h>

struct k8s_exec_request {
	const char *server;          /* https://host[:port][/prefix] (http:// for tests) */
	const char *ns;
	const char *pod;
	const char *container;       /* NULL: let the server pick (single-container pods) */
	const char *const *command;  /* NULL-terminated argv, at least one element */
	bool stdin_, stdout_, stderr_, tty;
};

/* wss://host/prefix/api/v1/namespaces/NS/pods/POD/exec?command=..&container=..&stdin=true..
 * (percent-encoded by libcurl; keys sorted as kubectl does; false flags omitted). Returns
 * a malloc'd string, or NULL with err. */
char *k8s_exec_url(const struct k8s_exec_request *r, char *err, size_t errlen);

#endif
