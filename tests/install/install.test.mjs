// `make install DESTDIR=...` lays out what docs/deployment.md promises, and what it lays
// out is accepted by the tools that will read it: systemd-analyze verify for the units,
// apache2 -t and lighttpd -tt for the production sites (certificate paths pointed at a
// throwaway certificate, installed paths at the staging directory), man for the pages.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { BUILD_DIR, ROOT } from '../lib/stack.mjs';
import { execBounded, spawnBounded } from '../lib/sync-child.mjs';
import { makeCertificates } from '../lib/tls.mjs';

const UNITS = ['periscope-fcgi.socket', 'periscope-fcgi.service', 'periscope-websocketd.service', 'periscope-agent-tunnel.service'];

function run(cmd, args, opts = {}) {
	const r = spawnBounded(cmd, args, { encoding: 'utf8', timeout: 300000, ...opts }); // make install builds what is missing
	return { status: r.status, out: `${r.stdout || ''}${r.stderr || ''}`, stderr: r.stderr || '' };
}

describe('make install', () => {
	let dest;
	let dirs;
	const staged = (p) => path.join(dest, p);
	before(() => {
		dest = fs.mkdtempSync(path.join(os.tmpdir(), 'periscope-install-'));
		const r = run('make', ['-C', BUILD_DIR, '-s', 'install', `DESTDIR=${dest}`]);
		assert.equal(r.status, 0, r.out);
		dirs = Object.fromEntries(execBounded('make', ['-C', BUILD_DIR, '-s', '--no-print-directory', 'print-install-dirs'], { encoding: 'utf8' })
			.trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2)));
	});
	after(() => dest && fs.rmSync(dest, { recursive: true, force: true }));

	// docs/deployment.md's table of the layout, written for --prefix=/usr --sysconfdir=/etc:
	// every file it names is installed, every directory it names is there and not empty.
	it('installs everything the deployment guide lists', () => {
		const doc = fs.readFileSync(path.join(ROOT, 'docs/deployment.md'), 'utf8');
		const prefixes = [
			['/usr/lib/systemd/system/', dirs.systemdsystemunitdir], ['/usr/lib/sysusers.d/', dirs.sysusersdir],
			['/usr/share/periscope/', dirs.pkgdatadir], ['/usr/share/man/', dirs.mandir],
			['/usr/bin/', dirs.bindir], ['/etc/', dirs.sysconfdir],
		];
		const here = (docPath) => {
			const [from, to] = prefixes.find(([p]) => docPath.startsWith(p)) ?? [];
			assert.ok(from, `${docPath}: a directory the test knows`);
			return staged(path.join(to, docPath.slice(from.length)));
		};
		const rows = doc.split('\n').filter((l) => /^\| `\//.test(l));
		assert.ok(rows.length >= 10, 'the guide has its layout table');
		for (const row of rows) {
			const [, first, second] = row.split('|').map((c) => c.trim());
			const docPath = first.replace(/`/g, '');
			const where = here(docPath);
			if (!docPath.endsWith('/')) {
				assert.ok(fs.existsSync(where), `${docPath} (${where}) installed`);
				continue;
			}
			assert.ok(fs.readdirSync(where).length > 0, `${docPath} (${where}) holds something`);
			for (const [, name] of second.matchAll(/`([A-Za-z0-9_.-]+\.[A-Za-z0-9]+)`/g))
				assert.ok(fs.existsSync(path.join(where, name)), `${docPath}${name} installed`);
		}
	});

	it('installs the four programs, and not the in-pod ones', () => {
		for (const p of ['periscope.fcgi', 'periscope-wsbridge', 'periscope-audit', 'periscope-db']) {
			const f = staged(path.join(dirs.bindir, p));
			assert.ok(fs.statSync(f).mode & 0o111, `${f} is executable`);
		}
		assert.equal(run(staged(path.join(dirs.bindir, 'periscope.fcgi')), ['--help']).status, 0);
		assert.equal(run(staged(path.join(dirs.bindir, 'periscope-audit')), ['--help']).status, 0);
		assert.equal(run(staged(path.join(dirs.bindir, 'periscope-db')), ['--help']).status, 0);
		for (const p of ['periscope-shell', 'periscope-audit-exec'])
			assert.equal(fs.existsSync(staged(path.join(dirs.bindir, p))), false, `${p} belongs in the shell image only`);
	});

	it('installs the migrations, the example config, the web UI and the site files', () => {
		const share = staged(dirs.pkgdatadir);
		assert.ok(fs.readdirSync(path.join(share, 'sql')).some((f) => /^\d{3}_.*\.sql$/.test(f)));
		const example = staged(path.join(dirs.sysconfdir, 'periscope/periscope.yaml.example'));
		assert.match(fs.readFileSync(example, 'utf8'), /^clusterShell:/m);
		// The example is a configuration the installed periscope.fcgi accepts.
		const check = run(staged(path.join(dirs.bindir, 'periscope.fcgi')), ['--check-config', '--config', example],
			// (The example's eks cluster would ask the instance metadata service otherwise.)
			{ env: { PATH: process.env.PATH, OIDC_CLIENT_SECRET: 'example', AWS_EC2_METADATA_DISABLED: 'true' } });
		assert.equal(check.status, 0, check.out);
		assert.match(fs.readFileSync(path.join(share, 'web/index.html'), 'utf8'), /<title>periscope<\/title>/);
		for (const f of ['apache/periscope.conf', 'apache/periscope-server.conf', 'apache/periscope-routes.conf', 'apache/periscope-metrics.conf', 'prometheus/periscope-rules.yml',
			'lighttpd/periscope-site.conf', 'lighttpd/periscope.conf', 'lighttpd/periscope-tls.conf', 'systemd/apache-tcp.conf'])
			assert.ok(fs.existsSync(path.join(share, f)), `${f} installed`);
		for (const f of ['apache/periscope.conf', 'lighttpd/periscope-site.conf'])
			assert.doesNotMatch(fs.readFileSync(path.join(share, f), 'utf8'), /@[a-zA-Z]+@/, `${f} has its paths filled in`);
		assert.match(fs.readFileSync(staged(path.join(dirs.sysusersdir, 'periscope.conf')), 'utf8'), /^u periscope /m);
	});

	it('installs man pages that man can format', () => {
		for (const [sec, page] of [['8', 'periscope.fcgi'], ['8', 'periscope-wsbridge'], ['8', 'periscope-audit'], ['8', 'periscope-db'], ['5', 'periscope.yaml']]) {
			const f = staged(path.join(dirs.mandir, `man${sec}`, `${page}.${sec}`));
			const r = run('man', ['-l', '--warnings', f], { env: { ...process.env, MANWIDTH: '80', MAN_KEEP_FORMATTING: '' } });
			assert.equal(r.status, 0, r.out);
			assert.match(r.out, new RegExp(`^NAME\\n\\s+${page.replace('.', '\\.')} `, 'm'));
			assert.doesNotMatch(r.stderr, /warning/i, r.stderr);
		}
	});

	it('installs systemd units that systemd-analyze verify accepts', () => {
		const units = UNITS.map((u) => path.join(dirs.systemdsystemunitdir, u));
		for (const u of units) assert.ok(fs.existsSync(staged(u)), `${u} installed`);
		const fcgi = fs.readFileSync(staged(units[1]), 'utf8');
		for (const line of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/periscope', 'PrivateTmp=yes',
			'ProtectHome=yes', 'CapabilityBoundingSet=', 'SystemCallFilter=@system-service', 'User=periscope'])
			assert.ok(fcgi.split('\n').includes(line), `periscope-fcgi.service has ${line}`);
		const websocketd = fs.readFileSync(staged(units[2]), 'utf8');
		assert.match(websocketd, /--address=127\.0\.0\.1 /);
		// --maxforks from the caps at each start, unless the operator set it.
		assert.match(websocketd, new RegExp(`maxforks=\\$\\$\\{PERISCOPE_MAXFORKS:-\\$\\$\\(${dirs.bindir}/periscope\\.fcgi --print-maxforks\\)\\}`));
		// verify resolves against the staging root: give it the system's targets and slices
		// and websocketd and /bin/sh (the websocketd unit computes --maxforks with it), as
		// the host would have them.
		const sys = staged('lib/systemd/system');
		fs.mkdirSync(sys, { recursive: true });
		for (const f of fs.readdirSync('/lib/systemd/system').filter((f) => /\.(target|slice)$/.test(f)))
			fs.cpSync(path.join('/lib/systemd/system', f), path.join(sys, f), { verbatimSymlinks: true });
		fs.mkdirSync(staged(path.dirname(dirs.WEBSOCKETD)), { recursive: true });
		fs.copyFileSync(dirs.WEBSOCKETD, staged(dirs.WEBSOCKETD));
		fs.chmodSync(staged(dirs.WEBSOCKETD), 0o755);
		fs.mkdirSync(staged('bin'), { recursive: true });
		fs.copyFileSync(fs.realpathSync('/bin/sh'), staged('bin/sh'));
		fs.chmodSync(staged('bin/sh'), 0o755);
		const r = run('systemd-analyze', ['verify', '--man=no', `--root=${dest}`, ...units]);
		assert.equal(r.status, 0, r.out);
		assert.equal(r.out.trim(), '', 'no warnings either');
	});

	it('installs an Apache site that apache2 -t accepts', () => {
		const tls = makeCertificates(dest);
		const share = staged(dirs.pkgdatadir);
		const site = fs.readFileSync(path.join(share, 'apache/periscope.conf'), 'utf8')
			.replaceAll(dirs.pkgdatadir, share)
			.replace('/etc/ssl/certs/periscope.pem', tls.certFile)
			.replace('/etc/ssl/private/periscope.key', tls.keyFile);
		const siteFile = path.join(dest, 'apache-site.conf');
		fs.writeFileSync(siteFile, site);
		const mods = ['mpm_event', 'authn_core', 'authz_core', 'authz_user', 'headers', 'mime', 'dir', 'alias', 'unique_id',
			'proxy', 'proxy_http', 'proxy_fcgi', 'authnz_fcgi', 'socache_shmcb', 'ssl'];
		const frame = path.join(dest, 'apache.conf');
		fs.writeFileSync(frame, [
			`ServerRoot "${dest}"`, 'ServerName localhost', 'Listen 127.0.0.1:8443', `PidFile "${dest}/apache.pid"`,
			`ErrorLog "${dest}/apache-error.log"`, `Define APACHE_LOG_DIR "${dest}"`,
			...mods.map((m) => `LoadModule ${m}_module /usr/lib/apache2/modules/mod_${m}.so`),
			`Include "${siteFile}"`, '',
		].join('\n'));
		const r = run('/usr/sbin/apache2', ['-t', '-f', frame]);
		assert.equal(r.status, 0, r.out);
		assert.match(r.out, /Syntax OK/);
	});

	it('installs a lighttpd site that lighttpd -tt accepts', () => {
		const tls = fs.existsSync(path.join(dest, 'tls/server.pem')) ? { certFile: path.join(dest, 'tls/server.pem'), keyFile: path.join(dest, 'tls/server.key') } : makeCertificates(dest);
		const share = staged(dirs.pkgdatadir);
		const site = fs.readFileSync(path.join(share, 'lighttpd/periscope-site.conf'), 'utf8')
			.replaceAll(dirs.pkgdatadir, share)
			.replace('/etc/ssl/certs/periscope.pem', tls.certFile)
			.replace('/etc/ssl/private/periscope.key', tls.keyFile);
		fs.writeFileSync(path.join(dest, 'lighttpd-site.conf'), site);
		const frame = path.join(dest, 'lighttpd.conf');
		fs.writeFileSync(frame, [
			'server.port = 8080', 'server.bind = "127.0.0.1"', `server.errorlog = "${dest}/lighttpd-error.log"`,
			'include_shell "/usr/share/lighttpd/create-mime.conf.pl"', `include "${dest}/lighttpd-site.conf"`, '',
		].join('\n'));
		const r = run('/usr/sbin/lighttpd', ['-tt', '-f', frame]);
		assert.equal(r.status, 0, r.out);
	});
});
