// Deadlines for everything a test awaits: a hang becomes an error that names what it was
// waiting for, instead of the test runner's own timeout, which says nothing of why.

// A wait that ended well but late, past half of its deadline, is the next flake on a loaded
// machine: it is said on stderr, one line, "NEAR-DEADLINE <file>: <what> took N of M ms",
// which node's test runner carries into its TAP as a comment and dev/test lists after each
// suite (stderr: dev/up's stdout stays its own). Deadlines under 2 s are left out (a
// scheduling hiccup is most of what they would show).
export const NEAR_DEADLINE_SHARE = 0.5;
const NEAR_DEADLINE_MIN_MS = 2000;
// The test file this process runs, relative to the repository, for the lines below.
function testFile() {
	return process.argv[1] ? process.argv[1].replace(`${process.cwd()}/`, '') : '?';
}

export function noteIfLate(what, startedAt, ms) {
	const took = Date.now() - startedAt;
	if (ms < NEAR_DEADLINE_MIN_MS || took <= ms * NEAR_DEADLINE_SHARE) return;
	process.stderr.write(`NEAR-DEADLINE ${testFile()}: ${what} took ${took} of ${ms} ms\n`);
}

// promise, or an error naming what was waited for once ms have passed. A caller that makes
// its own deadline out of several of these (waitFor) says { note: false } and notes the whole.
export function within(what, promise, ms, { note = true } = {}) {
	let timer;
	const startedAt = Date.now();
	const timeout = new Promise((_, reject) => {
		timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
	});
	return Promise.race([promise, timeout]).then((v) => {
		if (note) noteIfLate(what, startedAt, ms);
		return v;
	}).finally(() => clearTimeout(timer));
}

// Methods a client may send again after the connection closed under them (RFC 9110
// §9.2.2, idempotent).
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
// undici's codes for a connection the server closed, or reset, before any of its answer.
const CLOSED_UNDER_REQUEST = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

// A kept-alive connection the web server closed while it sat idle (KeepAliveTimeout 5 s
// in both servers), which this process had not yet seen close: a test that held the event
// loop (a synchronous child, a loop over 10,000 rows) for longer than that sends its next
// request down it and gets "other side closed" (loop runs 28 and 2 of stop 25, both in
// audit_chain). A browser sends such a request again on a new connection (Chromium:
// net/http/http_network_transaction.cc, HttpNetworkTransaction::ShouldResendRequest, for
// a reused connection closed before any response); undici's fetch does not, so this does,
// once, for an idempotent method, within the same deadline, and says so on stderr
// ("RETRIED ..."; dev/test lists them after each suite). A server that closes every time
// still fails the request, naming the cause.
function closedBeforeAnswer(e, method) {
	return IDEMPOTENT.has(method) && e?.name === 'TypeError' && CLOSED_UNDER_REQUEST.has(e.cause?.code);
}

// fetch() whose whole exchange (headers and body) must finish within ms. resendOnClose:
// false for a request the server is expected to drop (plain http to a TLS port), which is
// then tried once, as it is.
export const REQUEST_DEADLINE_MS = 30000;
export async function fetchWithin(url, init = {}, ms = REQUEST_DEADLINE_MS, { resendOnClose = true } = {}) {
	const method = (init.method ?? 'GET').toUpperCase();
	const what = `${method} ${url}`;
	const signal = AbortSignal.timeout(ms);
	const send = () => fetch(url, { ...init, signal });
	try {
		let res;
		// Only a request that got no answer at all is sent again: a body cut short after its
		// headers is the server's doing, and fails as it is.
		try {
			res = await send();
		} catch (e) {
			if (!resendOnClose || !closedBeforeAnswer(e, method)) throw e;
			process.stderr.write(`RETRIED ${testFile()}: ${what} after ${e.cause.code}: ${e.cause.message}\n`);
			res = await send();
		}
		const body = Buffer.from(await res.arrayBuffer());
		return { res, text: body.toString('utf8') };
	} catch (e) {
		if (e.name === 'TimeoutError' || e.name === 'AbortError') throw new Error(`timed out after ${ms} ms waiting for ${what}`);
		// undici says only "fetch failed"; what failed (a refused connect, a reset, a
		// kept-alive connection closed under the request) is in its cause.
		if (e.cause) throw new Error(`${e.message}: ${what}: ${e.cause.code ?? e.cause.name}: ${e.cause.message}`, { cause: e.cause });
		throw e;
	}
}
