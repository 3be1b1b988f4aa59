import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startStack } from './tests/lib/stack.mjs';
import { signIn } from './tests/lib/session.mjs';
const out = process.argv[2];
const stack = await startStack();
try {
	const admin = await signIn(stack, 'admin');
	const api = await admin.get('/api/clusters');
	const webCopy = path.join(process.cwd(), 'web', 'bench-clusters.json');
	fs.writeFileSync(webCopy, api.text);
	try {
		const pid = stack.process('lighttpd').child.pid;
		const fpid = stack.process('periscope-fcgi').child.pid;
		for (const [name, url, hdr] of [['api', `${stack.url}/api/clusters`, [`-H`, `cookie: periscope_session=${admin.cookie()}`]], ['static', `${stack.url}/bench-clusters.json`, []]]) {
			const perf = spawn('perf', ['record', '-g', '-o', `${out}/perf-${name}.data`, '-p', `${pid}`], { stdio: 'ignore' });
			const strace = spawn('strace', ['-c', '-f', '-o', `${out}/strace-${name}.txt`, '-p', `${pid}`], { stdio: 'ignore' });
			await new Promise((r) => setTimeout(r, 1000));
			const w = execFileSync('wrk', ['-t2', '-c16', '-d4s', ...hdr, url], { encoding: 'utf8' });
			perf.kill('SIGINT'); strace.kill('SIGINT');
			await Promise.all([new Promise((r) => perf.on('exit', r)), new Promise((r) => strace.on('exit', r))]);
			console.log(name, /(\d+) requests in/.exec(w)[1], 'requests');
		}
		if (process.argv[3]) {
			const strace = spawn('strace', ['-c', '-f', '-o', `${out}/strace-fcgi.txt`, '-p', `${fpid}`], { stdio: 'ignore' });
			await new Promise((r) => setTimeout(r, 1000));
			const w = execFileSync('wrk', ['-t2', '-c16', '-d4s', '-H', `cookie: periscope_session=${admin.cookie()}`, `${stack.url}/api/clusters`], { encoding: 'utf8' });
			strace.kill('SIGINT'); await new Promise((r) => strace.on('exit', r));
			console.log('fcgi', /(\d+) requests in/.exec(w)[1], 'requests');
		}
	} finally { fs.rmSync(webCopy, { force: true }); }
} finally { await stack.stop(); }
