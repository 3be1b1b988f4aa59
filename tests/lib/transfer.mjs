// A large output through a terminal, checked byte for byte: the shell writes n random bytes
// to a file, prints their sha256sum, then the file as base64 between two markers; the
// client decodes what arrived and hashes it. Used by the agent tests (a 4 MB `cat` through
// the tunnel) and bench/agent-tunnel.mjs (the same transfer with and without it).
import { createHash } from 'node:crypto';

const PROMPT = /[$#] $/m;

// t: an open Terminal at its prompt. Resolves { bytes, ms, intact, sent, got }.
export async function transfer(t, n, { timeoutMs = 120000 } = {}) {
	// What the terminal showed before is dropped: matching on an ever longer output would
	// make the client, not the path under test, the bottleneck.
	t.output = '';
	const from = 0;
	// The markers are made by the shell ($((...))), so the echoed command line never matches.
	t.type(`f=$(mktemp); head -c ${n} /dev/urandom > "$f"; sha256sum "$f" | cut -c1-64; echo B$((40+2))EGIN; base64 "$f"; echo E$((40+2))ND; rm -f "$f"\r`);
	const started = Date.now();
	await t.until(`the ${n}-byte transfer to end`, () => /E42ND\r?\n/.test(t.output.slice(from)), timeoutMs);
	const ms = Date.now() - started;
	const out = t.output.slice(from);
	const sent = /^([0-9a-f]{64})\r?$/m.exec(out)?.[1];
	const body = out.slice(out.indexOf('B42EGIN') + 'B42EGIN'.length, out.indexOf('E42ND'));
	const bytes = Buffer.from(body.replace(/[\r\n]/g, ''), 'base64');
	const got = createHash('sha256').update(bytes).digest('hex');
	await t.until('the prompt after the transfer', () => PROMPT.test(t.output.slice(from + out.indexOf('E42ND'))), 30000);
	return { bytes: bytes.length, ms, intact: Boolean(sent) && sent === got && bytes.length === n, sent, got };
}
