#include "metrics/upstream_tally.h"

#include <stddef.h>

void upstream_tally_record(struct upstream_tally *t, enum upstream_service service, long status)
{
	int cls = 0;

	if (!t || service <= UPSTREAM_NONE || service >= UPSTREAM_SERVICES)
		return;
	if (status >= 100 && status <= 599)
		cls = (int)(status / 100);
	t->n[service][cls]++;
}

const char *upstream_service_name(enum upstream_service service)
{
	static const char *const names[UPSTREAM_SERVICES] = {
		[UPSTREAM_IDP] = "idp",         [UPSTREAM_APISERVER] = "apiserver",
		[UPSTREAM_STS] = "sts",         [UPSTREAM_SSM] = "ssm",
		[UPSTREAM_SSMMESSAGES] = "ssmmessages", [UPSTREAM_EKS] = "eks",
	};

	return service > UPSTREAM_NONE && service < UPSTREAM_SERVICES ? names[service] : NULL;
}

const char *upstream_class_name(int cls)
{
	static const char *const names[UPSTREAM_CLASSES] = { "error", "1xx", "2xx", "3xx", "4xx", "5xx" };

	return cls >= 0 && cls < UPSTREAM_CLASSES ? names[cls] : NULL;
}
