// A session recording played back in the page: the asciinema-player (vendored by
// web/build.sh, like xterm.js) showing the asciicast v2 file of GET
// /api/sessions/{id}/recording, under a toolbar of real controls: Play/Pause, a position
// slider (seek), the time, the speed and the idle-time limit (long pauses shortened to it),
// and Download. The player's own control bar is off: these controls are buttons and inputs
// that keyboards and screen readers reach like the rest of the page.
import { create } from '../dist/asciinema-player/index.js';

import { ApiError } from './api.js';
import { clear, formatDuration, h } from './dom.js';
import { TERMINAL_FONT } from './terminals.js';
import { errorNotice } from './ui.js';

export const SPEEDS = [0.5, 1, 2, 4, 8];
// Seconds; 0 plays the pauses as they were.
export const IDLE_LIMITS = [[0, 'Off'], [1, '1 s'], [2, '2 s'], [5, '5 s']];
const DEFAULT_IDLE_LIMIT = 2;
const TICK_MS = 250;

// ctx: the page's (its disposers end the player with the page). url: the .cast. Returns the
// section to put in the page.
export function recordingPlayer(ctx, url, { label = 'Session recording' } = {}) {
	const host = h('div', { class: 'player-host', role: 'region', 'aria-label': `${label} (playback)` });
	const playButton = h('button', { type: 'button', class: 'primary player-play', disabled: true }, 'Play');
	const position = h('input', { type: 'range', class: 'player-position', min: '0', max: '0', step: 'any', value: '0', 'aria-label': 'Position in the recording', disabled: true });
	const time = h('span', { class: 'player-time', 'aria-live': 'off' }, '');
	const speedSelect = h('select', { class: 'player-speed', 'aria-label': 'Speed' },
		SPEEDS.map((s) => h('option', { value: String(s), selected: s === 1 }, `${s}×`)));
	const idleSelect = h('select', { class: 'player-idle', 'aria-label': 'Idle-time limit', title: 'Pauses longer than this are shortened to it' },
		IDLE_LIMITS.map(([v, text]) => h('option', { value: String(v), selected: v === DEFAULT_IDLE_LIMIT }, text)));
	const status = h('p', { class: 'muted small player-status', role: 'status' }, 'Loading the recording…');
	const toolbar = h('div', { class: 'player-toolbar' },
		playButton, position, time,
		h('label', { class: 'player-choice' }, 'Speed ', speedSelect),
		h('label', { class: 'player-choice' }, 'Skip pauses over ', idleSelect),
		h('a', { class: 'button small', href: url, download: '' }, 'Download'));

	let player = null;
	let cast = null; // the file's text, fetched once for every player made from it
	let playing = false;
	let dragging = false;
	let timer = null;
	let disposed = false;

	const duration = () => Number(player?.getDuration?.()) || 0;
	// Short recordings (idle pauses cut) in tenths of seconds, longer ones in m:ss.
	const clock = (t, total) => (total < 60 ? `${t.toFixed(1)} s` : formatDuration(t));
	const setPlaying = (on) => {
		playing = on;
		playButton.textContent = on ? 'Pause' : 'Play';
		playButton.setAttribute('aria-pressed', String(on));
	};
	const refresh = () => {
		if (!player) return;
		const total = duration();
		const now = Math.min(total, Number(player.getCurrentTime()) || 0);
		if (total > 0) {
			// Exactly the duration: a rounded-down end would leave the last events unplayed.
			position.max = String(total);
			position.disabled = false;
			playButton.disabled = false;
			if (status.textContent === 'Loading the recording…') status.textContent = '';
		}
		if (!dragging) position.value = String(now);
		time.textContent = `${clock(now, total)} / ${clock(total, total)}`;
		position.setAttribute('aria-valuetext', `${clock(now, total)} of ${clock(total, total)}`);
	};

	// The speed and the idle limit are options of the player: a change makes a new one at
	// the same position, playing if it was.
	const make = (startAt = 0, autoPlay = false) => {
		if (player) player.dispose();
		clear(host);
		const idle = Number(idleSelect.value);
		player = create({ data: cast }, host, {
			speed: Number(speedSelect.value),
			idleTimeLimit: idle > 0 ? idle : undefined,
			// At the terminal's own size in the terminal's font, scrolled sideways when the
			// window is narrower: scaled to the width, a 160-column session is unreadable at 420 px.
			startAt, autoPlay, preload: true, controls: false, fit: false,
			terminalFontFamily: TERMINAL_FONT, terminalFontSize: '13px', theme: 'asciinema',
		});
		setPlaying(autoPlay);
		// startAt alone only applies when playing starts: show that moment now.
		if (startAt > 0 && !autoPlay) player.seek(startAt).then(refresh, () => {});
		player.addEventListener('play', () => setPlaying(true));
		player.addEventListener('playing', () => setPlaying(true));
		player.addEventListener('pause', () => setPlaying(false));
		player.addEventListener('ended', () => {
			setPlaying(false);
			refresh();
		});
	};
	const remake = () => make(Number(player?.getCurrentTime()) || 0, playing);

	playButton.addEventListener('click', () => {
		if (!player) return;
		if (playing) player.pause();
		else {
			// Played to the end: Play starts again from the beginning.
			if (duration() && Number(player.getCurrentTime()) >= duration() - 0.05) player.seek(0);
			player.play();
		}
	});
	position.addEventListener('input', () => {
		dragging = true;
		time.textContent = `${clock(Number(position.value), duration())} / ${clock(duration(), duration())}`;
	});
	position.addEventListener('change', async () => {
		dragging = false;
		if (player) await player.seek(Number(position.value));
		refresh();
	});
	speedSelect.addEventListener('change', remake);
	idleSelect.addEventListener('change', remake);

	// Fetched here rather than by the player, so a refusal reads as the server's error in
	// the page's words instead of a player that never starts.
	const load = async () => {
		let res;
		try {
			res = await fetch(url, { credentials: 'same-origin' });
		} catch (e) {
			throw new ApiError(0, { code: 'E_NETWORK', message: String(e.message || e) });
		}
		if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => undefined));
		return res.text();
	};
	load().then((text) => {
		if (disposed) return; // the user left the page meanwhile
		cast = text;
		make();
		timer = setInterval(refresh, TICK_MS);
	}, (e) => {
		if (disposed) return;
		toolbar.hidden = true;
		clear(status);
		status.replaceWith(errorNotice(e, {
			compact: true,
			retry: null,
			words: { E_NOT_FOUND: ['The recording of this session is not there (removed with old audit rows, or never written).', 'The audit rows above still say what happened.'] },
		}));
	});
	ctx.disposers.push(() => {
		disposed = true;
		clearInterval(timer);
		player?.dispose();
		player = null;
	});
	return h('div', { class: 'player' }, toolbar, status, host);
}
