// A bridge's memory as /proc shows it: the shared helpers of bench/memory.mjs and
// bench/shells.mjs. Figures in KiB.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { BRIDGE } from './bridge.mjs';

export function fields(file, names) {
	const text = fs.readFileSync(file, 'utf8');
	return Object.fromEntries(names.map((n) => [n, Number(new RegExp(`^${n}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0)]));
}

// smaps_rollup: RSS, PSS, private (Private_Clean + Private_Dirty: pages no other process
// maps at this moment, so a library's clean pages count as private while no other process
// has them) and anonymous pages (the heap, mmaps, the libraries' written pages).
export function rollup(pid) {
	const r = fields(`/proc/${pid}/smaps_rollup`, ['Rss', 'Pss', 'Pss_Anon', 'Private_Clean', 'Private_Dirty', 'Anonymous']);
	return { rss: r.Rss, pss: r.Pss, pssAnon: r.Pss_Anon, private: r.Private_Clean + r.Private_Dirty, anon: r.Anonymous };
}

function pipesOf(pid) {
	const pipes = new Set();
	for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
		try {
			const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
			if (target.startsWith('pipe:')) pipes.add(target);
		} catch { /* closed meanwhile */ }
	}
	return pipes;
}

// A node-shell bridge's guardian (lib/aws/ssm_guardian.c): a process forked from the bridge
// (so it shares the bridge's pages until either writes them), reparented away, waiting on a
// pipe whose other end the bridge holds. 0 when there is none.
export function guardianOf(bridgePid) {
	const mine = pipesOf(bridgePid);
	for (const entry of fs.readdirSync('/proc')) {
		const pid = Number(entry);
		if (!pid || pid === bridgePid) continue;
		try {
			if (fs.readlinkSync(`/proc/${pid}/exe`) !== BRIDGE) continue;
			if (fs.readlinkSync(`/proc/${pid}/fd/3`) && mine.has(fs.readlinkSync(`/proc/${pid}/fd/3`))) return pid;
		} catch { /* not ours, or gone */ }
	}
	return 0;
}

// What one more session costs: the anonymous pages of its bridge and of its guardian, each
// counted once (PSS: a page the two share after the fork is split between them). The
// libraries' file pages are left out: every bridge on the machine shares them.
export function sessionAnon(bridgePid) {
	const guardian = guardianOf(bridgePid);
	const bridge = rollup(bridgePid).pssAnon;
	let guard = 0;
	try { guard = guardian ? rollup(guardian).pssAnon : 0; } catch { /* it exited */ }
	return { total: bridge + guard, bridge, guardian: guard, guardianPid: guardian };
}

// KiB by where the pages are, from /proc/PID/smaps, each as RSS / private / anonymous:
// the libraries' file pages (text and read-only data, shared with every process that maps
// the same file), the pages they wrote (relocations, .data, .bss: anonymous), the heap,
// other anonymous mappings (malloc's own mmaps, the SSM arena), the stack; and by library.
export function byPlace(pid) {
	const places = new Map();
	const libs = new Map();
	const add = (map, key, e) => {
		const t = map.get(key) || { rss: 0, private: 0, anon: 0 };
		for (const k of Object.keys(t)) t[k] += e[k];
		map.set(key, t);
	};
	let cur = null;
	const flush = () => {
		if (!cur) return;
		const { place, lib, rss, clean, dirty, anon } = cur;
		if (lib) {
			// A library's pages: its file's (clean unless written) and the ones it wrote.
			add(places, 'libraries: file pages (text, read-only data)', { rss: rss - anon, private: clean, anon: 0 });
			add(places, 'libraries: written pages (relocations, .data, .bss)', { rss: anon, private: dirty, anon });
			add(libs, lib, { rss, private: clean + dirty, anon });
		} else add(places, place, { rss, private: clean + dirty, anon });
	};
	for (const line of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
		const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
		if (head) {
			flush();
			const name = head[1];
			cur = { place: 'other files', lib: null, rss: 0, clean: 0, dirty: 0, anon: 0 };
			if (name === '[heap]') cur.place = 'heap';
			else if (name === '[stack]') cur.place = 'stack';
			else if (name === '') cur.place = 'other anonymous mappings (malloc mmaps, SSM arena)';
			else if (name.startsWith('[')) cur.place = 'kernel ([vdso], [vvar])';
			else if (name === BRIDGE || /\.so(\.|$)/.test(name)) cur.lib = path.basename(name).replace(/\.so.*/, '');
			continue;
		}
		const m = /^(Rss|Private_Clean|Private_Dirty|Anonymous):\s+(\d+)/.exec(line);
		if (!m || !cur) continue;
		cur[{ Rss: 'rss', Private_Clean: 'clean', Private_Dirty: 'dirty', Anonymous: 'anon' }[m[1]]] += Number(m[2]);
	}
	flush();
	return { places, libs };
}
