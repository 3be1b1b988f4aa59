// node:test's describe/it/before/after, each test and hook with a deadline of its own.
// Without one, a test that waits forever is cut only by the runner's per-file timeout,
// which names the file and nothing else, and takes the file's later tests with it. With
// one, the test that hung fails by name ("test timed out after N ms") and the file goes
// on. A test or hook that needs longer says so: it(name, { timeout: 600000 }, fn).
//
//   import { after, before, describe, it } from '../lib/bounded-test.mjs';
import * as nodeTest from 'node:test';

// The slowest stack test takes about a minute on the shared machine (audit_storm has a
// deadline of its own); a hook starts or stops a whole stack (up to 8 port picks). A wait
// inside a test needs a deadline below this one, or it is never the one that names the stall.
export const TEST_DEADLINE_MS = 240000;
export const HOOK_DEADLINE_MS = 180000;

// it(name, fn) / it(name, options, fn) / it(fn), as node:test takes them.
function withDeadline(fn, ms) {
	const bounded = (...args) => {
		const body = typeof args.at(-1) === 'function' ? args.pop() : undefined;
		const name = typeof args[0] === 'string' ? args.shift() : undefined;
		const options = { timeout: ms, ...(args[0] ?? {}) };
		return fn(...(name === undefined ? [] : [name]), options, ...(body ? [body] : []));
	};
	for (const variant of ['skip', 'todo', 'only']) if (fn[variant]) bounded[variant] = withDeadline(fn[variant], ms);
	return bounded;
}

function hookWithDeadline(hook) {
	return (fn, options = {}) => hook(fn, { timeout: HOOK_DEADLINE_MS, ...options });
}

export const it = withDeadline(nodeTest.it, TEST_DEADLINE_MS);
export const test = withDeadline(nodeTest.test, TEST_DEADLINE_MS);
export const { describe } = nodeTest;
export const before = hookWithDeadline(nodeTest.before);
export const after = hookWithDeadline(nodeTest.after);
export const beforeEach = hookWithDeadline(nodeTest.beforeEach);
export const afterEach = hookWithDeadline(nodeTest.afterEach);
