// The sign-in page: one button to the identity provider named by the server, and, when the
// sign-in callback refused a sign-in (a stale link, a refusal), what happened in plain words.
import { api } from '../api.js';
import { clear, h } from '../dom.js';
import { errorNotice, loginHref } from '../ui.js';

// The callback's refusals (fcgi/auth_login.c handle_auth_callback), as the sign-in page says
// them: the button the words name is the one under them.
function signInWords(provider) {
	const again = `Press Sign in with ${provider} to start a fresh sign-in.`;
	return {
		E_LOGIN_EXPIRED: ['That sign-in link is stale: it was already used, it is more than a few minutes old, or it was started in another browser.', again],
		E_LOGIN_REFUSED: ['The identity provider refused the sign-in, or its answer did not check out.', `${again} If it keeps failing, ask your identity provider administrator.`],
		E_FORBIDDEN: ['You signed in at the identity provider, but your account is in no group that may use periscope.', 'Ask an administrator to add you to an allowed group.'],
		E_IDP_UNAVAILABLE: ['The identity provider could not be reached to finish the sign-in.', `Wait a moment, then press Sign in with ${provider}.`],
		E_INVALID_REQUEST: ['The identity provider sent the browser back without a sign-in code.', again],
		E_INTERNAL: ['The sign-in was accepted, but periscope could not open your session.', `Press Sign in with ${provider} to try again; if it persists, report it with the time it happened.`],
	};
}

export async function renderSignIn(ctx, { signedOut, problem: signInProblem = null }) {
	let provider = 'your identity provider';
	let problem = null;
	try {
		const cfg = await api.authConfig();
		if (cfg.providerName) provider = cfg.providerName;
	} catch (e) {
		problem = e;
	}
	const returnTo = signedOut || signInProblem ? '/' : location.pathname + location.hash;
	document.title = 'Sign in · periscope';
	document.body.classList.add('signed-out');
	clear(ctx.main,
		h('section', { class: 'signin card' },
			h('div', { class: 'brand big' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '◎'), 'periscope'),
			h('h1', {}, 'Sign in'),
			h('p', { class: 'muted' }, 'Shells into your clusters and nodes, as yourself, with every session audited.'),
			signedOut ? h('p', { class: 'notice notice-info', role: 'status' }, 'You are signed out.') : null,
			problem ? errorNotice(problem) : null,
			signInProblem ? errorNotice({ code: signInProblem }, { words: signInWords(provider), retry: null }) : null,
			h('a', { class: 'button primary wide', href: loginHref(returnTo), id: 'signin-button' }, `Sign in with ${provider}`)));
	document.getElementById('signin-button').focus();
}
