// Every error code the server can send reaches the user in plain words with what to do.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from '../lib/bounded-test.mjs';

import { describeClosed, describeError, knownCodes } from '../../web/js/errors.js';
import { ROOT } from '../lib/stack.mjs';

// The "E_..." string literals of the C sources: error bodies and frames.
function serverCodes() {
	const codes = new Set();
	for (const dir of ['lib', 'fcgi', 'wsbridge']) {
		for (const f of fs.readdirSync(path.join(ROOT, dir), { recursive: true })) {
			if (!/\.[ch]$/.test(f)) continue;
			const text = fs.readFileSync(path.join(ROOT, dir, f), 'utf8');
			for (const m of text.matchAll(/"(E_[A-Z0-9_]+)"/g)) codes.add(m[1]);
		}
	}
	return [...codes].sort();
}

describe('error codes in plain words', () => {
	it('knows every code the server sources contain', () => {
		const found = serverCodes();
		assert.ok(found.length > 30, `found ${found.length} codes`);
		const known = new Set(knownCodes());
		assert.deepEqual(found.filter((c) => !known.has(c)), []);
	});

	it('knows the codes docs/frames.md lists', () => {
		const doc = fs.readFileSync(path.join(ROOT, 'docs', 'frames.md'), 'utf8');
		const known = new Set(knownCodes());
		const listed = [...new Set([...doc.matchAll(/`(E_[A-Z0-9_]+)`/g)].map((m) => m[1]))];
		assert.deepEqual(listed.filter((c) => !known.has(c)), []);
	});

	it('says what happened and what to do, keeping the server detail', () => {
		const d = describeError({ code: 'E_CAP_USER', message: 'you have reached your limit of 2 open cluster shell sessions' });
		assert.equal(d.code, 'E_CAP_USER');
		assert.match(d.title, /as many sessions/);
		assert.match(d.action, /End one of these on the Sessions page/);
		assert.match(d.detail, /limit of 2/);
		const unknown = describeError({ code: 'E_SOMETHING_NEW', message: 'a new failure' });
		assert.equal(unknown.title, 'a new failure');
		assert.equal(unknown.code, 'E_SOMETHING_NEW');
	});

	it('explains why a session closed', () => {
		assert.equal(describeClosed({ reason: 'exit', exitCode: 3 }), 'The shell exited with status 3.');
		assert.equal(describeClosed({ reason: 'idle', exitCode: -1 }), 'Closed after a period without activity.');
		assert.match(describeClosed({ reason: 'mystery', exitCode: -1 }), /mystery/);
		assert.match(describeClosed({ reason: 'signed_out', exitCode: -1 }), /^You signed out/);
	});

	it('has words for every closed.reason docs/frames.md lists', () => {
		const doc = fs.readFileSync(path.join(ROOT, 'docs', 'frames.md'), 'utf8');
		// The list "`closed.reason` is one of: `exit` (...), ..." and the table after it.
		const list = doc.slice(doc.indexOf('`closed.reason` is one of'), doc.indexOf('when the login session the terminal'));
		const named = [...list.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]).filter((r) => !['close', 'exitCode', 'idleSeconds'].includes(r));
		const ends = doc.slice(doc.indexOf('A terminal lives no longer'), doc.indexOf('## Error codes'));
		const table = [...ends.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
		const reasons = [...named, ...table];
		assert.ok(table.includes('signed_out') && table.includes('session_expired') && named.includes('exit'), reasons.join(' '));
		for (const reason of reasons) assert.doesNotMatch(describeClosed({ reason, exitCode: -1 }), /^Session ended \(/, reason);
	});
});
