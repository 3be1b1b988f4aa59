// tests/lib/postgres.mjs: the cluster it starts answers SQL over its unix socket only, as
// the unprivileged user, and is gone after stop().
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { after, before, describe, it } from './bounded-test.mjs';
import { promisify } from 'node:util';

import { startPostgres } from './postgres.mjs';

const run = promisify(execFile);

describe('tests/lib/postgres.mjs', () => {
	let pg;
	before(async () => { pg = await startPostgres(); });
	after(async () => { await pg?.stop(); });

	it('starts a PostgreSQL 15 that answers on the unix socket in its directory', async (t) => {
		if (!pg) return t.skip('PostgreSQL server binaries are not installed');
		assert.match(pg.url, /^host=\/\S+\/periscope-pg-\S+ port=5432 user=periscope dbname=postgres$/);
		const { stdout } = await run('psql', [pg.url, '-AtXc', "SHOW server_version_num; SHOW listen_addresses"]);
		const [version, listen] = stdout.split('\n');
		assert.equal(version.slice(0, 2), '15');
		assert.equal(listen, '', 'no TCP listener');
		assert.ok(fs.existsSync(`${pg.dir}/.s.PGSQL.5432`));
	});

	it('runs the server as a user other than root', async (t) => {
		if (!pg) return t.skip('PostgreSQL server binaries are not installed');
		const pid = fs.readFileSync(`${pg.dir}/data/postmaster.pid`, 'utf8').split('\n')[0];
		const uid = fs.statSync(`/proc/${pid}`).uid;
		assert.notEqual(uid, 0);
		if (process.getuid() !== 0) assert.equal(uid, process.getuid());
	});

	it('stop() stops the server and removes its directory', async (t) => {
		if (!pg) return t.skip('PostgreSQL server binaries are not installed');
		const url = pg.url;
		await pg.stop();
		assert.equal(fs.existsSync(pg.dir), false);
		await assert.rejects(run('psql', [url, '-AtXc', 'SELECT 1']), /No such file or directory/);
	});
});
