// An agent cluster in the web UI (docs/agent.md): its card says whether its agent holds the
// tunnel, and a shell opened while the agent is away is refused in plain words
// (E_CLUSTER_UNREACHABLE, web/js/errors.js), in Chromium against the whole local stack.
import assert from 'node:assert/strict';
import { after, before, describe, it } from '../lib/bounded-test.mjs';

import { EDGE_CLUSTER, startEdge, tunnelStatus } from '../lib/edge.mjs';
import { signIn } from '../lib/session.mjs';
import { startStack, waitFor } from '../lib/stack.mjs';
import {
	chromiumMissing, ensureWebBuilt, launchChromium, openPage, screenshot, signInThroughIdp,
} from './browser.mjs';

const WIDE = { width: 1280, height: 800 };

describe('an agent cluster in the web UI', { skip: chromiumMissing }, () => {
	let stack;
	let edge;
	let browser;
	let admin;
	before(async () => {
		ensureWebBuilt();
		stack = await startStack({ config: { clusters: [{ name: 'local', backend: 'kubeconfig', kubeconfigPath: '@KUBECONFIG@' }, EDGE_CLUSTER] } });
		admin = await signIn(stack, 'admin');
		edge = await startEdge(stack, admin);
		browser = await launchChromium();
	});
	after(async () => {
		if (browser) await browser.close();
		if (edge) await edge.stop();
		if (stack) await stack.stop();
	});

	it('shows the tunnel on the card, and words a shell refused while the agent is away', async () => {
		const context = await browser.newContext({ viewport: WIDE });
		const { page, problems } = await openPage(context, stack.url);
		await signInThroughIdp(page, stack.url, 'admin');
		const card = page.locator('.cluster[data-cluster="edge"]');
		await card.getByText(/^connected since \d+ s ago$/).waitFor();
		await screenshot(page, 'clusters-agent');

		await edge.agent.stop();
		await waitFor('edge\'s tunnel to be marked down', async () => (await tunnelStatus(admin))?.connected === false, { timeoutMs: 30000 });
		await page.reload();
		await card.getByText(/^not connected \(last seen \d+ s ago\)$/).waitFor();
		await card.getByRole('button', { name: 'Open a cluster shell on edge' }).click();
		await page.getByText('This cluster is reached through its agent, which is not connected right now.').first().waitFor();
		assert.equal(await page.getByText('"code"').count(), 0, 'no raw JSON');
		await screenshot(page, 'agent-unreachable');
		// The browser reports the refused WebSocket handshake (503) itself.
		assert.deepEqual(problems.filter((p) => !/503|WebSocket/.test(p)), []);
		await context.close();
	});
});
