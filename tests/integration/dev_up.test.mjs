// dev/up with your own settings (docs/HACKING.md "Your own settings"): the stack's
// foreground process, tests/lib/stack-cli.mjs, as dev/up runs it, with --config FILE and
// PERISCOPE_OVERRIDES merged over the generated configuration, which periscope then runs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { parse as parseYaml } from 'yaml';

import { fetchWithin } from '../lib/deadline.mjs';
import { ROOT, waitFor } from '../lib/stack.mjs';
import { chooseServer } from '../lib/webserver.mjs';

const CLI = path.join(ROOT, 'tests', 'lib', 'stack-cli.mjs');

// The CLI as a child; out collects its stdout and stderr.
function run(args, env) {
	const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
	const out = { text: '', code: null };
	child.stdout.on('data', (d) => { out.text += d; });
	child.stderr.on('data', (d) => { out.text += d; });
	const exited = new Promise((resolve) => child.on('exit', (code) => { out.code = code; resolve(code); }));
	return { child, out, exited };
}

describe(`dev/up with your own settings through ${chooseServer()}`, () => {
	let tmp;
	before(() => {
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-devup-'));
	});
	after(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

	it('refuses settings that are not a mapping of configuration keys, before starting anything', async () => {
		const file = path.join(tmp, 'list.yaml');
		fs.writeFileSync(file, '- clusterShell\n- nodeShell\n');
		const { out, exited } = run(['--config', file], {});
		assert.equal(await exited, 2, out.text);
		assert.match(out.text, /^dev\/up: .*list\.yaml must be a mapping of configuration keys/m);
		const bad = run([], { PERISCOPE_OVERRIDES: 'clusterShell: [1' });
		assert.equal(await bad.exited, 2, bad.out.text);
		assert.match(bad.out.text, /^dev\/up: PERISCOPE_OVERRIDES is not valid YAML/m);
		assert.doesNotMatch(out.text + bad.out.text, /periscope is up/);
	});

	it('merges the file, then the variable, over the generated configuration, and runs with it', async () => {
		const file = path.join(tmp, 'my.yaml');
		fs.writeFileSync(file, 'clusterShell:\n  idleSeconds: 77\n  maxSessionsPerUser: 1\nnodeShell:\n  maxDurationSeconds: 600\n');
		// Any free port: dev/up's stack picks it, and picks again if another suite takes it.
		const { child, out, exited } = run(['--config', file], {
			PERISCOPE_PORT: '0',
			PERISCOPE_OVERRIDES: '{nodeShell: {maxDurationSeconds: 33}}',
		});
		try {
			await waitFor('dev/up saying it is up', () => /periscope is up/.test(out.text) || out.code !== null, { timeoutMs: 90000, intervalMs: 200 });
			assert.match(out.text, /periscope is up: +http:\/\/127\.0\.0\.1:\d+/, out.text);
			const m = /your settings: +clusterShell, nodeShell \(merged into (\S+)\)/.exec(out.text);
			assert.ok(m, out.text);
			const cfg = parseYaml(fs.readFileSync(m[1], 'utf8'));
			assert.equal(cfg.clusterShell.idleSeconds, 77);
			assert.equal(cfg.clusterShell.maxSessionsPerUser, 1);
			assert.equal(cfg.nodeShell.maxDurationSeconds, 33, 'the variable comes after the file');
			assert.equal(cfg.clusterShell.image.repository, 'periscope-shell', 'merged key by key, the generated keys kept');
			assert.ok(cfg.nodeShell.awsRoleArn, 'the generated node shell settings kept');
			const url = /periscope is up: +(\S+)/.exec(out.text)[1];
			const ready = await fetchWithin(`${url}/readyz`);
			assert.equal(ready.res.status, 200, 'periscope accepted the merged configuration');
		} finally {
			child.kill('SIGINT');
			await exited;
		}
		assert.equal(out.code, 0, 'Ctrl-C stops everything it started');
	});
});
