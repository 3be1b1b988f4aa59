// The cluster card's words for an agent cluster's tunnel (web/js/tunnel.js).
import assert from 'node:assert/strict';
import { describe, it } from '../lib/bounded-test.mjs';

import { describeTunnel } from '../../web/js/tunnel.js';

describe('an agent cluster\'s tunnel in words', () => {
	const now = 1796595200;
	it('says since when it is connected', () => {
		assert.deepEqual(describeTunnel({ status: 'connected', connected: true, connectedSince: now - 30, lastSeen: now - 5 }, now),
			{ ok: true, text: 'connected since 30 s ago' });
		assert.deepEqual(describeTunnel({ status: 'connected', connected: true, connectedSince: now - 7200, lastSeen: now }, now),
			{ ok: true, text: 'connected since 2 h ago' });
	});
	it('says when it was last seen once it is down, and when none registered', () => {
		assert.deepEqual(describeTunnel({ status: 'disconnected', connected: false, lastSeen: now - 600 }, now),
			{ ok: false, text: 'not connected (last seen 10 min ago)' });
		assert.deepEqual(describeTunnel({ status: 'unregistered', connected: false }, now),
			{ ok: false, text: 'no agent registered yet' });
		assert.equal(describeTunnel(undefined, now), null);
	});
});
