import * as fs from 'node:fs';

// This process's descendants (the stack's programs, the fakes' pty hosts and shells, the
// client) and itself (the fakes run in its thread): pid -> program name.
export function processTree() {
	const procs = new Map();
	for (const name of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(name)) continue;
		try {
			const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
			procs.set(Number(name), { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) });
		} catch {
			// gone meanwhile
		}
	}
	const mine = new Map();
	for (const [pid, p] of procs) {
		for (let q = pid, hops = 0; q > 1 && hops < 64; q = procs.get(q)?.ppid ?? 0, hops++) {
			if (q === process.pid) {
				mine.set(pid, p.comm);
				break;
			}
		}
	}
	return mine;
}
