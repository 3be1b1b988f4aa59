// The nodes of one cluster, with the node shell: a preflight first (STS with the user's
// own token, then the SSM agent's status), and the shell opens only when the user confirms.
import { api } from '../api.js';
import { clear, h, td } from '../dom.js';
import { describeError } from '../errors.js';
import { errorNotice, loading, loginHref } from '../ui.js';

function preflightFacts(p) {
	return h('dl', { class: 'facts' },
		h('dt', {}, 'Instance'), h('dd', {}, h('code', {}, p.instanceId)),
		h('dt', {}, 'SSM agent'), h('dd', {}, h('span', { class: `pill ${p.agentOnline ? 'pill-connected' : 'pill-error'}` }, p.agentOnline ? 'Online' : (p.pingStatus || 'Offline'))),
		p.platform ? [h('dt', {}, 'Platform'), h('dd', {}, p.platform)] : null,
		h('dt', {}, 'AWS identity'), h('dd', {}, p.auth === 'sts' ? 'your own, through STS' : 'the server\'s'),
		p.assumedRoleArn ? [h('dt', {}, 'Assumed role'), h('dd', {}, h('code', { class: 'wrap' }, p.assumedRoleArn))] : null,
		p.roleSessionName ? [h('dt', {}, 'Role session'), h('dd', {}, h('code', {}, p.roleSessionName))] : null,
		p.region ? [h('dt', {}, 'Region'), h('dd', {}, p.region)] : null);
}

// The confirmation dialog: preflight, then Open (or Open greyed out with the reason).
async function confirmNodeShell(ctx, cluster, node) {
	const body = h('div', { class: 'dialog-body' }, loading('Checking the node: AWS credentials and the SSM agent…'));
	const openButton = h('button', { type: 'button', class: 'primary', disabled: true, value: 'open' }, 'Open node shell');
	const reason = h('p', { class: 'muted small', id: 'open-reason' });
	const cancel = h('button', { type: 'button', class: 'ghost', value: 'cancel' }, 'Cancel');
	const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'preflight-title' },
		h('h2', { id: 'preflight-title' }, 'Node shell on ', h('span', { class: 'wrap' }, node)),
		h('p', { class: 'muted' }, `Cluster ${cluster}. A root-capable shell on the host, through AWS Systems Manager; the whole session is recorded in the audit log.`),
		body,
		reason,
		h('div', { class: 'dialog-actions' }, cancel, openButton));
	document.body.append(dialog);
	const done = new Promise((resolve) => {
		openButton.addEventListener('click', () => { dialog.close('open'); });
		cancel.addEventListener('click', () => { dialog.close('cancel'); });
		dialog.addEventListener('close', () => {
			dialog.remove();
			resolve(dialog.returnValue === 'open');
		});
	});
	dialog.showModal();
	cancel.focus();
	try {
		const p = await api.preflight(cluster, node);
		clear(body, preflightFacts(p));
		if (p.agentOnline) {
			openButton.disabled = false;
			openButton.focus();
		} else {
			reason.textContent = `Cannot open: the SSM agent on this node is ${p.pingStatus || 'not online'}. Wait for it to come back, or pick another node.`;
			openButton.setAttribute('aria-describedby', 'open-reason');
		}
	} catch (e) {
		const d = describeError(e.body?.code ? e.body : e);
		clear(body, errorNotice(e, { compact: true }));
		reason.textContent = `Cannot open: ${d.title}`;
		openButton.setAttribute('aria-describedby', 'open-reason');
		if (d.code === 'E_REAUTH_REQUIRED' || d.code === 'E_AUTH') reason.append(' ', h('a', { href: loginHref() }, 'Sign in again'));
	}
	return done;
}

export async function renderNodes(ctx, cluster, stillCurrent) {
	let nodes;
	let clusters;
	try {
		[nodes, clusters] = await Promise.all([api.nodes(cluster), api.clusters()]);
	} catch (e) {
		const words = { E_NOT_FOUND: [`There is no cluster named ${cluster}.`, 'It may have been removed from the configuration: go to the Clusters page and pick one there.'] };
		if (stillCurrent()) clear(ctx.main, h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/' }, 'Clusters'), ' / ', cluster), h('h1', {}, `Nodes of ${cluster}`), errorNotice(e, { words }));
		return;
	}
	if (!stillCurrent()) return;
	const info = clusters.find((c) => c.name === cluster) || {};
	const rows = nodes.map((n) => {
		let action;
		if (n.nodeShellAllowed) {
			action = h('button', {
				type: 'button', class: 'primary', 'aria-label': `Open a node shell on ${n.name}`,
				onclick: async (e) => {
					const button = e.currentTarget;
					if (await confirmNodeShell(ctx, cluster, n.name)) {
						const refused = ctx.dock.open({ cluster, node: n.name });
						if (refused) button.closest('tr').querySelector('.node-note').textContent = refused;
					} else {
						button.focus();
					}
				},
			}, 'Node shell');
		} else if (!n.instanceId) {
			action = h('span', { class: 'muted small' }, 'Not an EC2 instance');
		} else if (info.nodeShellEnabled === false) {
			action = h('span', { class: 'muted small' }, 'Node shell off');
		} else {
			action = h('span', { class: 'muted small' }, 'Not for your tier');
		}
		return h('tr', { dataset: { node: n.name } },
			td('Node', {}, h('span', { class: 'node-name' }, n.name), h('span', { class: 'node-note muted small', role: 'status' })),
			td('Ready', {}, h('span', { class: `pill ${n.ready ? 'pill-connected' : 'pill-error'}` }, n.ready ? 'Ready' : 'Not ready')),
			td('Instance', {}, n.instanceId ? h('code', {}, n.instanceId) : '—'),
			td('Zone', {}, n.zone || n.region || '—'),
			td('', { class: 'actions' }, action));
	});
	clear(ctx.main,
		h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/' }, 'Clusters'), ' / ', cluster),
		h('div', { class: 'page-head' },
			h('h1', {}, `Nodes of ${cluster}`),
			info.clusterShellAllowed
				? h('button', { type: 'button', onclick: () => ctx.dock.open({ cluster }), 'aria-label': `Open a cluster shell on ${cluster}` }, 'Cluster shell')
				: null),
		nodes.length
			? h('table', { class: 'table responsive' },
				h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Node'), h('th', { scope: 'col' }, 'Ready'), h('th', { scope: 'col' }, 'Instance'), h('th', { scope: 'col' }, 'Zone'), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
				h('tbody', {}, rows))
			: h('p', { class: 'muted' }, 'This cluster reports no nodes.'));
}
