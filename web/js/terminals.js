// The terminal dock: several sessions as tabs, each an xterm.js terminal driven by a
// ShellSession. The dock sits under the page and stays open while the user browses. It
// takes the room when a session is in use and gives it back when not: a splitter the user
// drags (its size kept in localStorage), collapsed to its tab strip when no session is live
// and the user moves on to another page, and a full-window mode.
import { FitAddon } from '../dist/addon-fit.mjs';
import { Terminal } from '../dist/xterm.mjs';

import { diagnoseShell, shellPath } from './api.js';
import { clear, formatDuration, h } from './dom.js';
import { describeClosed, describeError, describeWatchers } from './errors.js';
import { ShellSession } from './shell-session.js';

export const MAX_OPEN_SESSIONS = 5;
// The countdown to the maximum-duration cut shows this long before it (or from the start
// of a shorter session), like the idle warning.
export const MAX_DURATION_WARN_SECONDS = 300;

// The dock's share of the window under the header, remembered across visits.
const DOCK_SIZE_KEY = 'periscope.dockFraction';
const DOCK_DEFAULT_FRACTION = 0.62;
const DOCK_MIN_PX = 150; // the tab strip, the toolbar and a few rows
const PAGE_MIN_PX = 90; // the page keeps at least a heading's worth
const SPLITTER_STEP_PX = 32;

function savedFraction() {
	try {
		const f = Number(localStorage.getItem(DOCK_SIZE_KEY));
		return f > 0 && f < 1 ? f : DOCK_DEFAULT_FRACTION;
	} catch {
		return DOCK_DEFAULT_FRACTION; // storage refused (private mode): the default
	}
}

export const TERMINAL_THEME = {
	background: '#16191d',
	foreground: '#d9dee4',
	cursor: '#e6c07b',
	selectionBackground: '#3d5a80',
	black: '#16191d', brightBlack: '#5c6370',
	red: '#e06c75', brightRed: '#ef8a92',
	green: '#98c379', brightGreen: '#b5d99c',
	yellow: '#e5c07b', brightYellow: '#f0d49b',
	blue: '#61afef', brightBlue: '#8cc5f5',
	magenta: '#c678dd', brightMagenta: '#d9a0ea',
	cyan: '#56b6c2', brightCyan: '#7fd0da',
	white: '#d9dee4', brightWhite: '#ffffff',
};

export const TERMINAL_FONT = 'ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace';

const DIM = '\x1b[2m';
const YELLOW = '\x1b[33m';
const RESET = '\x1b[0m';

function wsUrl(path) {
	const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
	return `${proto}//${location.host}${path}`;
}

export class TerminalDock {
	constructor(root) {
		this.root = root;
		this.tabs = [];
		this.active = null;
		this.nextId = 1;
		this.tablist = h('div', { class: 'tablist', role: 'tablist', 'aria-label': 'Terminal sessions', onkeydown: (e) => this.onTabKey(e) });
		this.tablist.addEventListener('wheel', (e) => this.onTabWheel(e), { passive: false });
		this.collapseButton = h('button', { type: 'button', class: 'ghost', 'aria-expanded': 'true', 'aria-controls': 'dock-panels', title: 'Give the page the room; the sessions stay open', onclick: () => this.setCollapsed(!this.collapsed) }, 'Hide');
		this.maxButton = h('button', { type: 'button', class: 'ghost', 'aria-pressed': 'false', title: 'Give the terminals the whole window', onclick: () => this.toggleMaximized() }, 'Full window');
		this.panels = h('div', { class: 'dock-panels', id: 'dock-panels' });
		clear(root,
			h('div', { class: 'dock-bar' }, h('h2', { class: 'dock-title' }, 'Terminals'), this.tablist, h('div', { class: 'dock-buttons' }, this.collapseButton, this.maxButton)),
			this.panels);
		root.hidden = true;
		this.collapsed = false;
		this.fraction = savedFraction();
		this.splitter = document.getElementById('splitter');
		this.setupSplitter();
		window.addEventListener('resize', () => this.applyHeight());
		this.tablistObserver = new ResizeObserver(() => this.revealActiveTab());
		this.tablistObserver.observe(this.tablist);
		this.ticker = setInterval(() => this.tick(), 1000);
		window.addEventListener('pagehide', () => this.closeAll());
	}

	liveCount() {
		return this.tabs.filter((t) => t.session.state !== 'closed' && t.session.state !== 'error').length;
	}

	// Opens a session in a new tab. target: { cluster, node? }. Returns an error string
	// when the page's own cap is reached.
	open(target) {
		if (this.liveCount() >= MAX_OPEN_SESSIONS) {
			return `You have ${MAX_OPEN_SESSIONS} sessions open in this window. Close one to open another.`;
		}
		const tab = this.createTab(target);
		this.tabs.push(tab);
		this.root.hidden = false;
		this.splitter.hidden = false;
		document.body.classList.add('has-dock');
		this.setCollapsed(false);
		this.applyHeight();
		this.activate(tab);
		tab.session.connect();
		return null;
	}

	createTab(target) {
		const id = this.nextId++;
		const kind = target.node ? 'node' : 'cluster';
		const title = kind === 'node' ? `Node shell · ${target.node}` : `Cluster shell · ${target.cluster}`;
		const tab = { id, kind, target, title };

		tab.pill = h('span', { class: 'pill pill-connecting' }, 'Connecting');
		tab.tabButton = h('button', {
			type: 'button', role: 'tab', id: `term-tab-${id}`, 'aria-controls': `term-panel-${id}`,
			'aria-selected': 'false', tabindex: '-1', class: 'tab', title,
			onclick: () => this.activate(tab),
		}, h('span', { class: 'tab-title' }, h('span', { class: 'tab-kind' }, kind === 'node' ? 'Node shell · ' : 'Cluster shell · '), target.node || target.cluster), tab.pill);
		tab.closeButton = h('button', {
			type: 'button', class: 'tab-close', 'aria-label': `Close ${title}`, title: 'Close this session',
			onclick: () => this.close(tab),
		}, '×');
		tab.tabEl = h('div', { class: 'tab-wrap', role: 'presentation' }, tab.tabButton, tab.closeButton);

		tab.status = h('span', { class: 'term-status' });
		tab.idleInfo = h('span', { class: 'term-idle' });
		tab.maxInfo = h('span', { class: 'term-max' });
		tab.watchInfo = h('span', { class: 'term-watched', role: 'status', hidden: true });
		tab.reconnectButton = h('button', { type: 'button', hidden: true, onclick: () => this.restart(tab) }, 'Open a new session');
		tab.banner = h('div', { class: 'term-banner', role: 'status', 'aria-live': 'polite' });
		tab.alert = h('div', { class: 'term-alert', role: 'alert' });
		tab.host = h('div', { class: 'term-host', 'data-kind': kind });
		const subtitle = kind === 'node' ? `cluster ${target.cluster}` : 'kubectl and helm as you';
		tab.panel = h('section', {
			class: 'term-panel', role: 'tabpanel', id: `term-panel-${id}`, 'aria-labelledby': `term-tab-${id}`, hidden: true,
			dataset: { kind, cluster: target.cluster, node: target.node || '' },
		},
		h('div', { class: 'term-toolbar' },
			h('div', { class: 'term-heading' }, h('strong', {}, title), h('span', { class: 'muted' }, subtitle)),
			h('div', { class: 'term-meta' }, tab.status, tab.idleInfo, tab.maxInfo, tab.watchInfo),
			h('div', { class: 'term-actions' },
				h('button', { type: 'button', class: 'ghost', title: 'Copy the selected text (Ctrl+Shift+C)', onclick: () => this.copy(tab) }, 'Copy'),
				h('button', { type: 'button', class: 'ghost', title: 'Paste from the clipboard (Ctrl+Shift+V)', onclick: () => this.paste(tab) }, 'Paste'),
				tab.reconnectButton,
				h('button', { type: 'button', class: 'ghost danger', onclick: () => this.close(tab) }, 'Close'))),
		tab.alert, tab.banner, tab.host);

		this.tablist.append(tab.tabEl);
		this.panels.append(tab.panel);

		tab.term = new Terminal({
			cursorBlink: true, fontFamily: TERMINAL_FONT, fontSize: 13, lineHeight: 1.15,
			scrollback: 5000, theme: TERMINAL_THEME, allowProposedApi: false,
		});
		tab.fit = new FitAddon();
		tab.term.loadAddon(tab.fit);
		tab.term.open(tab.host);
		tab.term.attachCustomKeyEventHandler((e) => this.onTermKey(tab, e));
		tab.term.onData((d) => tab.session.input(d));
		tab.term.onResize(({ cols, rows }) => tab.session.resize(cols, rows));
		tab.resizeObserver = new ResizeObserver(() => this.scheduleFit(tab));
		tab.resizeObserver.observe(tab.host);

		const path = shellPath(target.cluster, target.node);
		tab.session = new ShellSession({
			url: wsUrl(path),
			diagnose: () => diagnoseShell(path),
			onEvent: (ev) => this.onSessionEvent(tab, ev),
		});
		this.updateStatus(tab);
		return tab;
	}

	scheduleFit(tab) {
		clearTimeout(tab.fitTimer);
		tab.fitTimer = setTimeout(() => this.fit(tab), 60);
	}

	fit(tab) {
		if (tab.panel.hidden || !tab.host.isConnected || tab.host.clientWidth === 0) return;
		try {
			tab.fit.fit();
		} catch {
			return; // not laid out yet; the observer calls again
		}
		tab.session.resize(tab.term.cols, tab.term.rows);
	}

	onTermKey(tab, e) {
		if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey) return true;
		const key = e.key.toLowerCase();
		if (key === 'c') {
			this.copy(tab);
			e.preventDefault();
			return false;
		}
		// Ctrl+Shift+V: the browser's own paste event reaches xterm, which sends the text.
		return true;
	}

	async copy(tab) {
		const text = tab.term.getSelection();
		if (!text) {
			this.note(tab, 'Select text in the terminal first, then copy.');
			return;
		}
		try {
			await navigator.clipboard.writeText(text);
			this.note(tab, 'Copied the selection.');
		} catch {
			this.note(tab, 'The browser did not allow copying; use Ctrl+C in the context menu instead.');
		}
		tab.term.focus();
	}

	async paste(tab) {
		try {
			const text = await navigator.clipboard.readText();
			if (text) tab.term.paste(text);
		} catch {
			this.note(tab, 'The browser did not allow reading the clipboard; press Ctrl+Shift+V in the terminal instead.');
		}
		tab.term.focus();
	}

	note(tab, text) {
		clearTimeout(tab.noteTimer);
		tab.banner.dataset.kind = 'note';
		tab.banner.textContent = text;
		tab.banner.title = text;
		tab.noteTimer = setTimeout(() => {
			if (tab.banner.dataset.kind === 'note') this.setBanner(tab, null);
		}, 4000);
	}

	setBanner(tab, kind, ...content) {
		if (!kind) {
			delete tab.banner.dataset.kind;
			tab.banner.title = '';
			clear(tab.banner);
			return;
		}
		tab.banner.dataset.kind = kind;
		clear(tab.banner, ...content);
		tab.banner.title = tab.banner.textContent;
	}

	onSessionEvent(tab, ev) {
		const { term } = tab;
		switch (ev.type) {
		case 'state':
			if (ev.state !== 'connected') this.showWatchers(tab, 0);
			this.updateStatus(tab);
			break;
		case 'hello':
			tab.reconnectButton.hidden = true;
			clear(tab.alert);
			if (ev.reconnected) {
				term.write(`\r\n${YELLOW}── This is a new session (${ev.hello.sessionId}). The previous shell and anything running in it are gone. ──${RESET}\r\n`);
				this.setBanner(tab, 'info', `Reconnected as a new session. The previous session${ev.previousSessionId ? ` (${ev.previousSessionId})` : ''} ended; its shell, working directory and running commands are gone.`);
			} else {
				this.setBanner(tab, null);
			}
			this.fit(tab);
			if (this.active === tab) term.focus();
			break;
		case 'output':
			term.write(ev.bytes);
			break;
		case 'idle_warn':
		case 'idle_clear':
			this.updateStatus(tab);
			break;
		case 'watched':
			// Said once in the banner, and kept in the status strip while it lasts.
			this.note(tab, describeWatchers(ev.watchers));
			this.showWatchers(tab, ev.watchers);
			break;
		case 'reconnecting':
			if (ev.lostSession) term.write(`\r\n${DIM}── connection lost ──${RESET}\r\n`);
			this.setBanner(tab, 'warn', `Connection lost. Reconnecting (attempt ${ev.attempt} of ${ev.of})… A reconnect starts a new session.`);
			break;
		case 'closed':
			term.write(`\r\n${DIM}── ${describeClosed(ev)} ──${RESET}\r\n`);
			this.setBanner(tab, 'info', `${describeClosed(ev)} Press Open a new session to continue.`);
			tab.reconnectButton.hidden = false;
			break;
		case 'error': {
			const d = describeError(ev);
			// Here the way to try again is the toolbar's button: name it as it reads.
			d.action = d.action.replace(/^(Press )?Try again/, 'Press Open a new session');
			term.write(`\r\n${YELLOW}── ${d.title} (${d.code}) ──${RESET}\r\n`);
			this.setBanner(tab, null);
			const signIn = d.code === 'E_AUTH' || d.code === 'E_REAUTH_REQUIRED';
			clear(tab.alert,
				h('p', { class: 'alert-title' }, d.title, ' ', h('code', {}, d.code)),
				h('p', {}, d.action),
				d.detail && d.detail !== d.title ? h('p', { class: 'muted' }, 'Server said: ', d.detail) : null,
				signIn ? h('p', {}, h('a', { class: 'button', href: `/api/auth/login?returnTo=${encodeURIComponent(location.pathname + location.hash)}` }, 'Sign in again')) : null,
				// The cap's refusal is no dead end: the sessions it counted, each with End.
				d.code === 'E_CAP_USER' ? h('p', {}, h('a', { class: 'button', href: '#/sessions?cap=1', onclick: () => this.setCollapsed(true) }, 'See your open sessions')) : null);
			tab.reconnectButton.hidden = false;
			break;
		}
		case 'warning':
			this.note(tab, `${describeError(ev).title} (${ev.code})`);
			break;
		default:
			break;
		}
	}

	updateStatus(tab) {
		const s = tab.session;
		let text;
		let cls;
		let idle = '';
		let max = '';
		const maxLeft = s.maxDurationSecondsLeft();
		const maxWarning = maxLeft !== null && maxLeft <= MAX_DURATION_WARN_SECONDS;
		switch (s.state) {
		case 'connected': {
			const left = s.idleSecondsLeft();
			const warnAt = Number(s.hello?.idleWarnSeconds) || 30;
			text = `Connected ${formatDuration(s.uptimeSeconds())}`;
			cls = 'pill-connected';
			if (maxLeft !== null) {
				max = `Ends in ${formatDuration(maxLeft)}`;
				if (maxWarning) {
					text = `Ends in ${formatDuration(maxLeft)}`;
					cls = 'pill-idle';
				}
			}
			if (left !== null) {
				idle = `Idle cut in ${formatDuration(left)}`;
				if ((s.idleWarnUntil || left <= warnAt) && (maxLeft === null || left < maxLeft)) {
					text = `Idle · closes in ${formatDuration(left)}`;
					cls = 'pill-idle';
				}
			}
			break;
		}
		case 'reconnecting':
			text = 'Reconnecting';
			cls = 'pill-connecting';
			break;
		case 'closed':
			text = 'Closed';
			cls = 'pill-closed';
			break;
		case 'error':
			text = 'Failed';
			cls = 'pill-error';
			break;
		default:
			text = tab.kind === 'cluster' ? 'Starting pod' : 'Connecting';
			cls = 'pill-connecting';
		}
		tab.pill.textContent = text;
		tab.pill.className = `pill ${cls}`;
		tab.status.textContent = s.state === 'connected' && s.hello ? `Session ${s.hello.sessionId}` : '';
		tab.idleInfo.textContent = idle;
		tab.maxInfo.textContent = max;
		const idleLeft = s.idleSecondsLeft();
		if (s.idleWarnUntil && s.state === 'connected' && (maxLeft === null || idleLeft < maxLeft)) {
			this.setBanner(tab, 'warn', `No activity: this session closes in ${idleLeft} s. Type anything to keep it open.`);
		} else if (maxWarning && s.state === 'connected') {
			const when = maxLeft < 60 ? `${maxLeft} s` : `${formatDuration(maxLeft)} min`;
			this.setBanner(tab, 'warn', `This session reaches its maximum duration and closes in ${when}. Finish or save your work; press Open a new session afterwards to go on.`);
		} else if (tab.banner.dataset.kind === 'warn' && s.state === 'connected') {
			this.setBanner(tab, null);
		}
	}

	tick() {
		for (const tab of this.tabs) this.updateStatus(tab);
	}

	// The operator sees, for as long as it lasts, that an audit admin watches the terminal
	// (the bridge's watched frame, docs/frames.md): in the status strip and on the tab.
	showWatchers(tab, n) {
		const on = n > 0;
		tab.watchInfo.textContent = on ? `Watched live by ${n === 1 ? 'an audit admin' : `${n} audit admins`}` : '';
		tab.watchInfo.title = on ? 'Read-only: they see the output, they cannot type' : '';
		tab.watchInfo.hidden = !on;
		tab.tabEl.classList.toggle('watched', on);
	}

	// focusTerminal: false when the keyboard is moving along the tab strip, which must keep
	// the focus for the next arrow key.
	activate(tab, { focusTerminal = true } = {}) {
		this.active = tab;
		if (this.collapsed) this.setCollapsed(false);
		for (const t of this.tabs) {
			const on = t === tab;
			t.tabButton.setAttribute('aria-selected', String(on));
			t.tabButton.tabIndex = on ? 0 : -1;
			t.tabEl.classList.toggle('active', on);
			t.panel.hidden = !on;
		}
		this.revealActiveTab();
		requestAnimationFrame(() => {
			this.fit(tab);
			if (focusTerminal) tab.term.focus();
		});
	}

	// The active tab stays in view in a strip narrower than its tabs (a 420 px window).
	revealActiveTab() {
		const el = this.active?.tabEl;
		if (!el || !el.isConnected) return;
		const strip = this.tablist;
		const left = el.offsetLeft - strip.offsetLeft;
		const right = left + el.offsetWidth;
		if (left < strip.scrollLeft) strip.scrollLeft = left;
		else if (right > strip.scrollLeft + strip.clientWidth) strip.scrollLeft = right - strip.clientWidth;
	}

	// A mouse wheel over the strip scrolls it sideways: most mice have no horizontal wheel.
	onTabWheel(e) {
		if (this.tablist.scrollWidth <= this.tablist.clientWidth || Math.abs(e.deltaX) > Math.abs(e.deltaY)) return;
		e.preventDefault();
		this.tablist.scrollLeft += e.deltaY;
	}

	onTabKey(e) {
		const i = this.tabs.findIndex((t) => t.tabButton === document.activeElement);
		if (i < 0) return;
		let next = null;
		if (e.key === 'ArrowRight') next = this.tabs[(i + 1) % this.tabs.length];
		else if (e.key === 'ArrowLeft') next = this.tabs[(i - 1 + this.tabs.length) % this.tabs.length];
		else if (e.key === 'Home') next = this.tabs[0];
		else if (e.key === 'End') next = this.tabs[this.tabs.length - 1];
		else if (e.key === 'Delete') {
			e.preventDefault();
			this.close(this.tabs[i]);
			return;
		}
		if (!next) return;
		e.preventDefault();
		this.activate(next, { focusTerminal: false });
		next.tabButton.focus();
	}

	restart(tab) {
		clear(tab.alert);
		this.setBanner(tab, null);
		tab.reconnectButton.hidden = true;
		tab.term.write(`\r\n${DIM}── opening a new session ──${RESET}\r\n`);
		tab.session.restart();
	}

	close(tab) {
		const i = this.tabs.indexOf(tab);
		if (i < 0) return;
		tab.session.close();
		tab.resizeObserver.disconnect();
		clearTimeout(tab.fitTimer);
		clearTimeout(tab.noteTimer);
		tab.term.dispose();
		tab.tabEl.remove();
		tab.panel.remove();
		this.tabs.splice(i, 1);
		if (this.tabs.length === 0) {
			this.active = null;
			this.root.hidden = true;
			this.splitter.hidden = true;
			document.body.classList.remove('has-dock');
			this.setMaximized(false);
			this.setCollapsed(false);
			return;
		}
		if (this.active === tab) {
			const next = this.tabs[Math.min(i, this.tabs.length - 1)];
			this.activate(next);
			next.tabButton.focus();
		}
	}

	closeAll() {
		for (const t of this.tabs) t.session.close();
	}

	toggleMaximized() {
		this.setMaximized(!document.body.classList.contains('dock-max'));
	}

	setMaximized(on) {
		document.body.classList.toggle('dock-max', on);
		this.maxButton.setAttribute('aria-pressed', String(on));
		this.maxButton.textContent = on ? 'Exit full window' : 'Full window';
		this.maxButton.title = on ? 'Show the page and the terminals again' : 'Give the terminals the whole window';
		if (on) this.setCollapsed(false);
		if (this.active) this.scheduleFit(this.active);
	}

	// Collapsed, the dock is its tab strip: the sessions stay open, the page gets the room.
	setCollapsed(on) {
		this.collapsed = on;
		document.body.classList.toggle('dock-collapsed', on);
		this.collapseButton.textContent = on ? 'Show' : 'Hide';
		this.collapseButton.setAttribute('aria-expanded', String(!on));
		this.collapseButton.title = on ? 'Show the terminals again' : 'Give the page the room; the sessions stay open';
		if (on && document.body.classList.contains('dock-max')) this.setMaximized(false);
		if (!on && this.active) this.scheduleFit(this.active);
	}

	// The page changed: with no live session left, the ended ones fold away to their tabs
	// (still there to read and to reopen) and the new page gets the window.
	pageChanged() {
		if (this.tabs.length && this.liveCount() === 0) this.setCollapsed(true);
	}

	// The dock's height: its remembered share of the room under the header, within bounds
	// that leave both the terminal and the page usable.
	heightBounds() {
		const header = document.getElementById('header');
		const room = window.innerHeight - (header && !header.hidden ? header.offsetHeight : 0) - this.splitter.offsetHeight;
		return { room, min: Math.min(DOCK_MIN_PX, room), max: Math.max(Math.min(DOCK_MIN_PX, room), room - PAGE_MIN_PX) };
	}

	applyHeight() {
		const { room, min, max } = this.heightBounds();
		const px = Math.round(Math.min(max, Math.max(min, this.fraction * room)));
		document.documentElement.style.setProperty('--dock-height', `${px}px`);
		this.splitter.setAttribute('aria-valuemin', '0');
		this.splitter.setAttribute('aria-valuemax', '100');
		this.splitter.setAttribute('aria-valuenow', String(Math.round((100 * px) / Math.max(1, room))));
		this.splitter.setAttribute('aria-valuetext', `Terminals ${Math.round((100 * px) / Math.max(1, room))} % of the window`);
	}

	setHeight(px, { save = true } = {}) {
		const { room, min, max } = this.heightBounds();
		const clamped = Math.min(max, Math.max(min, px));
		this.fraction = clamped / Math.max(1, room);
		if (save) {
			try {
				localStorage.setItem(DOCK_SIZE_KEY, this.fraction.toFixed(4));
			} catch {
				// storage refused: the size holds for this page only
			}
		}
		this.applyHeight();
	}

	// The splitter between the page and the dock: drag it, or focus it and use the arrows
	// (Home: the most room for the terminals, End: the least).
	setupSplitter() {
		const sp = this.splitter;
		sp.hidden = true;
		sp.addEventListener('pointerdown', (e) => {
			if (e.button !== 0) return;
			e.preventDefault();
			sp.setPointerCapture(e.pointerId);
			sp.classList.add('dragging');
			const startY = e.clientY;
			const startHeight = this.root.offsetHeight;
			const move = (ev) => this.setHeight(startHeight + (startY - ev.clientY), { save: false });
			const up = (ev) => {
				sp.removeEventListener('pointermove', move);
				sp.removeEventListener('pointerup', up);
				sp.removeEventListener('pointercancel', up);
				sp.classList.remove('dragging');
				this.setHeight(startHeight + (startY - ev.clientY));
			};
			sp.addEventListener('pointermove', move);
			sp.addEventListener('pointerup', up);
			sp.addEventListener('pointercancel', up);
		});
		sp.addEventListener('keydown', (e) => {
			const now = this.root.offsetHeight;
			const { min, max } = this.heightBounds();
			const next = { ArrowUp: now + SPLITTER_STEP_PX, ArrowDown: now - SPLITTER_STEP_PX, Home: max, End: min }[e.key];
			if (next === undefined) return;
			e.preventDefault();
			this.setHeight(next);
		});
		sp.addEventListener('dblclick', () => this.setHeight(DOCK_DEFAULT_FRACTION * this.heightBounds().room));
	}
}
