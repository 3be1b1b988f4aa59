// Watching a live terminal, read-only (audit admins; docs/sessions-api.md
// GET /api/sessions/{id}/watch): the session's recording as it grows, polled from an offset
// about every half second and played into an xterm.js terminal that takes no input, at the
// operator's terminal size. The operator's status strip says that someone watches.
import { Terminal } from '../../dist/xterm.mjs';

import { ApiError, api, getJson } from '../api.js';
import { applyCastLines } from '../cast.js';
import { clear, formatTime, h } from '../dom.js';
import { TERMINAL_FONT, TERMINAL_THEME } from '../terminals.js';
import { errorNotice, loading } from '../ui.js';

const POLL_MS = 500;
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

export async function renderWatch(ctx, id, stillCurrent) {
	const crumbs = h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/sessions' }, 'Live sessions'), ' / ', 'Watch');
	let session = null;
	try {
		session = ((await api.sessions()).items || []).find((s) => s.id === id) || null;
	} catch {
		session = null; // the watch itself says what is wrong
	}
	if (!stillCurrent()) return;
	const status = h('p', { class: 'watch-status', role: 'status' }, loading('Joining the session…'));
	const host = h('div', { class: 'watch-host', role: 'region', 'aria-label': 'The watched terminal (read-only)' });
	const who = session ? `${session.actor?.email || session.actor?.sub}'s ${session.kind === 'node_shell' ? `node shell on ${session.target}` : 'cluster shell'} · ${session.cluster}` : `session ${id}`;
	clear(ctx.main, crumbs,
		h('div', { class: 'page-head' }, h('h1', {}, 'Watching live'), h('span', { class: 'pill pill-idle' }, 'Read-only')),
		h('p', { class: 'muted' }, who, session?.startedAt ? `, started ${formatTime(session.startedAt)}` : '', '. ',
			'What the operator sees, as it happens (about a second behind); they are told that you watch. You cannot type here.'),
		status, host);

	const term = new Terminal({
		disableStdin: true, cursorBlink: false, fontFamily: TERMINAL_FONT, fontSize: 13, lineHeight: 1.15,
		scrollback: 5000, theme: TERMINAL_THEME, cols: 80, rows: 24,
	});
	term.open(host);
	let timer = null;
	let done = false;
	ctx.disposers.push(() => {
		done = true;
		clearTimeout(timer);
		term.dispose();
	});

	let offset = 0;
	const poll = async () => {
		if (done || !stillCurrent()) return;
		let r;
		try {
			r = (await getJson(`/api/sessions/${encodeURIComponent(id)}/watch?offset=${offset}`)).body;
		} catch (e) {
			if (done) return;
			// A session that ended between two polls is not an error: its end was shown.
			const words = { E_NOT_FOUND: ['This session is not live (it ended, or never was one you may watch).', 'Its recording is in the audit log: open the session\'s close event there.'] };
			clear(status, errorNotice(e instanceof ApiError ? e : new ApiError(0, { code: 'E_NETWORK' }), { words, retry: null }),
				h('p', {}, h('a', { href: `#/audit?session_id=${encodeURIComponent(id)}` }, 'The session in the audit log')));
			return;
		}
		if (done) return;
		if (typeof r.data === 'string' && r.data) applyCastLines(term, r.data);
		if (Number.isInteger(r.next)) offset = r.next;
		if (!r.live && offset >= r.size) {
			clear(status, h('span', { class: 'pill pill-closed' }, 'Ended'), ' The session ended. ',
				h('a', { href: `#/audit?session_id=${encodeURIComponent(id)}` }, 'Its events and recording in the audit log'));
			term.write(`\r\n${DIM}── the session ended ──${RESET}\r\n`);
			return;
		}
		clear(status, h('span', { class: 'pill pill-connected' }, 'Live'), ' Watching; the operator is told.');
		// More already written than one answer holds: ask again at once.
		timer = setTimeout(poll, offset < r.size ? 0 : POLL_MS);
	};
	await poll();
}
