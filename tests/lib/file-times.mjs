// A node:test reporter that gives each test file's wall time, one line per file as it ends:
// "<seconds> <file>". dev/test writes it beside each suite's TAP (node-tests-*.tap.files) and
// names the longest files in its report: the TAP gives each suite's and test's time, not a
// file's, whose stacks start and stop in hooks outside every test.
//
//   node --test --test-reporter=./tests/lib/file-times.mjs --test-reporter-destination=FILE ...
//
// The runner reports each file as a test at nesting 0 named by its path; its
// 'test:complete' carries the file's whole duration (its process, hooks included).
import * as path from 'node:path';

export default async function* fileTimes(source) {
	for await (const ev of source) {
		const d = ev.data;
		if (ev.type !== 'test:complete' || d?.nesting !== 0 || !d.file || d.name !== d.file) continue;
		yield `${(d.details.duration_ms / 1000).toFixed(1)} ${path.relative(process.cwd(), d.file)}\n`;
	}
}
