// asciicast v2 lines (docs/recordings.md) applied to a terminal: DOM-free, so the node
// tests drive it with a fake terminal (tests/web/cast.test.mjs).
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';
// A size no terminal of ours has: a corrupt header must not make a giant terminal.
const MAX_COLS = 500;
const MAX_ROWS = 300;

// Applies whole .cast lines to the terminal: the header sets the size, "o" writes, "r"
// resizes, "m" (the size cap's marker) is shown dimmed. Input events ("i") are not shown.
export function applyCastLines(term, text) {
	for (const line of text.split('\n')) {
		if (!line.trim()) continue;
		let v;
		try {
			v = JSON.parse(line);
		} catch {
			continue; // not ours to judge; the next line may be fine
		}
		if (v && !Array.isArray(v) && typeof v === 'object') {
			if (v.width > 0 && v.height > 0) term.resize(Math.min(MAX_COLS, v.width), Math.min(MAX_ROWS, v.height));
		} else if (Array.isArray(v) && typeof v[2] === 'string') {
			if (v[1] === 'o') term.write(v[2]);
			else if (v[1] === 'r') {
				const m = /^(\d+)x(\d+)$/.exec(v[2]);
				if (m) term.resize(Math.min(MAX_COLS, Number(m[1])), Math.min(MAX_ROWS, Number(m[2])));
			} else if (v[1] === 'm') term.write(`\r\n${DIM}── ${v[2]} ──${RESET}\r\n`);
		}
	}
}
