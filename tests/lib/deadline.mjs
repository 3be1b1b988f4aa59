// Deadlines for everything a test awaits: a hang becomes an error that names what it was
// waiting for, instead of the test runner's own timeout, which says nothing of why.

// promise, or an error naming what was waited for once ms have passed.
export function within(what, promise, ms) {
	let timer;
	const timeout = new Promise((_, reject) => {
		timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
	});
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// fetch() whose whole exchange (headers and body) must finish within ms.
export const REQUEST_DEADLINE_MS = 30000;
export async function fetchWithin(url, init = {}, ms = REQUEST_DEADLINE_MS) {
	const what = `${init.method ?? 'GET'} ${url}`;
	try {
		const res = await fetch(url, { ...init, signal: AbortSignal.timeout(ms) });
		const body = Buffer.from(await res.arrayBuffer());
		return { res, text: body.toString('utf8') };
	} catch (e) {
		if (e.name === 'TimeoutError' || e.name === 'AbortError') throw new Error(`timed out after ${ms} ms waiting for ${what}`);
		throw e;
	}
}
