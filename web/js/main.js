// The page: checks who is signed in, draws the header and routes between the pages
// (hash routes, so the static server needs no rewrites). The terminal dock outlives
// page changes, so sessions stay open while the user looks at the audit log.
import { api } from './api.js';
import { clear, h } from './dom.js';
import { TerminalDock } from './terminals.js';
import { errorNotice, loading } from './ui.js';
import { renderAudit, renderAuditEvent } from './views/audit.js';
import { renderClusters } from './views/clusters.js';
import { renderNodes } from './views/nodes.js';
import { renderSessions } from './views/sessions.js';
import { renderWatch } from './views/watch.js';
import { renderSignIn } from './views/signin.js';

const main = document.getElementById('main');
const header = document.getElementById('header');
const ctx = { me: null, dock: null, main, disposers: [] };

function route() {
	const hash = location.hash.replace(/^#/, '') || '/';
	const [path, query = ''] = hash.split('?');
	const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
	const params = new URLSearchParams(query);
	if (parts.length === 0 || (parts[0] === 'clusters' && parts.length === 1)) return { page: 'clusters', params };
	if (parts[0] === 'clusters' && parts[2] === 'nodes') return { page: 'nodes', cluster: parts[1], params };
	if (parts[0] === 'audit' && parts.length === 1) return { page: 'audit', params };
	if (parts[0] === 'audit' && parts.length === 2) return { page: 'audit-event', id: parts[1], params };
	if (parts[0] === 'sessions' && parts.length === 1) return { page: 'sessions', params };
	if (parts[0] === 'sessions' && parts.length === 3 && parts[2] === 'watch') return { page: 'watch', id: parts[1], params };
	return { page: 'not-found', params };
}

function navLink(href, label, page, current) {
	return h('a', { href, class: 'nav-link', 'aria-current': current === page ? 'page' : null }, label);
}

// Sign-out is a POST from this page (the server refuses a GET, and a POST from any other
// site), sent as a plain form so the browser follows the answer's redirect, to the
// identity provider's sign-out for "everywhere". Open terminals close by themselves.
function signOutForm(action, cls, label, title) {
	return h('form', { method: 'post', action, class: 'signout' },
		h('button', { type: 'submit', class: cls, title }, label));
}

function drawHeader(current) {
	const me = ctx.me;
	const menu = h('details', { class: 'menu' },
		h('summary', { class: 'menu-button', 'aria-label': `Account: ${me.email || me.subject}` },
			h('span', { class: 'who' }, me.email || me.subject),
			h('span', { class: `tier tier-${me.tier || 'none'}` }, me.tier || 'no tier')),
		h('div', { class: 'menu-panel' },
			h('dl', { class: 'facts' },
				h('dt', {}, 'Signed in as'), h('dd', {}, me.email || me.subject),
				h('dt', {}, 'Subject'), h('dd', {}, h('code', {}, me.subject)),
				h('dt', {}, 'Tier'), h('dd', {}, me.tier || 'none'),
				h('dt', {}, 'Groups'), h('dd', {}, (me.groups || []).join(', ') || 'none'),
				me.expiresAt ? [h('dt', {}, 'Session until'), h('dd', {}, new Date(me.expiresAt * 1000).toLocaleString())] : null),
			signOutForm('/api/auth/logout', 'button', 'Sign out'),
			signOutForm('/api/auth/logout/everywhere', 'button ghost', 'Sign out everywhere',
				'Ends every session of yours here, and your sign-in at the identity provider')));
	clear(header,
		h('a', { class: 'brand', href: '#/' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '◎'), 'periscope'),
		h('nav', { class: 'nav', 'aria-label': 'Main' },
			navLink('#/', 'Clusters', 'clusters', current),
			navLink('#/sessions', 'Sessions', 'sessions', current),
			navLink('#/audit', 'Audit', 'audit', current)),
		menu);
	header.hidden = false;
}

// Escape closes the account menu; so does a click elsewhere.
function closeMenusOn(e) {
	for (const menu of document.querySelectorAll('details.menu[open]')) {
		if (e.type === 'keydown' && e.key === 'Escape') {
			menu.open = false;
			menu.querySelector('summary').focus();
		} else if (e.type === 'click' && !menu.contains(e.target)) {
			menu.open = false;
		}
	}
}

let renderSeq = 0;

async function render() {
	const seq = ++renderSeq;
	const r = route();
	const current = { 'audit-event': 'audit', nodes: 'clusters', watch: 'sessions' }[r.page] || r.page;
	drawHeader(current);
	for (const dispose of ctx.disposers.splice(0)) dispose();
	ctx.dock?.pageChanged();
	clear(main, loading());
	const stillCurrent = () => seq === renderSeq;
	try {
		if (r.page === 'clusters') await renderClusters(ctx, stillCurrent);
		else if (r.page === 'nodes') await renderNodes(ctx, r.cluster, stillCurrent);
		else if (r.page === 'audit') await renderAudit(ctx, r.params, stillCurrent);
		else if (r.page === 'audit-event') await renderAuditEvent(ctx, r.id, stillCurrent);
		else if (r.page === 'sessions') await renderSessions(ctx, r.params, stillCurrent);
		else if (r.page === 'watch') await renderWatch(ctx, r.id, stillCurrent);
		else clear(main, h('h1', {}, 'Page not found'), h('p', {}, `periscope has no page at ${location.hash}. `, h('a', { href: '#/' }, 'Go to the clusters')));
	} catch (e) {
		if (stillCurrent()) clear(main, h('h1', {}, 'This page could not be loaded'), errorNotice(e));
	}
	if (stillCurrent()) {
		const h1 = main.querySelector('h1');
		document.title = h1 ? `${h1.textContent} · periscope` : 'periscope';
	}
}

// The skip link must not touch the hash: the hash is the route.
document.querySelector('.skip-link')?.addEventListener('click', (e) => {
	e.preventDefault();
	main.focus();
});

async function boot() {
	const query = new URLSearchParams(location.search);
	const signedOut = query.has('signedOut');
	// The sign-in callback sends a browser here when it refused the sign-in (fcgi/auth_login.c).
	const problem = /^E_[A-Z0-9_]+$/.test(query.get('signInProblem') || '') ? query.get('signInProblem') : null;
	let me = null;
	if (!signedOut) {
		try {
			me = await api.whoamiOrNull();
		} catch (e) {
			clear(main, h('h1', {}, 'periscope could not start'), errorNotice(e, { retry: () => location.reload() }));
			return;
		}
	}
	if (!me) {
		await renderSignIn(ctx, { signedOut, problem });
		return;
	}
	// Signed in after all (a stale sign-in link opened in a second tab): the app, and an
	// address without the problem.
	if (problem) history.replaceState(null, '', `/${location.hash}`);
	ctx.me = me;
	ctx.dock = new TerminalDock(document.getElementById('dock'));
	document.addEventListener('keydown', closeMenusOn);
	document.addEventListener('click', closeMenusOn);
	window.addEventListener('hashchange', render);
	await render();
}

boot();
