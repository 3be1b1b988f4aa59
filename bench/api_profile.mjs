// Instructions periscope.fcgi spends on one signed-in GET /api/clusters: a second
// periscope.fcgi of the local stack (same configuration and database) runs under callgrind
// twice, answering `few` then `many` requests sent by cgi-fcgi over its socket; the
// difference of the two counts over the difference of the requests is one request, start-up
// and shutdown taken out. Prints the top of the profile of the larger run.
// Usage: node bench/api_profile.mjs [few=2] [many=22] [route=/api/clusters]
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { BUILD_DIR, startStack, waitFor } from '../tests/lib/stack.mjs';
import { signIn } from '../tests/lib/session.mjs';

const few = Number(process.argv[2] || 2);
const many = Number(process.argv[3] || 22);
const route = process.argv[4] || '/api/clusters';

async function profiled(stack, cookie, n, out) {
	const sock = path.join(stack.runDir, `profiled-${n}.sock`);
	const child = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, path.join(BUILD_DIR, 'fcgi/periscope.fcgi'), '--socket', sock],
		{ env: stack.env, stdio: ['ignore', 'ignore', 'ignore'] });
	const exited = new Promise((resolve) => child.on('exit', resolve));
	await waitFor('the profiled periscope.fcgi socket', () => fs.existsSync(sock), { timeoutMs: 60000 });
	let status = '';
	for (let i = 0; i < n; i++) {
		const res = execFileSync('cgi-fcgi', ['-bind', '-connect', sock], {
			env: { REQUEST_METHOD: 'GET', REQUEST_URI: route, SCRIPT_NAME: route, QUERY_STRING: '', SERVER_NAME: '127.0.0.1',
				SERVER_PORT: '80', SERVER_PROTOCOL: 'HTTP/1.1', REMOTE_ADDR: '127.0.0.1', HTTP_COOKIE: cookie, HTTP_HOST: new URL(stack.url).host },
			encoding: 'latin1' });
		status = /^Status: (\d+)/m.exec(res)?.[1] ?? '200';
	}
	child.kill('SIGTERM');
	await exited;
	const annotate = execFileSync('callgrind_annotate', [out], { encoding: 'utf8', maxBuffer: 64 << 20 });
	return { total: Number(/([\d,]+)(?: \(100\.0%\))?\s+PROGRAM TOTALS/.exec(annotate)[1].replaceAll(',', '')), status };
}

const stack = await startStack();
try {
	const admin = await signIn(stack, 'admin');
	const cookie = `periscope_session=${admin.cookie()}`;
	const a = await profiled(stack, cookie, few, path.join(stack.runDir, 'callgrind.few'));
	const b = await profiled(stack, cookie, many, path.join(stack.runDir, 'callgrind.many'));
	console.log(`GET ${route} (status ${b.status}) under callgrind: ${few} requests in ${a.total} instructions, ${many} in ${b.total}`);
	console.log(`instructions per request: ${((b.total - a.total) / (many - few)).toFixed(0)}`);
	const annotate = execFileSync('callgrind_annotate', ['--inclusive=yes', path.join(stack.runDir, 'callgrind.many')], { encoding: 'utf8', maxBuffer: 64 << 20 });
	console.log(annotate.split('\n').filter((l) => /^\s*[\d,]+ \(/.test(l)).slice(0, 40).join('\n'));
	if (process.env.API_PROFILE_KEEP) {
		for (const f of ['few', 'many']) fs.copyFileSync(path.join(stack.runDir, `callgrind.${f}`), path.join(process.env.API_PROFILE_KEEP, `api.callgrind.${f}`));
	}
} finally {
	await stack.stop();
}
