// A bridge's memory through bulk output: one periscope-wsbridge started as websocketd starts
// it (bench/bridge.mjs), idle at the prompt, then streaming `sizes` MB one after the other
// (`head -c | base64` straight to the terminal). After each stream it prints the resident
// set (RSS), the private pages (Private_Clean + Private_Dirty of /proc/PID/smaps_rollup),
// the anonymous pages, and what one more session costs: the anonymous pages of the bridge
// and of the node shell's guardian (bench/procmem.mjs sessionAnon); during it the peak RSS and peak
// anonymous memory (VmHWM is reset before each stream through /proc/PID/clear_refs; the
// anonymous peak is sampled from /proc/PID/status every few ms). Then where the pages are:
// the shared libraries' file pages (text and read-only data, shared with every other
// process that maps the same library), the pages they wrote (relocations, .data, .bss), the
// heap, other anonymous mappings (malloc's mmaps, the SSM arena), the stack.
//
//   node bench/memory.mjs [node|cluster|both] [sizes=4,20,100]
// MEMORY_TOOL=heaptrack MEMORY_OUT=FILE runs the bridge under heaptrack (the heap's peak by
// caller: heaptrack_print FILE.zst); the figures printed then include heaptrack's own.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { startStack } from '../tests/lib/stack.mjs';
import { signIn } from '../tests/lib/session.mjs';
import { BRIDGE, runBridge, shellPath } from './bridge.mjs';
import { byPlace, fields, guardianOf, rollup, sessionAnon } from './procmem.mjs';

const which = process.argv[2] || 'both';
const sizes = (process.argv[3] || '4,20,100').split(',').map(Number);
const kinds = which === 'both' ? ['cluster', 'node'] : [which];
const PROMPT = /[$#] $/;

function printPlaces(pid, label) {
	const { places, libs } = byPlace(pid);
	console.log(`  where (${label}), KiB: RSS / private / anonymous`);
	for (const [p, e] of [...places].sort((a, b) => b[1].rss - a[1].rss))
		console.log(`    ${p}: ${e.rss} / ${e.private} / ${e.anon}`);
	const top = [...libs].sort((a, b) => b[1].rss - a[1].rss);
	console.log(`    by library (RSS/anonymous): ${top.map(([n, e]) => `${n} ${e.rss}/${e.anon}`).join(', ')}`);
}

// The bridge's pid: the child itself, or under a tool that does not exec it (heaptrack's
// script), its descendant running BRIDGE.
function bridgeIn(pid) {
	if (fs.readlinkSync(`/proc/${pid}/exe`) === BRIDGE) return pid;
	for (const task of fs.readdirSync(`/proc/${pid}/task`))
		for (const child of fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) {
			const found = bridgeIn(Number(child));
			if (found) return found;
		}
	return 0;
}

async function run(stack, cookie, kind) {
	let screen = '', step = 0, pid = 0, sampler = null, peakAnon = 0, closing = null;
	const closePeak = { anon: 0, file: 0 };
	const pending = [...sizes];
	const tool = process.env.MEMORY_TOOL || 'maxrss';
	const out = process.env.MEMORY_OUT || path.join(os.tmpdir(), `periscope-bench-maxrss-${process.pid}`);
	const status = () => fields(`/proc/${pid}/status`, ['VmRSS', 'VmHWM', 'RssAnon', 'RssFile']);
	const line = (what, extra = '') => {
		const r = rollup(pid);
		const sa = sessionAnon(pid);
		console.log(`${kind} ${what}: RSS ${r.rss} KiB, private ${r.private} KiB, anonymous ${r.anon} KiB; ` +
			`the session's anonymous memory ${sa.total} KiB (bridge ${sa.bridge}${sa.guardianPid ? `, guardian ${sa.guardian}` : ', no guardian'})${extra}`);
	};
	const next = (send) => {
		if (!pending.length) {
			// The close writes the audit row with the transcript: its peak, sampled until exit.
			closing = setInterval(() => {
				try {
					const st = status();
					closePeak.anon = Math.max(closePeak.anon, st.RssAnon);
					closePeak.file = Math.max(closePeak.file, st.RssFile);
				} catch { clearInterval(closing); }
			}, 2);
			send({ type: 'close' });
			return;
		}
		step = pending.shift();
		fs.writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
		peakAnon = 0;
		sampler = setInterval(() => { peakAnon = Math.max(peakAnon, status().RssAnon); }, 5);
		screen = '';
		send({ type: 'stdin', data: Buffer.from(`head -c ${step * 750000} /dev/zero | base64 -w 100; echo DO""NE${step}\r`).toString('base64') });
	};
	await runBridge({
		stack, cookie, shell: shellPath(kind), tool, out,
		onSpawn(child) { pid = child.pid; },
		onFrame(f, send) {
			if (f.type !== 'stdout') return;
			screen = (screen + Buffer.from(f.data, 'base64').toString('latin1')).slice(-200);
			if (step === 0 && PROMPT.test(screen)) {
				step = -1;
				pid = bridgeIn(pid);
				line('idle at the prompt');
				printPlaces(pid, 'idle');
				next(send);
			} else if (step > 0 && new RegExp(`^DONE${step}\\r?$`, 'm').test(screen)) {
				const was = step;
				step = -1;
				clearInterval(sampler);
				const s = status();
				peakAnon = Math.max(peakAnon, s.RssAnon);
				// The output's last frames are out: measured idle, once the recording's flush on
				// time (RECORDING_FLUSH_MS, 1 s) has given back what the burst grew.
				setTimeout(() => {
					line(`after ${was} MB`, `; during it: peak RSS ${s.VmHWM} KiB, peak anonymous ${peakAnon} KiB`);
					if (!pending.length) {
						printPlaces(pid, `after ${was} MB`);
						const guardian = guardianOf(pid);
						if (guardian) printPlaces(guardian, `the guardian after ${was} MB`);
					}
					next(send);
				}, 1500);
			}
		},
	});
	clearInterval(closing);
	console.log(`${kind} during the close (sampled every 2 ms): peak anonymous ${closePeak.anon} KiB, peak file pages ${closePeak.file} KiB`);
	if (tool === 'maxrss') {
		console.log(`${kind} peak RSS from the start of the last stream through the close (the transcript's audit row): ${fs.readFileSync(out, 'utf8').trim()} KiB`);
		fs.rmSync(out);
	}
}

const stack = await startStack({ apiserver: { readyDelayMs: 0 } });
try {
	const admin = await signIn(stack, 'admin');
	for (const kind of kinds) await run(stack, `periscope_session=${admin.cookie()}`, kind);
} finally {
	await stack.stop();
}
