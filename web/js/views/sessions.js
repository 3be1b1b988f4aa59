// The live terminals (GET /api/sessions, docs/sessions-api.md): everyone's for an audit
// admin, one's own otherwise, refreshed while the page is open, each with End (DELETE
// /api/sessions/{id}, after a confirmation) and, for audit admins, Watch (read-only, live).
// A user refused by the per-user cap (E_CAP_USER) is sent here to end one.
import { api } from '../api.js';
import { clear, formatDuration, formatTime, h, td } from '../dom.js';
import { describeError } from '../errors.js';
import { errorNotice, loading } from '../ui.js';

const REFRESH_MS = 3000;

function kindLabel(s) {
	return s.kind === 'node_shell' ? 'Node shell' : 'Cluster shell';
}

function targetLabel(s) {
	return s.kind === 'node_shell' ? s.target || '' : `${s.mode || 'bash'} pod`;
}

function formatBytes(n) {
	if (!(n >= 0)) return '—';
	if (n < 1024) return `${n} B`;
	if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
	return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function startedAt(s) {
	const t = typeof s.startedAt === 'number' ? new Date(s.startedAt * (s.startedAt < 1e12 ? 1000 : 1)) : new Date(s.startedAt);
	return Number.isNaN(t.getTime()) ? null : t;
}

// The confirmation: what ends, and that it cannot be undone.
function confirmEnd(s, mine) {
	const who = mine ? 'your' : `${s.actor?.email || s.actor?.sub}'s`;
	const endButton = h('button', { type: 'button', class: 'primary danger-fill', value: 'end' }, 'End session');
	const cancel = h('button', { type: 'button', class: 'ghost', value: 'cancel' }, 'Cancel');
	const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'end-title' },
		h('h2', { id: 'end-title' }, `End ${who} ${kindLabel(s).toLowerCase()}?`),
		h('p', {}, `${kindLabel(s)} on ${s.cluster}${s.kind === 'node_shell' ? ` / ${s.target}` : ''}. `,
			'Its shell and anything running in it stop within seconds; the terminal says who ended it, and the audit log records it.'),
		h('div', { class: 'dialog-actions' }, cancel, endButton));
	document.body.append(dialog);
	return new Promise((resolve) => {
		endButton.addEventListener('click', () => dialog.close('end'));
		cancel.addEventListener('click', () => dialog.close('cancel'));
		dialog.addEventListener('close', () => {
			dialog.remove();
			resolve(dialog.returnValue === 'end');
		});
		dialog.showModal();
		cancel.focus();
	});
}

export async function renderSessions(ctx, params, stillCurrent) {
	const me = ctx.me;
	const results = h('div', { class: 'sessions-results' });
	const scopeNote = h('p', { class: 'muted' });
	const note = h('p', { class: 'sessions-note', role: 'status' });
	const capNote = params.get('cap') === '1'
		? h('div', { class: 'notice notice-info' }, h('p', {}, 'You have as many sessions of that kind open as you may. End one of these, then press Open a new session in the terminal.'))
		: null;
	clear(ctx.main,
		h('div', { class: 'page-head' }, h('h1', {}, 'Live sessions'), scopeNote),
		capNote, note, results);
	const ending = new Set();
	// This window's own terminals, by server session id: marked, so the user ends the right one.
	const mineHere = () => new Set((ctx.dock?.tabs || []).map((t) => t.session.hello?.sessionId).filter(Boolean));

	let first = true;
	const load = async () => {
		let r;
		try {
			r = await api.sessions();
		} catch (e) {
			if (stillCurrent() && first) clear(results, errorNotice(e));
			return;
		}
		if (!stillCurrent()) return;
		first = false;
		scopeNote.textContent = r.scope === 'all' ? 'Everyone\'s terminals, as they are now.' : 'Your own terminals, as they are now.';
		const items = r.items || [];
		for (const id of [...ending]) if (!items.some((s) => s.id === id)) ending.delete(id);
		const here = mineHere();
		const rows = items.map((s) => {
			const mine = s.actor?.sub === me.subject;
			const started = startedAt(s);
			const isEnding = s.ending || ending.has(s.id);
			const actions = [];
			if (isEnding) {
				actions.push(h('span', { class: 'pill pill-closed' }, 'Ending…'));
			} else {
				actions.push(h('button', {
					type: 'button', class: 'small danger', 'aria-label': `End session ${s.id}`,
					onclick: async (e) => {
						const button = e.currentTarget;
						if (!(await confirmEnd(s, mine))) {
							button.focus();
							return;
						}
						try {
							await api.endSession(s.id);
							ending.add(s.id);
							note.textContent = `Ending the session ${s.id.slice(0, 8)}… of ${s.actor?.email || s.actor?.sub}.`;
						} catch (err) {
							const d = describeError(err.body?.code ? err.body : err);
							note.textContent = `Could not end it: ${d.title} (${d.code})`;
						}
						load();
					},
				}, 'End'));
				// Audit admins watch any terminal but this window's own.
				if (me.auditScope === 'all' && !here.has(s.id)) {
					actions.push(h('a', { class: 'button small', href: `#/sessions/${encodeURIComponent(s.id)}/watch`, 'aria-label': `Watch session ${s.id}` }, 'Watch'));
				}
			}
			return h('tr', { dataset: { session: s.id } },
				td('Kind', {}, kindLabel(s), here.has(s.id) ? h('span', { class: 'muted small block' }, 'in this window') : null),
				td('Cluster', {}, s.cluster || '—'),
				td('Target', {}, h('span', { class: 'wrap' }, targetLabel(s))),
				td('Who', { title: s.actor?.sub || '' }, s.actor?.email || s.actor?.sub || '—', s.tier ? h('span', { class: 'muted small block' }, `tier ${s.tier}`) : null),
				td('Started', {}, started ? [h('time', { datetime: started.toISOString() }, formatTime(started.toISOString())), h('span', { class: 'muted small block' }, `for ${formatDuration((Date.now() - started.getTime()) / 1000)}`)] : '—'),
				td('Idle for', {}, formatDuration(s.idleSeconds || 0)),
				td('Traffic', {}, `${formatBytes(s.bytesOut)} out · ${formatBytes(s.bytesIn)} in`),
				td('Watchers', {}, s.watchers ? h('span', { class: 'pill pill-idle' }, `${s.watchers} watching`) : '—'),
				td('', { class: 'actions' }, actions));
		});
		clear(results, items.length
			? h('table', { class: 'table responsive sessions-table' },
				h('caption', { class: 'sr-only' }, 'Live terminal sessions'),
				h('thead', {}, h('tr', {}, ['Kind', 'Cluster', 'Target', 'Who', 'Started', 'Idle for', 'Traffic', 'Watchers'].map((t) => h('th', { scope: 'col' }, t)), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
				h('tbody', {}, rows))
			: h('p', { class: 'muted empty' }, r.scope === 'all' ? 'No terminal is open right now.' : 'You have no terminal open right now.'));
	};
	clear(results, loading('Loading the live sessions…'));
	await load();
	const timer = setInterval(() => {
		if (stillCurrent()) load();
	}, REFRESH_MS);
	ctx.disposers.push(() => clearInterval(timer));
}
