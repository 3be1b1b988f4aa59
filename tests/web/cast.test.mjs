// The watch page's reader of asciicast v2 lines (web/js/cast.js), with a terminal that
// records what it was asked to do.
import assert from 'node:assert/strict';
import { describe, it } from '../lib/bounded-test.mjs';

import { applyCastLines } from '../../web/js/cast.js';

function fakeTerm() {
	const calls = [];
	return { calls, write: (d) => calls.push(['write', d]), resize: (c, r) => calls.push(['resize', c, r]) };
}

describe('asciicast lines into a terminal', () => {
	it('sizes from the header, writes output, follows resizes, shows the cap marker, not input', () => {
		const term = fakeTerm();
		applyCastLines(term, [
			'{"version":2,"width":120,"height":30,"timestamp":1765058000,"env":{"TERM":"xterm-256color"}}',
			'[0.25, "o", "$ "]',
			'[0.5, "i", "secret\\r"]',
			'[0.75, "r", "100x40"]',
			'[1.0, "o", "h\\u00e9\\r\\n"]',
			'[2.0, "m", "recording cut: 10 bytes of events left out (recording.maxBytes)"]',
			'',
		].join('\n'));
		assert.deepEqual(term.calls, [
			['resize', 120, 30],
			['write', '$ '],
			['resize', 100, 40],
			['write', 'hé\r\n'],
			['write', '\r\n\x1b[2m── recording cut: 10 bytes of events left out (recording.maxBytes) ──\x1b[0m\r\n'],
		]);
	});

	it('skips a line that is not JSON and a size no terminal has, and goes on', () => {
		const term = fakeTerm();
		applyCastLines(term, '{"version":2,"width":100000,"height":2}\nnot json\n[0.1, "r", "80x"]\n[0.2, "o", "ok"]\n');
		assert.deepEqual(term.calls, [['resize', 500, 2], ['write', 'ok']]);
	});
});
