// The sign-in page: one button to the identity provider named by the server.
import { api } from '../api.js';
import { clear, h } from '../dom.js';
import { errorNotice, loginHref } from '../ui.js';

export async function renderSignIn(ctx, { signedOut }) {
	let provider = 'your identity provider';
	let problem = null;
	try {
		const cfg = await api.authConfig();
		if (cfg.providerName) provider = cfg.providerName;
	} catch (e) {
		problem = e;
	}
	const returnTo = signedOut ? '/' : location.pathname + location.hash;
	document.title = 'Sign in · periscope';
	document.body.classList.add('signed-out');
	clear(ctx.main,
		h('section', { class: 'signin card' },
			h('div', { class: 'brand big' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '◎'), 'periscope'),
			h('h1', {}, 'Sign in'),
			h('p', { class: 'muted' }, 'Shells into your clusters and nodes, as yourself, with every session audited.'),
			signedOut ? h('p', { class: 'notice notice-info', role: 'status' }, 'You are signed out.') : null,
			problem ? errorNotice(problem) : null,
			h('a', { class: 'button primary wide', href: loginHref(returnTo), id: 'signin-button' }, `Sign in with ${provider}`)));
	document.getElementById('signin-button').focus();
}
