#include "shell/fork_limit.h"

/* The same rule as shell_gates_static(): the cluster shell is on where the global switch
 * is on and the cluster does not turn it off; the node shell where the global switch is
 * on. Each cap is per cluster (shell_registry_admit counts a kind's rows per cluster). */
long fork_limit_sessions(const struct config *cfg)
{
	long total = 0;

	for (size_t i = 0; i < cfg->clusters_count; i++) {
		if (cfg->cluster_shell.enabled && cfg->clusters[i].cluster_shell.enabled != 0)
			total += cfg->cluster_shell.max_sessions_total;
		if (cfg->node_shell.enabled)
			total += cfg->node_shell.max_sessions_total;
	}
	return total;
}

long fork_limit(const struct config *cfg)
{
	long sessions = fork_limit_sessions(cfg);
	long headroom = sessions / 4;

	if (headroom < FORK_LIMIT_MIN_HEADROOM)
		headroom = FORK_LIMIT_MIN_HEADROOM;
	return sessions + headroom;
}
