// The clusters page: one card per cluster with its shells.
import { api } from '../api.js';
import { clear, h } from '../dom.js';
import { describeTunnel } from '../tunnel.js';
import { errorNotice } from '../ui.js';

function shellButton(ctx, cluster) {
	if (!cluster.clusterShellEnabled) return null;
	if (!cluster.clusterShellAllowed) {
		return h('span', { class: 'muted small' }, `Cluster shell: not for your tier (${ctx.me.tier || 'none'})`);
	}
	return h('button', {
		type: 'button', class: 'primary', 'aria-label': `Open a cluster shell on ${cluster.name}`,
		onclick: (e) => {
			const refused = ctx.dock.open({ cluster: cluster.name });
			if (refused) showInline(e.target, refused);
		},
	}, 'Shell');
}

export function showInline(anchor, text) {
	const card = anchor.closest('.card, tr, li') || anchor.parentElement;
	card.querySelector('.inline-note')?.remove();
	card.append(h('p', { class: 'inline-note notice notice-error compact', role: 'alert' }, text));
}

// An agent cluster (backend agent): whether its agent holds the tunnel now.
function agentFact(tunnel) {
	const d = describeTunnel(tunnel);
	return d ? [h('dt', {}, 'Agent'), h('dd', { class: d.ok ? '' : 'warn' }, d.text)] : null;
}

export async function renderClusters(ctx, stillCurrent) {
	let clusters;
	try {
		clusters = await api.clusters();
	} catch (e) {
		if (stillCurrent()) clear(ctx.main, h('h1', {}, 'Clusters'), errorNotice(e));
		return;
	}
	if (!stillCurrent()) return;
	const cards = clusters.map((c) => h('li', { class: 'card cluster', dataset: { cluster: c.name } },
		h('div', { class: 'card-head' },
			h('h2', {}, c.name),
			h('span', { class: 'tag' }, c.backend)),
		h('dl', { class: 'facts inline' },
			c.region ? [h('dt', {}, 'Region'), h('dd', {}, c.region)] : null,
			c.environment ? [h('dt', {}, 'Environment'), h('dd', {}, c.environment)] : null,
			agentFact(c.tunnel),
			h('dt', {}, 'Cluster shell'), h('dd', {}, c.clusterShellEnabled ? (c.clusterShellMode || 'bash') : 'off'),
			h('dt', {}, 'Node shell'), h('dd', {}, c.nodeShellEnabled ? 'SSM' : 'off')),
		h('div', { class: 'card-actions' },
			shellButton(ctx, c),
			h('a', { class: 'button', href: `#/clusters/${encodeURIComponent(c.name)}/nodes` }, 'Nodes'))));
	clear(ctx.main,
		h('div', { class: 'page-head' },
			h('h1', {}, 'Clusters'),
			h('p', { class: 'muted' }, ctx.me.tier === 'read' || !clusters.some((c) => c.clusterShellAllowed || c.nodeShellAllowed)
				? 'Your tier can look, not open shells.' : 'Open a shell on a cluster, or pick a node for a host shell.')),
		clusters.length ? h('ul', { class: 'cards' }, cards) : h('p', { class: 'muted' }, 'No clusters are configured.'));
}
