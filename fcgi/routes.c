#include "handlers.h"
#include "router.h"

const struct route routes[] = {
	{ "GET", "/healthz", handle_healthz, ROUTE_PUBLIC },
	{ "GET", "/readyz", handle_readyz, ROUTE_PUBLIC },
	/* Restricted by network and token in the handler (fcgi/metrics.c). */
	{ "GET", "/metrics", handle_metrics, ROUTE_PUBLIC },
	{ "GET", "/api/health", handle_api_health, ROUTE_PUBLIC },
	{ "GET", "/api/auth/config", handle_auth_config, ROUTE_PUBLIC },
	{ "GET", "/api/auth/login", handle_auth_login, ROUTE_PUBLIC },
	{ "GET", "/api/auth/callback", handle_auth_callback, ROUTE_PUBLIC },
	/* POST only, and only from our own pages (fcgi/auth_logout.c). */
	{ "POST", "/api/auth/logout", handle_auth_logout, ROUTE_PUBLIC },
	{ "POST", "/api/auth/logout/everywhere", handle_auth_logout_everywhere, ROUTE_PUBLIC },
	{ "GET", "/api/auth/whoami", handle_auth_whoami, 0 },
	{ "GET", "/api/clusters", handle_clusters_list, 0 },
	{ "GET", "/api/audit", handle_audit_list, 0 },
	/* Before {id}, which would take "verify" for an id. */
	{ "GET", "/api/audit/verify", handle_audit_verify, 0 },
	{ "GET", "/api/audit/{id}", handle_audit_get, 0 },
	{ "GET", "/api/sessions", handle_sessions_list, 0 },
	/* CSRF-checked in the handler (fcgi/sessions.c), as sign-out is. */
	{ "DELETE", "/api/sessions/{id}", handle_session_delete, 0 },
	{ "GET", "/api/sessions/{id}/recording", handle_session_recording, 0 },
	{ "GET", "/api/sessions/{id}/watch", handle_session_watch, 0 },
	{ "GET", "/api/clusters/{c}/nodes", handle_nodes_list, 0 },
	{ "GET", "/api/clusters/{c}/nodes/{n}/shell/preflight", handle_node_preflight, 0 },
	{ "POST", "/api/agents/tokens", handle_agent_token_create, 0 },
	/* The agent has no session: its one-time token is checked in the handler. */
	{ "POST", "/api/agents/register", handle_agent_register, ROUTE_PUBLIC },
	/* The terminal gates: the web server asks these as a FastCGI authorizer. */
	{ "GET", "/api/clusters/{c}/shell", handle_shell_authorize, ROUTE_PUBLIC },
	{ "GET", "/api/clusters/{c}/nodes/{n}/shell", handle_shell_authorize, ROUTE_PUBLIC },
};

const size_t routes_count = sizeof routes / sizeof routes[0];
