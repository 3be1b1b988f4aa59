// Shared pieces of the pages: the error notice and the loading line.
import { h } from './dom.js';
import { describeError } from './errors.js';

export function loginHref(returnTo = location.pathname + location.hash) {
	return `/api/auth/login?returnTo=${encodeURIComponent(returnTo)}`;
}

// An error body {code, message} (or an ApiError) in plain words, with what to do.
export function errorNotice(err, { compact = false } = {}) {
	const d = describeError(err?.body?.code ? err.body : err);
	const signIn = d.code === 'E_AUTH' || d.code === 'E_REAUTH_REQUIRED';
	return h('div', { class: compact ? 'notice notice-error compact' : 'notice notice-error', role: 'alert' },
		h('p', { class: 'notice-title' }, d.title, ' ', h('code', {}, d.code)),
		h('p', {}, d.action),
		d.detail && d.detail !== d.title ? h('p', { class: 'muted' }, 'Server said: ', d.detail) : null,
		signIn ? h('p', {}, h('a', { class: 'button', href: loginHref() }, 'Sign in again')) : null);
}

export function loading(text = 'Loading…') {
	return h('p', { class: 'muted loading', role: 'status' }, text);
}
