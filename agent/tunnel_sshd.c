#include "agent/tunnel_sshd.h"

#include <stdarg.h>
#include <stdio.h>

static int add(struct tunnel_sshd_args *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int add(struct tunnel_sshd_args *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (a->argc + 1 >= TUNNEL_SSHD_ARGS_MAX)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(a->store + a->used, sizeof a->store - a->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof a->store - a->used)
		return -1;
	a->argv[a->argc++] = a->store + a->used;
	a->argv[a->argc] = NULL;
	a->used += (size_t)n + 1;
	return 0;
}

int tunnel_sshd_args(struct tunnel_sshd_args *a, const char *host_key, const char *keys_file,
		     const char *user)
{
	static const char *const fixed[] = {
		"PidFile=none", "UsePAM=no", "StrictModes=no",
		"AuthenticationMethods=publickey", "PubkeyAuthentication=yes",
		"PasswordAuthentication=no", "KbdInteractiveAuthentication=no",
		"HostbasedAuthentication=no", "PermitRootLogin=prohibit-password",
		"AllowTcpForwarding=remote", "AllowStreamLocalForwarding=no",
		"AllowAgentForwarding=no", "X11Forwarding=no", "PermitTTY=no", "PermitTunnel=no",
		"PermitUserRC=no", "PermitUserEnvironment=no", "GatewayPorts=no",
		"MaxSessions=0", "MaxAuthTries=2", "LoginGraceTime=20", "UseDNS=no",
		"PrintMotd=no", "Banner=none", "ClientAliveCountMax=3",
		/* VERBOSE logs the accepted key's fingerprint, which names the agent. */
		"LogLevel=VERBOSE",
	};

	a->used = a->argc = 0;
	a->argv[0] = NULL;
	if (add(a, "%s", SSHD_PATH) != 0 || add(a, "-i") != 0 || add(a, "-e") != 0 ||
	    add(a, "-f") != 0 || add(a, "/dev/null") != 0 || add(a, "-h") != 0 ||
	    add(a, "%s", host_key) != 0)
		return -1;
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		if (add(a, "-o") != 0 || add(a, "%s", fixed[i]) != 0)
			return -1;
	if (add(a, "-o") != 0 || add(a, "AuthorizedKeysFile=%s", keys_file) != 0 ||
	    add(a, "-o") != 0 || add(a, "AllowUsers=%s", user) != 0 ||
	    add(a, "-o") != 0 || add(a, "ClientAliveInterval=%d", TUNNEL_ALIVE_SECONDS) != 0)
		return -1;
	return 0;
}
