// The shipped alert rules (conf/prometheus/periscope-rules.yml): promtool accepts them,
// promtool's own rule tests fire the refusal-spike, bridges-lost, audit-budget and
// not-ready alerts on series written for them (tests/prometheus/periscope-rules.test.yml),
// and every alert has a summary and a runbook that is a section of docs/monitoring.md.
// Without promtool (Debian's prometheus package) the file skips, except under CI=true.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from '../lib/bounded-test.mjs';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PROMTOOL = '/usr/bin/promtool';
const RULES = path.join(ROOT, 'conf/prometheus/periscope-rules.yml');
const missing = !fs.existsSync(PROMTOOL);
if (missing && process.env.CI === 'true') throw new Error(`${PROMTOOL} is missing (dev/apt-packages.txt lists prometheus)`);

function promtool(...args) {
	const r = spawnSync(PROMTOOL, args, { cwd: ROOT, encoding: 'utf8', timeout: 60000 });
	return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

// GitHub-style anchors of the Markdown headings: lower case, punctuation dropped, spaces to -.
function anchors(markdown) {
	return new Set([...markdown.matchAll(/^#+\s+(.*)$/gm)].map((m) => m[1].trim().toLowerCase()
		.replace(/[^a-z0-9 _-]/g, '').replace(/ /g, '-')));
}

describe('the shipped Prometheus rules', { skip: missing && `${PROMTOOL} is not installed` }, () => {
	it('pass promtool check rules', () => {
		const r = promtool('check', 'rules', RULES);
		assert.equal(r.status, 0, r.out);
		assert.match(r.out, /SUCCESS: 7 rules found/);
	});

	it('fire as tests/prometheus/periscope-rules.test.yml expects (promtool test rules)', () => {
		const r = promtool('test', 'rules', path.join(ROOT, 'tests/prometheus/periscope-rules.test.yml'));
		assert.equal(r.status, 0, r.out);
		assert.match(r.out, /SUCCESS/);
	});

	it('would catch a rule that does not fire: the same tests fail against a spike threshold raised out of reach', () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-rules-mutant-'));
		try {
			fs.mkdirSync(path.join(dir, 'conf/prometheus'), { recursive: true });
			fs.mkdirSync(path.join(dir, 'tests/prometheus'), { recursive: true });
			fs.writeFileSync(path.join(dir, 'conf/prometheus/periscope-rules.yml'),
				fs.readFileSync(RULES, 'utf8').replace('* 60 > 5', '* 60 > 500'));
			fs.copyFileSync(path.join(ROOT, 'tests/prometheus/periscope-rules.test.yml'), path.join(dir, 'tests/prometheus/t.yml'));
			const r = promtool('test', 'rules', path.join(dir, 'tests/prometheus/t.yml'));
			assert.notEqual(r.status, 0, r.out);
			assert.match(r.out, /PeriscopeRefusalSpike/);
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});

	it('give every alert a summary and a runbook that is a section of docs/monitoring.md', () => {
		const rules = fs.readFileSync(RULES, 'utf8');
		const sections = anchors(fs.readFileSync(path.join(ROOT, 'docs/monitoring.md'), 'utf8'));
		const alerts = [...rules.matchAll(/- alert: (\w+)([\s\S]*?)(?=\n\s+- alert:|$)/g)];
		assert.deepEqual(alerts.map((a) => a[1]), ['PeriscopeRefusalSpike', 'PeriscopeOpenLatencyHigh',
			'PeriscopeUpstreamErrors', 'PeriscopeBridgesLost', 'PeriscopeAuditBudgetHigh', 'PeriscopeNotReady',
			'PeriscopeMetricsDown']);
		for (const [, name, body] of alerts) {
			assert.match(body, /summary: "/, `${name} has a summary`);
			const runbook = /runbook: "docs\/monitoring\.md#([a-z0-9-]+)"/.exec(body);
			assert.ok(runbook, `${name} has a runbook in docs/monitoring.md`);
			assert.equal(runbook[1], name.toLowerCase(), `${name}'s runbook anchor is its own section`);
			assert.ok(sections.has(runbook[1]), `docs/monitoring.md has a section #${runbook[1]}`);
		}
	});
});
