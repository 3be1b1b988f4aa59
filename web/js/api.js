// The JSON API, same origin, cookie auth. Errors come back as ApiError carrying the
// server's {code, message, ...} body (or E_NETWORK when the server could not be reached).

export class ApiError extends Error {
	constructor(status, body) {
		super(body?.message || `HTTP ${status}`);
		this.status = status;
		this.body = body || {};
		// A body that is not ours (the web server's own 502/503/504 page while periscope.fcgi
		// is down or starting) still reads as what it is, not as an internal error.
		this.code = this.body.code || (!status ? 'E_NETWORK' : status >= 502 && status <= 504 ? 'E_UNAVAILABLE' : 'E_INTERNAL');
	}
}

export async function getJson(path) {
	let res;
	try {
		res = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
	} catch (e) {
		throw new ApiError(0, { code: 'E_NETWORK', message: String(e.message || e) });
	}
	let body;
	try {
		body = await res.json();
	} catch {
		body = undefined;
	}
	if (!res.ok) throw new ApiError(res.status, body);
	return { body, headers: res.headers };
}

// Who is signed in, or null. Asked the way a page navigation asks: the server then answers
// "signed out" with a redirect to the sign-in instead of a 401, which the browser would
// log as a failed resource on every visit of the sign-in page.
async function whoamiOrNull() {
	let res;
	try {
		res = await fetch('/api/auth/whoami', { headers: { accept: 'text/html, application/json;q=0.9' }, redirect: 'manual', credentials: 'same-origin' });
	} catch (e) {
		throw new ApiError(0, { code: 'E_NETWORK', message: String(e.message || e) });
	}
	if (res.type === 'opaqueredirect' || res.status === 401) return null;
	const body = await res.json().catch(() => undefined);
	if (!res.ok) throw new ApiError(res.status, body);
	return body;
}

export const api = {
	whoamiOrNull,
	authConfig: () => getJson('/api/auth/config').then((r) => r.body),
	whoami: () => getJson('/api/auth/whoami').then((r) => r.body),
	clusters: () => getJson('/api/clusters').then((r) => r.body.clusters || []),
	nodes: (cluster) => getJson(`/api/clusters/${encodeURIComponent(cluster)}/nodes`).then((r) => r.body.nodes || []),
	preflight: (cluster, node) =>
		getJson(`/api/clusters/${encodeURIComponent(cluster)}/nodes/${encodeURIComponent(node)}/shell/preflight`).then((r) => r.body),
	audit: async (params) => {
		const q = new URLSearchParams();
		for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
		const r = await getJson(`/api/audit?${q}`);
		return { ...r.body, scope: r.headers.get('x-audit-scope') || 'self' };
	},
	auditEvent: (id) => getJson(`/api/audit/${encodeURIComponent(id)}`).then((r) => r.body),
	// Live terminals: { items, scope } (everyone's for audit admins, else one's own).
	sessions: () => getJson('/api/sessions').then((r) => r.body),
	endSession: (id) => sendJson('DELETE', `/api/sessions/${encodeURIComponent(id)}`),
};

// A state change (DELETE, POST) from this page: the browser adds its Origin, which the
// server checks. Resolves to the JSON answer; throws ApiError like getJson.
export async function sendJson(method, path) {
	let res;
	try {
		res = await fetch(path, { method, headers: { accept: 'application/json' }, credentials: 'same-origin' });
	} catch (e) {
		throw new ApiError(0, { code: 'E_NETWORK', message: String(e.message || e) });
	}
	const body = await res.json().catch(() => undefined);
	if (!res.ok) throw new ApiError(res.status, body);
	return body;
}

// The asciicast v2 file of a session (docs/sessions-api.md), for the player and Download.
export function recordingUrl(sessionId) {
	return `/api/sessions/${encodeURIComponent(sessionId)}/recording`;
}

export function shellPath(cluster, node) {
	const c = encodeURIComponent(cluster);
	return node ? `/api/clusters/${c}/nodes/${encodeURIComponent(node)}/shell` : `/api/clusters/${c}/shell`;
}

// A browser cannot read the body of a refused WebSocket upgrade, but the same gates answer
// a plain GET of the shell address with their JSON. The page's GET carries no Origin
// header, so E_ORIGIN there only means "every gate before the origin check passed".
export async function diagnoseShell(path) {
	try {
		const res = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
		const body = await res.json().catch(() => null);
		if (res.ok || !body || !body.code || body.code === 'E_ORIGIN' || body.code === 'E_UPGRADE_REQUIRED') return null;
		return body;
	} catch {
		return null;
	}
}
