// A large output through a terminal, checked byte for byte: the shell writes n random bytes
// to a file, prints their sha256sum, then the file as base64 between two markers; the
// client decodes what arrived and hashes it. Used by the agent tests (a 4 MB `cat` through
// the tunnel) and bench/agent-tunnel.mjs (the same transfer with and without it).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

const PROMPT = /[$#] $/m;

// t: an open Terminal at its prompt. Resolves { bytes, ms, intact, sent, got }.
export async function transfer(t, n, { timeoutMs = 120000 } = {}) {
	// What the terminal showed before is dropped: matching on an ever longer output would
	// make the client, not the path under test, the bottleneck.
	t.output = '';
	// The markers are made by the shell ($((...))), so the echoed command line never matches.
	t.type(`f=$(mktemp); head -c ${n} /dev/urandom > "$f"; sha256sum "$f" | cut -c1-64; echo B$((40+2))EGIN; base64 "$f"; echo E$((40+2))ND; rm -f "$f"\r`);
	const started = Date.now();
	// The markers are whole lines: base64 lines are 76 characters, so random data can hold
	// "E42ND" inside a line (it did, once in a few hundred megabytes) but never as one.
	const END = /^E42ND\r?$/m;
	await t.until(`the ${n}-byte transfer to end`, () => END.test(t.output), timeoutMs);
	const ms = Date.now() - started;
	const out = t.output;
	const begin = /^B42EGIN\r?$/m.exec(out);
	const end = END.exec(out);
	const sent = /^([0-9a-f]{64})\r?$/m.exec(out.slice(0, begin?.index ?? 0))?.[1];
	const body = begin && end ? out.slice(begin.index + begin[0].length, end.index) : '';
	const bytes = Buffer.from(body.replace(/[\r\n]/g, ''), 'base64');
	const got = createHash('sha256').update(bytes).digest('hex');
	await t.until('the prompt after the transfer', () => PROMPT.test(t.output.slice(end.index)), 30000);
	const intact = Boolean(sent) && sent === got && bytes.length === n;
	if (!intact && process.env.PERISCOPE_TRANSFER_DUMP) fs.writeFileSync(process.env.PERISCOPE_TRANSFER_DUMP, out);
	return { bytes: bytes.length, ms, intact, sent, got };
}
