// A node:test reporter that says which test was running when a test file hit the runner's
// --test-timeout. The runner's own report names only the file ("test timed out after N ms"),
// and a file's stderr after the runner's SIGTERM is not reported at all.
//
//   node --test --test-reporter=tap --test-reporter-destination=stdout \
//        --test-reporter=./tests/lib/hang-reporter.mjs --test-reporter-destination=stderr ...
//
// It prints nothing else. The events it reads come from each file's own process as they
// happen: 'test:dequeue' when a test (or suite) starts running, 'test:complete' when it
// ends. A test dequeued and not completed when its file timed out was running; with none,
// the file hung in a hook (before/after) or at the top level, after the last one completed.
// Each line starts with HANG so that dev/test can pick it out of the output.

export function fileKey(data) {
	return data.file ?? '';
}

// One file's view: tests started and not ended, and the last one that ended.
export class FileProgress {
	running = new Map(); // "nesting\0name" -> path of names from the outermost suite
	path = [];
	lastCompleted = null;

	parents = new Set(); // paths (joined) of suites one of whose tests has started

	dequeue({ nesting, name }) {
		this.path.length = nesting;
		this.path[nesting] = name;
		this.running.set(`${nesting}\0${name}`, [...this.path]);
		if (nesting > 0) this.parents.add(this.path.slice(0, nesting).join('\0'));
	}

	complete({ nesting, name }) {
		const key = `${nesting}\0${name}`;
		const p = this.running.get(key) ?? [...this.path.slice(0, nesting), name];
		this.running.delete(key);
		this.lastCompleted = p;
	}

	// The innermost tests still running, as "suite > test" strings (a suite whose test is
	// running is not listed on its own). A suite listed after some of its tests ran is in a
	// hook between or after them; one none of whose tests started is in its before hook
	// (or is a test of its own).
	describe() {
		const paths = [...this.running.values()];
		const innermost = paths.filter((p) => !paths.some((q) => q.length > p.length && p.every((n, i) => q[i] === n)));
		return innermost.map((p) => {
			const name = `"${p.join(' > ')}"`;
			if (!this.parents.has(p.join('\0'))) return name;
			const last = this.lastCompleted?.join(' > ');
			return `${name} (in a hook of this suite${last ? `; the last test to end was "${last}"` : ''})`;
		});
	}
}

function isFileTimeout(ev, file) {
	const d = ev.data;
	return ev.type === 'test:fail' && d.nesting === 0 && d.name === file &&
		d.details?.error?.failureType === 'testTimeoutFailure';
}

export default async function* hangReporter(source) {
	const files = new Map();
	const progress = (file) => {
		if (!files.has(file)) files.set(file, new FileProgress());
		return files.get(file);
	};
	for await (const ev of source) {
		if (!ev.data || !['test:dequeue', 'test:complete', 'test:pass', 'test:fail'].includes(ev.type)) continue;
		const file = fileKey(ev.data);
		// The file itself is reported as a test at nesting 0 named by its path.
		if (ev.data.name === file && ev.data.nesting === 0) {
			if (isFileTimeout(ev, file)) {
				const p = progress(file);
				const running = p.describe();
				const where = running.length
					? `while running: ${running.join(', ')}`
					: `in a hook or at top level; the last test to end was ${p.lastCompleted ? `"${p.lastCompleted.join(' > ')}"` : 'none'}`;
				yield `HANG ${file}: ${ev.data.details.error.message ?? 'timed out'}, ${where}\n`;
			}
			if (ev.type === 'test:pass' || ev.type === 'test:fail') files.delete(file);
			continue;
		}
		if (ev.type === 'test:dequeue') progress(file).dequeue(ev.data);
		else if (ev.type === 'test:complete') progress(file).complete(ev.data);
	}
}
