// Every error code the server (or this client) can produce, in plain words: what happened
// and what to do about it. The raw code is still shown next to it, for support.

const CODES = {
	E_AUTH: ['You are not signed in, or your session has expired.', 'Sign in again.'],
	E_REAUTH_REQUIRED: ['Your sign-in is too old to obtain fresh AWS credentials.', 'Sign out and sign in again, then retry.'],
	E_LOGIN_EXPIRED: ['The sign-in attempt expired or did not match this browser.', 'Start the sign-in again.'],
	E_LOGIN_REFUSED: ['The identity provider refused the sign-in.', 'Check your account with your identity provider administrator.'],
	E_IDP_UNAVAILABLE: ['The identity provider cannot be reached.', 'Try again in a moment.'],
	E_FORBIDDEN: ['Your tier is not allowed to do this.', 'Ask an administrator to give your group a tier that is allowed.'],
	E_NOT_FOUND: ['That cluster or node does not exist (any more).', 'Reload the list and pick another one.'],
	E_NO_RECORDING: ['This session has no recording (recording was off, or it could not be written).', 'The session\'s audit rows still say what happened.'],
	E_METHOD_NOT_ALLOWED: ['The server does not accept this kind of request here.', 'Reload the page; if it persists, report it.'],
	E_INVALID_REQUEST: ['The server could not understand the request.', 'Reload the page and try again; check any filters you typed.'],
	E_NOT_IMPLEMENTED: ['This shell mode is not available on this server.', 'Open the shell in its default mode.'],
	E_UPGRADE_REQUIRED: ['This address only opens as a terminal.', 'Use the Cluster shell button of the Clusters page, or a Node shell button of a cluster\'s Nodes page.'],
	E_ORIGIN: ['The request came from a page the server does not trust (another site, or another address of this one).', 'Open periscope from its own address and try again.'],
	E_CAP_USER: ['You already have as many sessions of this kind open as you may.', 'End one of these on the Sessions page (or close one of your tabs), then press Open a new session.'],
	E_CAP_CLUSTER: ['This cluster has as many open sessions as it allows.', 'Try again shortly, when someone has closed theirs.'],
	E_CLUSTER_SHELL_DISABLED: ['The cluster shell is turned off for this cluster.', 'Ask an administrator to enable clusterShell for it.'],
	E_NODE_SHELL_DISABLED: ['The node shell is turned off for this cluster.', 'Ask an administrator to enable nodeShell for it.'],
	E_CLUSTER_SHELL_REQUIRES_TIER: ['The cluster shell needs tier-based authorization, which this server does not use.', 'Ask an administrator to set auth.authorization.mode to tier.'],
	E_NODE_SHELL_REQUIRES_TIER: ['The node shell needs tier-based authorization, which this server does not use.', 'Ask an administrator to set auth.authorization.mode to tier.'],
	E_CLUSTER_SHELL_UNSUPPORTED: ['This cluster\'s backend cannot run a cluster shell.', 'Use another cluster, or ask an administrator.'],
	E_CLUSTER_SHELL_NO_CA: ['The server has no certificate authority for this cluster, so the shell cannot trust it.', 'Ask an administrator to fix the cluster\'s configuration.'],
	E_SHELL_POD_FAILED: ['The shell pod did not start.', 'Try again; if it keeps failing, an administrator should check the pod\'s events (image pull, scheduling).'],
	E_UPSTREAM: ['The cluster or AWS could not be reached, or refused the stream.', 'Try again in a moment.'],
	E_CLUSTER_UNREACHABLE: ['This cluster is reached through its agent, which is not connected right now.', 'Try again in a moment; if it lasts, ask an administrator to check the periscope-agent in that cluster.'],
	E_AGENT_UNAUTHORIZED: ['periscope refused this agent registration.', 'Mint a new registration token for the cluster (its tokens are single-use) and register again; the audit log says why.'],
	E_AGENT_BUSY: ['This cluster\'s agent carries as many streams as it may right now.', 'Try again shortly, when other sessions on this cluster have closed.'],
	E_OUTPUT_OVERFLOW: ['The browser did not keep up with the terminal\'s output, so the session was cut.', 'Open a new session and avoid printing huge outputs (pipe them through head or less).'],
	E_BAD_FRAME: ['The server did not understand a message from this page.', 'Reload the page if the terminal misbehaves.'],
	E_FRAME_TOO_LARGE: ['A paste was too large to send in one go.', 'Paste smaller pieces.'],
	E_SESSION_LOST: ['The terminal\'s server process ended without closing the session (a crash or a restart); the audit log closed it for it.', 'Open a new session.'],
	E_NODE_SHELL_KMS_FAILED: ['The node\'s session needs KMS encryption and the key exchange failed (KMS refused the data key, or the agent refused the answer).', 'Ask an administrator to check kms:GenerateDataKey for your role and the Session Manager KMS key.'],
	E_BINARY_FRAME: ['The terminal received a binary message, which it does not accept; it was ignored.', 'Reload the page if the terminal misbehaves.'],
	E_INTERNAL: ['The server failed to answer this request (an internal error).', 'Press Try again; if it persists, report it with the time it happened.'],
	E_UNAVAILABLE: ['periscope is not answering right now: the server is starting, restarting or overloaded.', 'Press Try again in a moment.'],
	E_NODE_NOT_EC2: ['This node is not an EC2 instance, so it has no SSM agent to connect to.', 'Pick a node that runs on EC2.'],
	E_NODE_SHELL_NO_REGION: ['The server does not know this node\'s AWS region.', 'Ask an administrator to set nodeShell.region or the cluster\'s region.'],
	E_NODE_SHELL_NO_ROLE: ['No AWS role is configured for node shells.', 'Ask an administrator to set nodeShell.awsRoleArn.'],
	E_NODE_SHELL_AUD_MISMATCH: ['Your sign-in token was issued for another audience than AWS expects.', 'Ask an administrator to set nodeShell.oidcAudience to the OIDC client id.'],
	E_NODE_SHELL_TRUST_DENIED: ['AWS refused to let you assume the node-shell role.', 'Ask an administrator to check the role\'s trust policy (issuer, aud, sub).'],
	E_NODE_SHELL_PREFLIGHT: ['AWS Systems Manager did not answer the check.', 'Try again in a moment.'],
	E_NODE_SHELL_START_FAILED: ['AWS Systems Manager could not start the session.', 'Try again; if it persists, check the node\'s SSM agent and your role\'s permissions.'],
	E_NODE_SHELL_TARGET_NOT_CONNECTED: ['The SSM agent on this node is not connected.', 'Wait for the agent to come back online, or pick another node.'],
	E_NODE_SHELL_HANDSHAKE_FAILED: ['The SSM agent on the node did not complete the session handshake.', 'Try again; the agent may be restarting.'],
	E_NODE_SHELL_STALLED: ['The connection to the node stopped delivering data.', 'Open a new session.'],
	E_NODE_SHELL_KMS_UNSUPPORTED: ['The SSM session requires KMS encryption, which periscope does not support.', 'Ask an administrator to use a session document without KMS.'],
	E_NODE_SHELL_INTERNAL: ['The node session failed inside periscope.', 'Try again; if it persists, report it.'],
	E_AGENT_UNAUTHORIZED: ['A cluster agent\'s registration was refused: its token or cluster did not check out.', 'Check the agent\'s token and cluster name against the server\'s configuration.'],
	E_AWS_API: ['AWS answered with an error.', 'Try again; if it persists, an administrator should check the permissions.'],
	E_AWS_FORBIDDEN: ['AWS denied the request.', 'Ask an administrator to check the node-shell role\'s permissions.'],
	E_AWS_NOT_FOUND: ['AWS does not know this instance.', 'Reload the node list; the node may have been replaced.'],
	E_AWS_THROTTLED: ['AWS is throttling requests.', 'Wait a few seconds and try again.'],
	// Produced by this page, not by the server.
	E_TRANSPORT: ['The connection to the server was lost.', 'Check your network; periscope reconnects by itself.'],
	E_RECONNECT_FAILED: ['The terminal could not reconnect.', 'Check your network and sign-in, close a session if you have many open, then press Open a new session.'],
	E_NETWORK: ['The server could not be reached.', 'Check your network, then press Try again.'],
};

// Codes a page may offer to retry as they are (the failure was the server's or the
// network's, not the request's).
export const RETRYABLE = new Set(['E_INTERNAL', 'E_UNAVAILABLE', 'E_NETWORK', 'E_IDP_UNAVAILABLE', 'E_UPSTREAM', 'E_AWS_THROTTLED']);

// { code, title, action, detail } for an error body {code, message, ...} from the API or
// an error frame. The server's own message is kept as the detail when it adds something.
// words: the page's own [title, action] for some codes (a 404 of an audit event is not a
// missing cluster).
export function describeError(err, words = {}) {
	const code = err && typeof err.code === 'string' ? err.code : 'E_INTERNAL';
	const known = words[code] || CODES[code];
	const detail = err && typeof err.message === 'string' && err.message ? err.message : '';
	if (known) return { code, title: known[0], action: known[1], detail };
	return { code, title: detail || 'Something went wrong.', action: 'Try again; if it persists, report it.', detail: '' };
}

export function knownCodes() {
	return Object.keys(CODES);
}

// Why a session ended, from closed.reason, in plain words.
const REASONS = {
	exit: 'The shell exited',
	client_closed: 'You closed the session',
	idle: 'Closed after a period without activity',
	heartbeat_timeout: 'The server stopped hearing from this page',
	max_duration: 'The session reached its maximum duration',
	terminated: 'The session was ended on the server (shut down, or ended by an administrator)',
	upstream_closed: 'The cluster or node ended the stream',
	agent_disconnected: 'The cluster\'s agent disconnected, taking the session with it; it reconnects by itself, so try again in a moment',
	signed_out: 'You signed out (here, or everywhere from another browser), so the session was closed',
	session_expired: 'Your sign-in expired, so the session was closed; sign in again to open a new one',
	forbidden: 'Your groups no longer give you a tier that may open this shell, so the session was closed',
	tier_changed: 'Your tier was lowered, so this session (opened with the old tier\'s rights) was closed',
};

export function describeClosed(frame) {
	// Ended from the Sessions page (DELETE /api/sessions/{id}): by whom.
	if (frame.reason === 'terminated' && frame.terminatedBy) return `The session was ended by ${frame.terminatedBy}.`;
	const why = REASONS[frame.reason] || `Session ended (${frame.reason || 'unknown reason'})`;
	return frame.reason === 'exit' && frame.exitCode >= 0 ? `${why} with status ${frame.exitCode}.` : `${why}.`;
}

// The watched frame: audit admins watching this session live (docs/frames.md).
export function describeWatchers(n) {
	if (!(n > 0)) return 'Nobody is watching this session live any more.';
	return n === 1 ? 'An audit admin is watching this session live.' : `${n} audit admins are watching this session live.`;
}
