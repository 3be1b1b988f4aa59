// websocketd's fork limit comes from the caps (periscope.fcgi --print-maxforks), so that
// over a cap an API client or the web UI reads periscope's JSON 429, never websocketd's
// plain-text "429 Too Many Requests" with nothing to act on.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { BUILD_DIR, startStack } from '../lib/stack.mjs';
import { signIn } from '../lib/session.mjs';
import { execBounded } from '../lib/sync-child.mjs';
import { Terminal } from '../lib/terminal.mjs';
import { toYaml } from '../lib/yaml.mjs';

const SHELL = '/api/clusters/local/shell';
const PROMPT = /[$#] $/m;
const FCGI = path.join(BUILD_DIR, 'fcgi/periscope.fcgi');

function printMaxforks(config) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-maxforks-'));
	try {
		fs.writeFileSync(path.join(dir, 'periscope.yaml'), toYaml(config));
		return execBounded(FCGI, ['--config', path.join(dir, 'periscope.yaml'), '--print-maxforks'],
			{ encoding: 'utf8', env: { PATH: process.env.PATH } });
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
}

describe('periscope.fcgi --print-maxforks', () => {
	const base = {
		auth: {
			oidc: { issuer: 'https://idp.example.com/', clientID: 'periscope', redirectURL: 'https://periscope.example.com/api/auth/callback' },
			authorization: { mode: 'tier', groupTiers: { admins: 'admin' } },
		},
		clusterShell: { enabled: true, maxSessionsTotal: 30 },
		nodeShell: { enabled: true, maxSessionsTotal: 20 },
		clusters: [{ name: 'a', backend: 'in-cluster' }, { name: 'b', backend: 'in-cluster', clusterShell: { enabled: false } }],
	};

	it('sums each cluster\'s caps of the kinds enabled there, plus a quarter', () => {
		// a: 30 + 20, b: 20 (its cluster shell is off) = 70 sessions; 70 / 4 = 17 more.
		assert.equal(printMaxforks(base), '87\n');
	});

	it('keeps at least 16 spare forks when the caps are small', () => {
		assert.equal(printMaxforks({ ...base, nodeShell: { enabled: false }, clusterShell: { enabled: true, maxSessionsTotal: 2 } }), '18\n');
	});

	it('refuses a bad configuration with its message and status 2', () => {
		let failure;
		try {
			printMaxforks({ ...base, clusterShell: { enabled: true, maxSessionsTotal: 0 } });
		} catch (e) {
			failure = e;
		}
		assert.equal(failure?.status, 2);
		assert.match(failure.stderr.toString(), /clusterShell\.maxSessionsTotal: expected a positive integer, got "0"/);
	});
});

describe('at the cap, every refusal is periscope\'s JSON 429', () => {
	let stack;
	before(async () => {
		stack = await startStack({
			config: { clusterShell: { maxSessionsPerUser: 100, maxSessionsTotal: 1 }, nodeShell: { maxSessionsTotal: 1 } },
		});
	});
	after(async () => stack && (await stack.stop()));

	it('gives websocketd room above the caps: 2 clusters x (1 + 1) sessions, plus 16', () => {
		assert.equal(stack.maxforks, 20);
	});

	it('answers a burst of more upgrades than websocketd may fork with JSON, and the open terminal stays usable', async () => {
		const admin = await signIn(stack, 'admin');
		const cookie = `periscope_session=${admin.cookie()}`;
		const held = await Terminal.open(stack, SHELL, { cookie });
		held.resize(100, 30);
		await held.waitFrame('hello', 30000);
		await held.waitOutput(PROMPT, 30000);
		// 24 at once: more than the 20 forks websocketd allows. The slot is held, so the
		// authorizer refuses each before websocketd is reached.
		const answers = await Promise.all(Array.from({ length: 24 }, async () => {
			try {
				const t = await Terminal.open(stack, SHELL, { cookie });
				const first = await t.until('the first frame', () => t.frames[0], 30000);
				t.terminate();
				return { status: 101, first };
			} catch (e) {
				if (!e.status) throw e;
				return { status: e.status, body: e.body };
			}
		}));
		for (const a of answers) {
			assert.equal(a.status, 429, `an upgrade was not refused by the authorizer: ${JSON.stringify(a)}`);
			assert.equal(typeof a.body, 'object', `a refusal without a JSON body: ${JSON.stringify(a.body)}`);
			assert.equal(a.body.code, 'E_CAP_CLUSTER');
			assert.equal(a.body.limit, 1);
		}
		held.type('echo st""ill-here\r');
		await held.waitOutput(/^still-here\r?$/m, 15000);
		held.send({ type: 'close' });
		await held.end(30000);
	});
});
