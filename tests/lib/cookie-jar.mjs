// A small cookie jar with a browser's rules, enough for test clients that talk to our
// servers with fetch(): Path matching, host-only vs Domain cookies, Max-Age / Expires
// (including deletion by an expiry in the past), Secure sent only over https.
// Like a browser, it ignores the port: cookies set by 127.0.0.1:A are sent to 127.0.0.1:B.
// SameSite is not enforced: every test server is on the same site (loopback).
//
//   const jar = new CookieJar();
//   const res = await fetch(url, { headers: { cookie: jar.header(url) }, redirect: 'manual' });
//   jar.store(url, res);          // or jar.setCookies(url, res.headers.getSetCookie())

const IP_HOST = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])$/i;

function defaultPath(pathname) {
	if (!pathname.startsWith('/')) return '/';
	const lastSlash = pathname.lastIndexOf('/');
	return lastSlash <= 0 ? '/' : pathname.slice(0, lastSlash);
}

function pathMatches(requestPath, cookiePath) {
	if (requestPath === cookiePath) return true;
	if (!requestPath.startsWith(cookiePath)) return false;
	return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

function domainMatches(host, domain) {
	if (host === domain) return true;
	return !IP_HOST.test(host) && host.endsWith(`.${domain}`);
}

// One Set-Cookie header value -> cookie record, or null when it must be ignored.
export function parseSetCookie(header, requestUrl, now = Date.now()) {
	const url = new URL(requestUrl);
	const [pair, ...attrs] = header.split(';');
	const eq = pair.indexOf('=');
	if (eq <= 0) return null;
	const cookie = {
		name: pair.slice(0, eq).trim(),
		value: pair.slice(eq + 1).trim(),
		domain: url.hostname.toLowerCase(),
		hostOnly: true,
		path: defaultPath(url.pathname),
		secure: false,
		httpOnly: false,
		expires: Infinity, // ms since epoch; Infinity = session cookie
	};
	let maxAgeSeen = false;
	for (const attr of attrs) {
		const i = attr.indexOf('=');
		const key = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
		const value = i < 0 ? '' : attr.slice(i + 1).trim();
		if (key === 'path') {
			cookie.path = value.startsWith('/') ? value : defaultPath(url.pathname);
		} else if (key === 'domain' && value) {
			const domain = value.replace(/^\./, '').toLowerCase();
			if (!domainMatches(cookie.domain, domain)) return null; // a host may not set cookies for another
			cookie.domain = domain;
			cookie.hostOnly = false;
		} else if (key === 'max-age') {
			if (/^-?\d+$/.test(value)) {
				maxAgeSeen = true;
				const seconds = Number(value);
				cookie.expires = seconds <= 0 ? 0 : now + seconds * 1000;
			}
		} else if (key === 'expires' && !maxAgeSeen) {
			const t = Date.parse(value);
			if (!Number.isNaN(t)) cookie.expires = t;
		} else if (key === 'secure') {
			cookie.secure = true;
		} else if (key === 'httponly') {
			cookie.httpOnly = true;
		}
	}
	return cookie;
}

export class CookieJar {
	#cookies = new Map(); // "domain;path;name" -> cookie

	// Records every Set-Cookie of a fetch() Response (or a list of header values).
	store(requestUrl, responseOrHeaders) {
		const headers = Array.isArray(responseOrHeaders)
			? responseOrHeaders
			: responseOrHeaders.headers.getSetCookie();
		this.setCookies(requestUrl, headers);
	}

	setCookies(requestUrl, setCookieHeaders, now = Date.now()) {
		for (const header of setCookieHeaders) {
			const cookie = parseSetCookie(header, requestUrl, now);
			if (!cookie) continue;
			const key = `${cookie.domain};${cookie.path};${cookie.name}`;
			if (cookie.expires <= now) this.#cookies.delete(key);
			else this.#cookies.set(key, cookie);
		}
	}

	// Cookies a browser would send to `requestUrl`, longest path first.
	cookiesFor(requestUrl, now = Date.now()) {
		const url = new URL(requestUrl);
		const host = url.hostname.toLowerCase();
		const out = [];
		for (const [key, c] of this.#cookies) {
			if (c.expires <= now) {
				this.#cookies.delete(key);
				continue;
			}
			if (c.hostOnly ? host !== c.domain : !domainMatches(host, c.domain)) continue;
			if (!pathMatches(url.pathname, c.path)) continue;
			if (c.secure && url.protocol !== 'https:') continue;
			out.push(c);
		}
		return out.sort((a, b) => b.path.length - a.path.length);
	}

	// The Cookie request header for `requestUrl` ('' when there is none).
	header(requestUrl) {
		return this.cookiesFor(requestUrl).map((c) => `${c.name}=${c.value}`).join('; ');
	}

	// Value of the cookie `name` that would be sent to `requestUrl`, or undefined.
	get(name, requestUrl) {
		return this.cookiesFor(requestUrl).find((c) => c.name === name)?.value;
	}

	// Every stored cookie (copies), for assertions and debugging.
	all() {
		return [...this.#cookies.values()].map((c) => ({ ...c }));
	}

	clear() {
		this.#cookies.clear();
	}
}
