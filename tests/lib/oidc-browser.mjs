// "Be the browser" for sign-in flows, without a browser: follows redirects across origins
// with a cookie jar, fills the IdP's login form (fields `login` and `password`) and submits
// forms made only of hidden fields (the IdP's self-submitting sign-out confirmation,
// form_post responses) the way a browser running their script would.
//
// Sign in to the gateway and keep its session cookie in the jar:
//   const jar = new CookieJar();
//   const r = await loginThroughForm({ startUrl: `${app}/api/auth/login`, username: 'admin',
//                                      password: 'admin', cookieJar: jar });
//   // r.location is where the flow ended (the app's page after /api/auth/callback).
// Stop at the redirect back to the client instead of following it (to read code/state):
//   const r = await loginThroughForm({ authorizeUrl, username, password,
//                                      stopAt: 'http://127.0.0.1:8080/api/auth/callback' });
//   new URL(r.location).searchParams.get('code')
//
// Result of browse() and loginThroughForm():
//   { location,      // URL where the walk stopped: the redirect target that matched stopAt
//                    //   (not fetched), or else the URL of the last page fetched
//     stoppedAtRedirect, // true when `location` is a redirect that matched stopAt
//     status, body,  // last response fetched (body: text, '' for redirects)
//     loginFailed,   // the login form came back after we submitted it (wrong credentials)
//     error,         // the text of the form's error message when loginFailed
//     cookieJar, history: [{ method, url, status }] }

import { CookieJar } from './cookie-jar.mjs';
import { fetchWithin } from './deadline.mjs';

const REDIRECT = new Set([301, 302, 303, 307, 308]);
const DEFAULT_MAX_STEPS = 30;

function decodeEntities(s) {
	return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|#39);/gi, (m, e) => {
		const k = e.toLowerCase();
		if (k === 'amp') return '&';
		if (k === 'lt') return '<';
		if (k === 'gt') return '>';
		if (k === 'quot') return '"';
		if (k === 'apos') return "'";
		if (k.startsWith('#x')) return String.fromCodePoint(parseInt(k.slice(2), 16));
		if (k.startsWith('#')) return String.fromCodePoint(Number(k.slice(1)));
		return m;
	});
}

function attributes(tag) {
	const attrs = {};
	const re = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
	const inner = tag.replace(/^<\s*[a-z]+/i, '').replace(/\/?>$/, '');
	for (const m of inner.matchAll(re)) {
		attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
	}
	return attrs;
}

// The first <form> of a page: { method, action, fields: [{name, value, type}], submit }
// where `submit` is the name/value of its first submit button (sent as a click would), or
// null when the page has no form. Enough for the simple pages of our servers.
export function parseForm(html) {
	const m = /<form\b[^>]*>([\s\S]*?)<\/form\s*>/i.exec(html);
	if (!m) return null;
	const formAttrs = attributes(/<form\b[^>]*>/i.exec(m[0])[0]);
	const fields = [];
	for (const tag of m[1].match(/<input\b[^>]*>/gi) ?? []) {
		const a = attributes(tag);
		if (!a.name) continue;
		const type = (a.type ?? 'text').toLowerCase();
		if (type === 'submit' || type === 'button' || type === 'image' || type === 'reset') continue;
		if ((type === 'checkbox' || type === 'radio') && !('checked' in a)) continue;
		fields.push({ name: a.name, value: a.value ?? '', type });
	}
	let submit = null;
	for (const tag of m[1].match(/<button\b[^>]*>/gi) ?? []) {
		const a = attributes(tag);
		if ((a.type ?? 'submit').toLowerCase() !== 'submit') continue;
		submit = a.name ? { name: a.name, value: a.value ?? '' } : null;
		break;
	}
	return { method: (formAttrs.method ?? 'get').toUpperCase(), action: formAttrs.action ?? '', fields, submit };
}

// The text of a page's error message (an element with role="alert" or class "error").
export function pageError(html) {
	const m = /<(\w+)\b[^>]*(?:role="alert"|class="[^"]*\berror\b[^"]*")[^>]*>([\s\S]*?)<\/\1>/i.exec(html);
	return m ? decodeEntities(m[2].replace(/<[^>]*>/g, '')).trim() : undefined;
}

function stopMatcher(stopAt) {
	if (!stopAt) return () => false;
	if (typeof stopAt === 'function') return stopAt;
	if (stopAt instanceof RegExp) return (u) => stopAt.test(u);
	const prefix = String(stopAt);
	return (u) => u.startsWith(prefix);
}

// The request a browser makes when `form` (from a page at `pageUrl`) is submitted with
// `values` overriding its fields.
export function formRequest(form, pageUrl, values = {}) {
	const params = new URLSearchParams();
	const seen = new Set();
	for (const f of form.fields) {
		if (f.name in values) {
			if (!seen.has(f.name)) params.append(f.name, values[f.name]);
			seen.add(f.name);
		} else {
			params.append(f.name, f.value);
		}
	}
	for (const [k, v] of Object.entries(values)) if (!seen.has(k)) params.append(k, v);
	if (form.submit) params.append(form.submit.name, form.submit.value);
	const target = new URL(form.action || pageUrl, pageUrl);
	if (form.method === 'GET') {
		target.search = params.toString();
		return { method: 'GET', url: target.href, body: undefined };
	}
	return { method: 'POST', url: target.href, body: params.toString() };
}

const isLoginForm = (form) => form.fields.some((f) => f.name === 'login') && form.fields.some((f) => f.name === 'password');
const isAutoSubmitForm = (form) => form.fields.length > 0 && form.fields.every((f) => f.type === 'hidden');

// Walks from `url` like a browser: follows redirects, submits hidden-only forms, and when
// `credentials` are given fills the login form once. Stops at a redirect whose target
// matches `stopAt` (string prefix, RegExp or predicate on the absolute URL), or at the
// first page it has nothing to do on.
export async function browse({
	url, method = 'GET', body, cookieJar = new CookieJar(), stopAt, credentials,
	maxSteps = DEFAULT_MAX_STEPS, headers = {},
}) {
	const stop = stopMatcher(stopAt);
	const history = [];
	let req = { method, url: new URL(url).href, body };
	let loginSubmitted = false;
	for (let step = 0; step < maxSteps; step += 1) {
		const reqHeaders = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', ...headers };
		const cookie = cookieJar.header(req.url);
		if (cookie) reqHeaders.cookie = cookie;
		if (req.body !== undefined) reqHeaders['content-type'] = 'application/x-www-form-urlencoded';
		const { res, text } = await fetchWithin(req.url, { method: req.method, body: req.body, headers: reqHeaders, redirect: 'manual' });
		cookieJar.store(req.url, res);
		history.push({ method: req.method, url: req.url, status: res.status });

		if (REDIRECT.has(res.status) && res.headers.has('location')) {
			const location = new URL(res.headers.get('location'), req.url).href;
			if (stop(location)) {
				return { location, stoppedAtRedirect: true, status: res.status, body: '', loginFailed: false, cookieJar, history };
			}
			const keepMethod = res.status === 307 || res.status === 308;
			req = keepMethod ? { ...req, url: location } : { method: 'GET', url: location, body: undefined };
			continue;
		}

		const isHtml = (res.headers.get('content-type') ?? '').includes('text/html');
		const form = res.status === 200 && isHtml ? parseForm(text) : null;
		const done = { location: req.url, stoppedAtRedirect: false, status: res.status, body: text, loginFailed: false, cookieJar, history };
		if (form && credentials && isLoginForm(form)) {
			if (loginSubmitted) return { ...done, loginFailed: true, error: pageError(text) };
			loginSubmitted = true;
			req = formRequest(form, req.url, { login: credentials.username, password: credentials.password });
			continue;
		}
		if (form && isAutoSubmitForm(form)) {
			req = formRequest(form, req.url);
			continue;
		}
		return done;
	}
	throw new Error(`browse: gave up after ${maxSteps} requests (last: ${req.method} ${req.url})`);
}

// Signs in through the IdP's form like a browser. Give `startUrl` (e.g. the gateway's
// /api/auth/login) or `authorizeUrl` (the IdP's authorization request); see the header
// for the result. A wrong password is not an error: the result has loginFailed = true.
export async function loginThroughForm({
	startUrl, authorizeUrl, username, password, cookieJar = new CookieJar(), stopAt, maxSteps, headers,
}) {
	const url = startUrl ?? authorizeUrl;
	if (!url) throw new TypeError('loginThroughForm needs startUrl or authorizeUrl');
	return browse({ url, cookieJar, stopAt, maxSteps, headers, credentials: { username, password } });
}
