// Benchmark: requests per second for GET /api/clusters (signed in, through the web server
// (PERISCOPE_SERVER: lighttpd or Apache) and periscope.fcgi) next to the same server serving a
// static file of the same size, in the same run, with wrk on loopback. The ratio is the number to watch; absolute numbers depend on
// the machine. Usage: node bench/api-vs-static.mjs [seconds=10] [connections=16]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { startStack } from '../tests/lib/stack.mjs';
import { signIn } from '../tests/lib/session.mjs';

const seconds = Number(process.argv[2] || 10);
const connections = Number(process.argv[3] || 16);

// CPU seconds (user + system) so far of a process and its children (Apache's workers are
// its children), from /proc/PID/stat.
function cpuSeconds(pid) {
	let total = 0;
	for (const name of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(name)) continue;
		try {
			const f = fs.readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1].split(' ');
			if (Number(name) === pid || Number(f[1]) === pid) total += (Number(f[11]) + Number(f[12])) / 100;
		} catch {
			// gone meanwhile
		}
	}
	return total;
}

function wrk(url, headers = []) {
	const args = ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency'];
	for (const h of headers) args.push('-H', h);
	const out = execFileSync('wrk', [...args, url], { encoding: 'utf8' });
	const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
	const p99 = /99%\s+([\d.]+\w+)/.exec(out)?.[1];
	const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] || 0);
	return { rps, p99, non2xx };
}

const stack = await startStack();
try {
	const admin = await signIn(stack, 'admin');
	const api = await admin.get('/api/clusters');
	if (api.status !== 200) throw new Error(`/api/clusters answered ${api.status}`);
	// A static file with the same body, in lighttpd's docroot (web/) for this run only.
	const webCopy = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'web', 'bench-clusters.json');
	fs.writeFileSync(webCopy, api.text);
	try {
		const cookie = `cookie: periscope_session=${admin.cookie()}`;
		// The CPU each request costs the web server and periscope.fcgi (a process's whole
		// CPU over the run, divided by the requests): what the ratio is made of.
		const web = stack.process(stack.server === 'apache' ? 'apache' : 'lighttpd')?.child.pid;
		const fcgi = stack.process('periscope-fcgi')?.child.pid;
		const cpu = () => ({ web: web ? cpuSeconds(web) : NaN, fcgi: fcgi ? cpuSeconds(fcgi) : NaN });
		const c0 = cpu();
		const dyn = wrk(`${stack.url}/api/clusters`, [cookie]);
		const c1 = cpu();
		const stat = wrk(`${stack.url}/bench-clusters.json`);
		const c2 = cpu();
		const us = (s, rps) => ((1e6 * s) / (rps * seconds)).toFixed(1);
		console.log(`body size: ${api.text.length} bytes, ${seconds}s per run, ${connections} connections`);
		console.log(`static file via ${stack.server}:`.padEnd(33) + `${stat.rps.toFixed(0)} req/s (p99 ${stat.p99})`);
		console.log(`GET /api/clusters via fcgi:      ${dyn.rps.toFixed(0)} req/s (p99 ${dyn.p99}, non-2xx ${dyn.non2xx})`);
		console.log(`ratio api/static:                ${(dyn.rps / stat.rps).toFixed(3)}`);
		console.log(`CPU per request: static, web server ${us(c2.web - c1.web, stat.rps)} us; API, web server ${us(c1.web - c0.web, dyn.rps)} us + periscope.fcgi ${us(c1.fcgi - c0.fcgi, dyn.rps)} us`);
		// The machine may be shared: CPU per request is what to compare, at this load.
		console.log(`load average:                    ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`);
	} finally {
		fs.rmSync(webCopy, { force: true });
	}
} finally {
	await stack.stop();
}
