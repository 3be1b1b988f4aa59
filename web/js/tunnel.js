// An agent cluster's tunnel (GET /api/clusters: cluster.tunnel, docs/agent.md) in words for
// the cluster card. now: Unix seconds.
function ago(seconds) {
	if (seconds < 90) return `${Math.max(0, Math.round(seconds))} s ago`;
	if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min ago`;
	if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h ago`;
	return `${Math.round(seconds / 86400)} days ago`;
}

export function describeTunnel(tunnel, now = Date.now() / 1000) {
	if (!tunnel) return null;
	switch (tunnel.status) {
	case 'connected':
		return { ok: true, text: `connected since ${ago(now - tunnel.connectedSince)}` };
	case 'disconnected':
		return { ok: false, text: tunnel.lastSeen ? `not connected (last seen ${ago(now - tunnel.lastSeen)})` : 'not connected' };
	case 'unregistered':
		return { ok: false, text: 'no agent registered yet' };
	default:
		return { ok: false, text: 'unknown' };
	}
}
