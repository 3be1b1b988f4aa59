// Shared pieces of the pages: the error notice and the loading line.
import { h } from './dom.js';
import { RETRYABLE, describeError } from './errors.js';

export function loginHref(returnTo = location.pathname + location.hash) {
	return `/api/auth/login?returnTo=${encodeURIComponent(returnTo)}`;
}

// Loads the current page again (main.js renders on hashchange).
export function reloadPage() {
	window.dispatchEvent(new HashChangeEvent('hashchange'));
}

// An error body {code, message} (or an ApiError) in plain words, with what to do. words:
// the page's own wording for some codes (errors.js describeError). retry: what the Try
// again button does, for the failures that a retry may cure.
export function errorNotice(err, { compact = false, words = {}, retry = reloadPage } = {}) {
	const d = describeError(err?.body?.code ? err.body : err, words);
	const signIn = d.code === 'E_AUTH' || d.code === 'E_REAUTH_REQUIRED';
	const retryButton = retry && RETRYABLE.has(d.code) ? h('p', {}, h('button', { type: 'button', class: 'retry', onclick: retry }, 'Try again')) : null;
	return h('div', { class: compact ? 'notice notice-error compact' : 'notice notice-error', role: 'alert' },
		h('p', { class: 'notice-title' }, d.title, ' ', h('code', {}, d.code)),
		h('p', {}, d.action),
		d.detail && d.detail !== d.title ? h('p', { class: 'muted' }, 'Server said: ', d.detail) : null,
		signIn ? h('p', {}, h('a', { class: 'button', href: loginHref() }, 'Sign in again')) : null,
		retryButton);
}

export function loading(text = 'Loading…') {
	return h('p', { class: 'muted loading', role: 'status' }, text);
}
