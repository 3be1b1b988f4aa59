// A signed-in browser for the integration tests: signs in through the real IdP form and
// then calls the API with the session cookie, as the web UI would.
import { CookieJar } from './cookie-jar.mjs';
import { fetchWithin } from './deadline.mjs';
import { loginThroughForm } from './oidc-browser.mjs';
import { waitFor } from './stack.mjs';

function parseJson(text) {
	try {
		return text ? JSON.parse(text) : undefined;
	} catch {
		return undefined;
	}
}

export async function signIn(stack, username, password = username) {
	const jar = new CookieJar();
	const r = await loginThroughForm({ startUrl: `${stack.url}/api/auth/login`, username, password, cookieJar: jar });
	if (r.loginFailed) throw new Error(`sign-in as ${username} failed: ${r.error}`);
	return new Browser(stack, jar, r);
}

export class Browser {
	constructor(stack, jar, landing) {
		this.stack = stack;
		this.jar = jar;
		this.landing = landing;
	}

	cookie(name = 'periscope_session') {
		return this.jar.get(name, this.stack.url);
	}

	// json: a body sent as application/json.
	async request(path, { method = 'GET', headers = {}, redirect = 'manual', json } = {}) {
		const url = `${this.stack.url}${path}`;
		const { res, text } = await fetchWithin(url, {
			method,
			redirect,
			headers: { accept: 'application/json', cookie: this.jar.header(url), ...(json === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
			...(json === undefined ? {} : { body: JSON.stringify(json) }),
		});
		this.jar.store(url, res);
		return { status: res.status, headers: res.headers, text, json: parseJson(text) };
	}

	get(path, opts) {
		return this.request(path, opts);
	}
}

export async function anonymous(stack, path, { method = 'GET', headers = {}, json } = {}) {
	const { res, text } = await fetchWithin(`${stack.url}${path}`, {
		method, redirect: 'manual',
		headers: { accept: 'application/json', ...(json === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
		...(json === undefined ? {} : { body: JSON.stringify(json) }),
	});
	return { status: res.status, headers: res.headers, text, json: parseJson(text) };
}

// The newest audit row that matches query (the audit API's filters, e.g.
// "verb=cluster_shell_close&session_id=..."), as the browser may read it; polled until it
// exists, since a row written by another process may land a moment after what the test saw.
export async function auditRow(browser, query, { timeoutMs = 20000 } = {}) {
	let row;
	await waitFor(`the audit row ${query}`, async () => {
		row = (await browser.get(`/api/audit?${query}&limit=1`)).json?.items?.[0];
		return row;
	}, { timeoutMs });
	return row;
}
