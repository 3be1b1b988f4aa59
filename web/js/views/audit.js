// The audit log: filters (kept in the address, so a filtered view can be shared), paging
// by the server's cursor, and one event's detail with a node shell's transcript in a
// read-only terminal and a cluster shell's kubectl/helm commands.
import { FitAddon } from '../../dist/addon-fit.mjs';
import { Terminal } from '../../dist/xterm.mjs';

import { api, recordingUrl } from '../api.js';
import { clear, formatDuration, formatTime, h, td } from '../dom.js';
import { recordingPlayer } from '../player.js';
import { TERMINAL_FONT, TERMINAL_THEME } from '../terminals.js';
import { errorNotice, loading } from '../ui.js';

const PAGE_SIZE = 25;

export const VERBS = {
	login: 'Sign-in',
	logout: 'Sign-out',
	cluster_shell_open: 'Cluster shell opened',
	cluster_shell_close: 'Cluster shell closed',
	ssm_session_open: 'Node shell opened',
	ssm_session_close: 'Node shell closed',
};
const OUTCOMES = ['success', 'failure', 'denied'];
const FILTERS = ['actor', 'verb', 'cluster', 'outcome', 'from', 'to', 'session_id'];

function verbLabel(verb) {
	return VERBS[verb] || verb;
}

function outcomePill(outcome) {
	const cls = outcome === 'success' ? 'pill-connected' : outcome === 'denied' ? 'pill-idle' : 'pill-error';
	return h('span', { class: `pill ${cls}` }, outcome);
}

// datetime-local works in local time without a zone; the API wants RFC 3339.
function localInputToIso(value) {
	if (!value) return '';
	const d = new Date(value);
	return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isoToLocalInput(iso) {
	const d = new Date(iso);
	if (!iso || Number.isNaN(d.getTime())) return '';
	const p = (n) => String(n).padStart(2, '0');
	return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function shellTarget(row) {
	const x = row.extra || {};
	if (x.node) return x.node;
	if (row.verb.startsWith('cluster_shell')) return 'cluster shell';
	return row.resource?.name || '';
}

function filterForm(ctx, params, clusters) {
	const field = (label, control) => h('label', { class: 'field' }, h('span', {}, label), control);
	const select = (name, options, value) => h('select', { name },
		h('option', { value: '' }, 'Any'),
		options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
	const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the audit log' },
		field('Actor (subject)', h('input', { name: 'actor', type: 'text', value: params.get('actor') || '', placeholder: 'e.g. user-admin', autocomplete: 'off', spellcheck: 'false' })),
		field('Event', select('verb', Object.entries(VERBS), params.get('verb') || '')),
		field('Cluster', select('cluster', clusters.map((c) => [c.name, c.name]), params.get('cluster') || '')),
		field('Outcome', select('outcome', OUTCOMES.map((o) => [o, o]), params.get('outcome') || '')),
		field('From', h('input', { name: 'from', type: 'datetime-local', value: isoToLocalInput(params.get('from')) })),
		field('To', h('input', { name: 'to', type: 'datetime-local', value: isoToLocalInput(params.get('to')) })),
		params.get('session_id') ? h('input', { type: 'hidden', name: 'session_id', value: params.get('session_id') }) : null,
		h('div', { class: 'filter-actions' },
			h('button', { type: 'submit', class: 'primary' }, 'Apply'),
			h('a', { class: 'button ghost', href: '#/audit' }, 'Reset')));
	form.addEventListener('submit', (e) => {
		e.preventDefault();
		const data = new FormData(form);
		const q = new URLSearchParams();
		for (const k of FILTERS) {
			let v = String(data.get(k) || '').trim();
			if (k === 'from' || k === 'to') v = localInputToIso(v);
			if (v) q.set(k, v);
		}
		const next = `#/audit${q.toString() ? `?${q}` : ''}`;
		if (location.hash === next) window.dispatchEvent(new HashChangeEvent('hashchange'));
		else location.hash = next;
	});
	return form;
}

function eventRow(row) {
	const actor = row.actor?.email || row.actor?.sub || '—';
	const sid = row.extra?.session_id;
	return h('tr', { dataset: { id: String(row.id), verb: row.verb } },
		td('Time', {}, h('time', { datetime: row.timestamp }, formatTime(row.timestamp))),
		td('Actor', { title: row.actor?.sub || '' }, actor),
		td('Event', {}, verbLabel(row.verb)),
		td('Outcome', {}, outcomePill(row.outcome)),
		td('Cluster', {}, row.cluster || '—'),
		td('Target', {}, shellTarget(row) || '—', sid ? h('span', { class: 'muted small block' }, `session ${sid.slice(0, 8)}…`) : null, row.reason ? h('span', { class: 'muted small block' }, row.reason) : null),
		td('', { class: 'actions' }, h('a', { class: 'button small', href: `#/audit/${row.id}`, 'aria-label': `Details of event ${row.id}: ${verbLabel(row.verb)}` }, 'Details')));
}

export async function renderAudit(ctx, params, stillCurrent) {
	const clusters = await api.clusters().catch(() => []);
	if (!stillCurrent()) return;
	const filters = {};
	for (const k of FILTERS) if (params.get(k)) filters[k] = params.get(k);
	const results = h('div', { class: 'audit-results', 'aria-live': 'polite' });
	const scopeNote = h('p', { class: 'muted' });
	clear(ctx.main,
		h('div', { class: 'page-head' }, h('h1', {}, 'Audit log'), scopeNote),
		filters.session_id ? h('p', { class: 'notice notice-info' }, 'Showing the events of session ', h('code', {}, filters.session_id), '. ', h('a', { href: '#/audit' }, 'Show all')) : null,
		filterForm(ctx, params, clusters),
		results);
	// Cursors of the pages seen so far, so Newer can go back without the server's help.
	const cursors = [null];
	let page = 0;
	const load = async () => {
		clear(results, loading('Loading events…'));
		let r;
		try {
			r = await api.audit({ ...filters, limit: PAGE_SIZE, cursor: cursors[page] || '' });
		} catch (e) {
			if (stillCurrent()) clear(results, errorNotice(e));
			return;
		}
		if (!stillCurrent()) return;
		scopeNote.textContent = r.scope === 'all' ? 'Everyone\'s events.' : 'Only your own events: your tier sees no one else\'s.';
		if (r.nextCursor) cursors[page + 1] = r.nextCursor;
		const first = page * PAGE_SIZE + 1;
		const last = page * PAGE_SIZE + r.items.length;
		const newer = h('button', { type: 'button', disabled: page === 0, onclick: () => { page -= 1; load(); } }, '← Newer');
		const older = h('button', { type: 'button', disabled: !r.nextCursor, onclick: () => { page += 1; load(); } }, 'Older →');
		clear(results,
			r.items.length
				? h('table', { class: 'table responsive audit-table' },
					h('caption', { class: 'sr-only' }, 'Audit events, newest first'),
					h('thead', {}, h('tr', {}, ['Time', 'Actor', 'Event', 'Outcome', 'Cluster', 'Target'].map((t) => h('th', { scope: 'col' }, t)), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Details')))),
					h('tbody', {}, r.items.map(eventRow)))
				: h('p', { class: 'muted empty' }, 'No events match these filters.'),
			h('div', { class: 'pager' },
				h('span', { class: 'muted' }, r.items.length ? `Events ${first}–${last} of ${r.total}` : `0 of ${r.total}`),
				h('div', { class: 'pager-buttons' }, newer, older)));
	};
	await load();
}

function shellQuote(arg) {
	return /^[A-Za-z0-9_./:=@%+,-]+$/.test(arg) ? arg : `'${String(arg).replace(/'/g, "'\\''")}'`;
}

function commandsTable(commands) {
	if (!commands.length) return h('p', { class: 'muted' }, 'No kubectl or helm commands were run.');
	return h('table', { class: 'table responsive commands' },
		h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Time'), h('th', { scope: 'col' }, 'Command'), h('th', { scope: 'col' }, 'PID'))),
		h('tbody', {}, commands.map((c) => h('tr', {},
			td('Time', {}, formatTime(c.timestamp)),
			td('Command', {}, h('code', { class: 'command' }, (c.argv || []).map(shellQuote).join(' '))),
			td('PID', {}, String(c.pid ?? '—'))))));
}

// The transcript as the operator saw it: a terminal that only displays.
function transcriptView(ctx, extra) {
	const host = h('div', { class: 'transcript-host', 'aria-label': 'Session transcript (read-only terminal)', role: 'region' });
	const note = extra.truncated
		? `The transcript is cut at the server's limit: ${extra.transcript?.length ?? 0} of ${extra.transcript_bytes} bytes are kept.`
		: `${extra.transcript_bytes ?? extra.transcript?.length ?? 0} bytes.`;
	const section = h('section', { class: 'transcript' }, h('h2', {}, 'Transcript'), h('p', { class: 'muted small' }, note), host);
	requestAnimationFrame(() => {
		if (!host.isConnected) return;
		const term = new Terminal({
			disableStdin: true, cursorBlink: false, cursorStyle: 'underline', fontFamily: TERMINAL_FONT, fontSize: 13,
			lineHeight: 1.15, scrollback: 100000, theme: TERMINAL_THEME, rows: 24,
		});
		const fit = new FitAddon();
		term.loadAddon(fit);
		term.open(host);
		try {
			fit.fit();
		} catch {
			// keeps its default size
		}
		term.write(extra.transcript || '');
		term.write('\x1b[?25l'); // no cursor: nothing can be typed here
		const ro = new ResizeObserver(() => {
			try { fit.fit(); } catch { /* not laid out */ }
		});
		ro.observe(host);
		ctx.disposers.push(() => { ro.disconnect(); term.dispose(); });
	});
	return section;
}

function formatBytes(n) {
	if (!(n >= 0)) return '';
	if (n < 1024) return `${n} bytes`;
	if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
	return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

// The session's recording (docs/recordings.md): played in the page, from the close row's
// session id. A close row written by the sweep (a killed bridge) has no recording object,
// yet the file up to the kill is there, so every close row gets the player.
function recordingSection(ctx, x) {
	const r = x.recording || null;
	const facts = [];
	if (r && typeof r.bytes === 'number') facts.push(formatBytes(r.bytes));
	if (r?.sha256) facts.push(h('span', { title: 'SHA-256 of the file as closed' }, 'SHA-256 ', h('code', {}, `${r.sha256.slice(0, 16)}…`)));
	if (r?.truncated) facts.push(h('strong', {}, `cut at the size limit${typeof r.left_out === 'number' ? ` (${formatBytes(r.left_out)} left out; a marker shows where)` : ''}`));
	if (!r) facts.push('no size recorded at close (the session was lost); it plays up to where it stopped');
	return h('section', { class: 'recording' },
		h('h2', {}, 'Recording'),
		h('p', { class: 'muted small' }, 'What the terminal showed, with its timing. ', facts.map((f, i) => [i ? ' · ' : '', f])),
		recordingPlayer(ctx, recordingUrl(x.session_id)));
}

export async function renderAuditEvent(ctx, id, stillCurrent) {
	let ev;
	try {
		ev = await api.auditEvent(id);
	} catch (e) {
		const words = {
			E_NOT_FOUND: [`There is no audit event ${id} that you may see.`, 'It may have aged out of the log, belong to someone whose events your tier does not show, or the address is mistyped: go back to the Audit log and search it.'],
			E_INVALID_REQUEST: [`"${id}" is not an audit event number.`, 'Go back to the Audit log and pick an event there.'],
		};
		if (stillCurrent()) clear(ctx.main, h('nav', { class: 'crumbs' }, h('a', { href: '#/audit' }, 'Audit log')), h('h1', {}, `Event ${id}`), errorNotice(e, { words }));
		return;
	}
	if (!stillCurrent()) return;
	const x = ev.extra || {};
	const fact = (label, value) => (value === undefined || value === null || value === '' ? null : [h('dt', {}, label), h('dd', {}, value)]);
	const shown = new Set(['transcript', 'commands', 'recording', 'session_id', 'node', 'instance_id', 'duration_ms', 'exit_code', 'close_reason', 'err_code', 'err']);
	const rest = Object.fromEntries(Object.entries(x).filter(([k]) => !shown.has(k)));
	clear(ctx.main,
		h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/audit' }, 'Audit log'), ' / ', `Event ${ev.id}`),
		h('div', { class: 'page-head' }, h('h1', {}, verbLabel(ev.verb)), outcomePill(ev.outcome)),
		h('dl', { class: 'facts detail' },
			fact('Time', h('time', { datetime: ev.timestamp }, formatTime(ev.timestamp))),
			fact('Actor', [ev.actor?.email || '', ev.actor?.email ? ' ' : '', h('code', {}, ev.actor?.sub || '—')]),
			fact('Groups', (ev.actor?.groups || []).join(', ')),
			fact('Event', h('code', {}, ev.verb)),
			fact('Cluster', ev.cluster),
			fact('Node', x.node),
			fact('Instance', x.instance_id && h('code', {}, x.instance_id)),
			fact('Reason', ev.reason),
			fact('Error', x.err_code && [h('code', {}, x.err_code), ' ', x.err || '']),
			fact('Duration', typeof x.duration_ms === 'number' ? formatDuration(x.duration_ms / 1000) : null),
			fact('Exit status', typeof x.exit_code === 'number' && x.exit_code >= 0 ? String(x.exit_code) : null),
			fact('Session', x.session_id && h('a', { href: `#/audit?session_id=${encodeURIComponent(x.session_id)}` }, h('code', {}, x.session_id))),
			fact('Request id', ev.requestId && h('code', {}, ev.requestId))),
		(ev.verb === 'ssm_session_close' || ev.verb === 'cluster_shell_close') && x.session_id ? recordingSection(ctx, x) : null,
		ev.verb === 'ssm_session_close' ? transcriptView(ctx, x) : null,
		ev.verb === 'cluster_shell_close'
			? h('section', { class: 'commands-section' }, h('h2', {}, 'Commands'), h('p', { class: 'muted small' }, 'kubectl and helm commands run in the session, in order.'), commandsTable(x.commands || []))
			: null,
		Object.keys(rest).length
			? h('details', { class: 'raw' }, h('summary', {}, 'All recorded fields'), h('pre', {}, JSON.stringify(rest, null, 2)))
			: null);
}
