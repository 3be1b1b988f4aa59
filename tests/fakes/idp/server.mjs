// The local OpenID Connect identity provider: a real OIDC provider (the npm package
// oidc-provider, v9) with demo users, a plain HTML login form and counters for tests.
// Used by the local stack (dev/up), by every integration and e2e test, and by the AWS STS
// fake, which verifies id_tokens against this provider's JWKS.
//
// In a test:    const idp = await startIdp({ idTokenTtl: 5 }); ... await idp.close();
// From a shell: node tests/fakes/idp/server.mjs --port 0
//               prints one line {"ready":true,"issuer":"http://127.0.0.1:PORT","port":PORT}
//               and runs until SIGINT/SIGTERM. Options: --help.
//
// Behaviour worth knowing:
// - Listens on 127.0.0.1 only, plain HTTP. oidc-provider 9 accepts an http:// issuer as is;
//   it marks its cookies Secure only when the request itself is secure, so no proxy or
//   "insecure" setting is needed on loopback.
// - Authorization code flow only, PKCE (S256) required for every client, client secret
//   sent with client_secret_basic by default.
// - Consent is never asked: for every client the grant is created (or widened) from the
//   requested scopes as soon as the user is signed in (loadExistingGrant below), and a
//   consent step that oidc-provider insists on completes itself without a page.
// - Refresh tokens are issued when the scope includes offline_access (no prompt=consent
//   needed from the client, see consentForOfflineAccess). They are NOT rotated
//   by default: the refresh_token grant returns a new access token and id_token and no new
//   refresh token, and the same refresh token keeps working until refreshTokenTtl (pass
//   rotateRefreshToken: true to get a new refresh token on every refresh instead; the
//   previous one is then consumed).
// - id_tokens carry the user's claims (sub, email, email_verified, name,
//   preferred_username, groups) according to the granted scopes, plus nonce when the
//   authorization request had one.
// - RP-initiated logout (end_session_endpoint) ends the whole IdP session and revokes the
//   grants (so refresh tokens stop working), then redirects to the registered
//   post_logout_redirect_uri. oidc-provider insists on a confirmation POST carrying an xsrf
//   value; our confirmation page submits itself on load, and a browser-less client submits
//   its one form (hidden fields only) to complete it.
// - Test endpoints: GET /__test/stats, POST /__test/reset, POST /__test/clients (JSON body
//   = one client, same shape as the `clients` option; adds it or replaces the client with
//   that client_id, for relying parties whose redirect URI is known only after the IdP
//   started). In process: idp.addClient(client) does the same.
// - Misbehaving for one login: idp.misbehaveOnce({ idTokenClaims }) (or POST
//   /__test/misbehave with that JSON body) makes the next id_token the provider issues carry
//   those claims instead of its own (a wrong nonce, another client's aud, another issuer's
//   iss), signed with this IdP's own key as usual: what a replayed or mixed-up token looks
//   like to a relying party whose signature check passes. The token after it is normal again.

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

import { CompactSign, decodeJwt, decodeProtectedHeader, importJWK } from 'jose';

import { createMemoryStore } from './memory-store.mjs';
import { buildUserDirectory } from './users.mjs';
import { errorPage, loginPage, logoutConfirmPage, signedOutPage } from './pages.mjs';
import { freshRsaKeyPair } from '../common/rsa-key.mjs';

export const DEFAULT_CLIENT = Object.freeze({
	client_id: 'periscope',
	client_secret: 'periscope-dev-secret',
	redirect_uris: ['http://127.0.0.1:8080/api/auth/callback'],
});

const LOOPBACK = '127.0.0.1';
const MAX_FORM_BYTES = 16 * 1024;
const DEFAULT_SESSION_TTL = 14 * 24 * 3600;
const DEMO_HINT = 'Demo users: admin / admin, viewer / viewer, ops / ops';

// oidc-provider 9 prints "Unsupported runtime" when imported on Node < 22. Node 20 is what
// the project runs and the provider works on it (tested by idp.test.mjs); drop that one
// line so the IdP stays quiet, keep any other warning.
async function loadProvider() {
	const warn = console.warn;
	console.warn = (...args) => {
		if (typeof args[0] === 'string' && args[0].includes('Unsupported runtime')) return;
		warn(...args);
	};
	try {
		return (await import('oidc-provider')).default;
	} finally {
		console.warn = warn;
	}
}

const Provider = await loadProvider();

// Fills in what our clients always have: code flow with refresh tokens, and post-logout
// redirect URIs derived from the redirect URIs' origins (ORIGIN/api/auth/loggedout and
// ORIGIN/) when none are given.
export function normalizeClient(client = {}) {
	const c = { ...DEFAULT_CLIENT, ...client };
	if (typeof c.client_id !== 'string' || !c.client_id) throw new TypeError('IdP client needs a client_id');
	if (!Array.isArray(c.redirect_uris) || c.redirect_uris.length === 0) {
		throw new TypeError(`IdP client ${c.client_id} needs redirect_uris`);
	}
	for (const u of c.redirect_uris) {
		if (typeof u !== 'string' || !URL.canParse(u)) throw new TypeError(`IdP client ${c.client_id}: redirect_uris entry "${u}" is not a URL`);
	}
	let postLogout = c.post_logout_redirect_uris;
	if (!Array.isArray(postLogout) || postLogout.length === 0) {
		const origins = [...new Set(c.redirect_uris.map((u) => new URL(u).origin))];
		postLogout = origins.flatMap((o) => [`${o}/api/auth/loggedout`, `${o}/`]);
	}
	const out = {
		client_id: c.client_id,
		client_name: c.client_name ?? c.client_id,
		redirect_uris: [...c.redirect_uris],
		post_logout_redirect_uris: [...postLogout],
		grant_types: ['authorization_code', 'refresh_token'],
		response_types: ['code'],
		token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
	};
	if (out.token_endpoint_auth_method !== 'none') {
		if (typeof c.client_secret !== 'string' || !c.client_secret) {
			throw new TypeError(`IdP client ${c.client_id} needs a client_secret`);
		}
		out.client_secret = c.client_secret;
	}
	return out;
}

function generateSigningKey() {
	const { privateKey } = freshRsaKeyPair();
	const jwk = privateKey.export({ format: 'jwk' });
	return { ...jwk, kid: crypto.hash('sha256', jwk.n, 'base64url').slice(0, 16), alg: 'RS256', use: 'sig' };
}

function positiveSeconds(name, value) {
	if (!Number.isInteger(value) || value <= 0) throw new TypeError(`IdP option ${name} must be a positive whole number of seconds`);
	return value;
}

function newStats() {
	return { authorizationCodeGrants: 0, refreshGrants: 0, logins: 0, failedLogins: 0, endSessions: 0 };
}

function send(res, status, type, body, headers = {}) {
	res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', ...headers });
	res.end(body);
}

const sendHtml = (res, status, html) => send(res, status, 'text/html; charset=utf-8', html);
const sendJson = (res, status, value) => send(res, status, 'application/json', `${JSON.stringify(value)}\n`);

async function readBody(req) {
	const chunks = [];
	let size = 0;
	for await (const chunk of req) {
		size += chunk.length;
		if (size > MAX_FORM_BYTES) throw Object.assign(new Error('request body too large'), { status: 413 });
		chunks.push(chunk);
	}
	return Buffer.concat(chunks).toString('utf8');
}

// OpenID Connect Core 11: a refresh token for offline_access needs prompt=consent, and
// oidc-provider drops offline_access from requests without it. Our clients are first-party
// and, like the gateway, do not send prompt at all; we add prompt=consent for them, and
// the consent step it forces completes itself (autoConsent). A request that does send a
// prompt without consent (e.g. prompt=login) keeps oidc-provider's rule: no refresh token.
function consentForOfflineAccess(rawUrl) {
	const url = new URL(rawUrl, 'http://x');
	const scope = url.searchParams.get('scope') ?? '';
	if (!scope.split(' ').includes('offline_access') || url.searchParams.has('prompt')) return rawUrl;
	url.searchParams.set('prompt', 'consent');
	return `${url.pathname}${url.search}`;
}

// oidc-provider configuration of one IdP instance.
function providerConfiguration({ store, users, signingKey, opts, ttl }) {
	const { accessTokenTtl, idTokenTtl, refreshTokenTtl, sessionTtl } = ttl;
	return {
		adapter: store.Adapter,
		// No static clients: static ones cannot be replaced, and addClient must be able to
		// swap a client's redirect URIs once the relying party knows its port. All clients
		// live in the store (startIdp registers them), where oidc-provider looks them up.
		clients: [],
		jwks: { keys: [signingKey] },
		cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
		findAccount: async (_ctx, sub) => {
			const user = users.bySub(sub);
			if (!user) return undefined;
			return {
				accountId: user.sub,
				// oidc-provider keeps only the claims the granted scopes allow.
				claims: async () => ({
					sub: user.sub,
					email: user.email,
					email_verified: true,
					name: user.name,
					preferred_username: user.username,
					groups: [...user.groups],
				}),
			};
		},
		claims: {
			acr: null,
			auth_time: null,
			iss: null,
			sid: null,
			openid: ['sub'],
			email: ['email', 'email_verified'],
			profile: ['name', 'preferred_username'],
			groups: ['groups'],
		},
		scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
		// Put the scope's claims in the id_token itself (the gateway reads groups from it),
		// not only in userinfo.
		conformIdTokenClaims: false,
		pkce: { required: () => true },
		responseTypes: ['code'],
		rotateRefreshToken: () => Boolean(opts.rotateRefreshToken),
		ttl: {
			AccessToken: accessTokenTtl,
			AuthorizationCode: 60,
			IdToken: idTokenTtl,
			RefreshToken: refreshTokenTtl,
			Interaction: 3600,
			Session: sessionTtl,
			Grant: Math.max(refreshTokenTtl, sessionTtl),
		},
		// Skip consent: the grant covers whatever our client asks for once the user is in.
		loadExistingGrant: async (ctx) => {
			const { oidc } = ctx;
			const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
			let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
			if (!grant) grant = new oidc.provider.Grant({ accountId: oidc.account.accountId, clientId: oidc.client.clientId });
			const scopes = [...oidc.requestParamOIDCScopes].join(' ');
			if (scopes) grant.addOIDCScope(scopes);
			const claims = [...oidc.requestParamClaims];
			if (claims.length) grant.addOIDCClaims(claims);
			await grant.save();
			return grant;
		},
		interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
		clientBasedCORS: () => true,
		renderError: async (ctx, out) => {
			ctx.type = 'html';
			ctx.body = errorPage('Sign-in error', out);
		},
		features: {
			devInteractions: { enabled: false },
			rpInitiatedLogout: {
				enabled: true,
				logoutSource: async (ctx, form) => {
					ctx.type = 'html';
					ctx.body = logoutConfirmPage(form);
				},
				postLogoutSuccessSource: async (ctx) => {
					ctx.type = 'html';
					ctx.body = signedOutPage();
				},
			},
		},
	};
}

// The same token with some claims replaced, signed again with the IdP's private key under
// the same protected header (alg, kid): only the claims differ from what oidc-provider made.
async function withClaims(token, claims, signingKey) {
	const header = decodeProtectedHeader(token);
	const payload = { ...decodeJwt(token), ...claims };
	const key = await importJWK(signingKey, header.alg);
	return new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader(header).sign(key);
}

// Wraps oidc-provider's own IdToken.issue: while claims are pending, the next id_token it
// issues (code or refresh grant) carries them. Returns the setter.
function idTokenOverride(provider, signingKey) {
	let pending = null;
	const { IdToken } = provider;
	const issue = IdToken.prototype.issue;
	IdToken.prototype.issue = async function issueMaybeMisbehaving(options) {
		const token = await issue.call(this, options);
		if (options?.use !== 'idtoken' || !pending) return token;
		const claims = pending;
		pending = null;
		return withClaims(token, claims, signingKey);
	};
	return (claims) => {
		if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw new TypeError('idTokenClaims must be an object of claims');
		pending = { ...claims };
	};
}

// opts: see the header comment and parseCommandLine() below.
export async function startIdp(opts = {}) {
	const accessTokenTtl = positiveSeconds('accessTokenTtl', opts.accessTokenTtl ?? 3600);
	const idTokenTtl = positiveSeconds('idTokenTtl', opts.idTokenTtl ?? 3600);
	const refreshTokenTtl = positiveSeconds('refreshTokenTtl', opts.refreshTokenTtl ?? 14 * 24 * 3600);
	const sessionTtl = positiveSeconds('sessionTtl', opts.sessionTtl ?? DEFAULT_SESSION_TTL);
	const clients = (opts.clients?.length ? opts.clients : [DEFAULT_CLIENT]).map(normalizeClient);
	const clientIds = clients.map((c) => c.client_id);
	if (new Set(clientIds).size !== clientIds.length) throw new TypeError('IdP clients must have distinct client_ids');
	const users = buildUserDirectory(opts.users ?? []);
	const signingKey = opts.signingKey ?? generateSigningKey();
	const stats = newStats();

	let port = opts.port ?? 0;
	if (opts.issuer && opts.port === undefined) port = Number(new URL(opts.issuer).port || 80);

	let dispatch = (req, res) => send(res, 503, 'text/plain', 'starting\n');
	const server = http.createServer((req, res) => dispatch(req, res));
	await new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(port, LOOPBACK, () => {
			server.off('error', reject);
			resolve();
		});
	});
	port = server.address().port;
	const issuer = (opts.issuer ?? `http://${LOOPBACK}:${port}`).replace(/\/$/, '');

	const store = createMemoryStore();
	const closeServer = () => new Promise((resolve) => {
		server.close(() => resolve());
		server.closeAllConnections();
	});

	let provider;
	try {
		provider = new Provider(issuer, providerConfiguration({
			store, users, signingKey, opts, ttl: { accessTokenTtl, idTokenTtl, refreshTokenTtl, sessionTtl },
		}));
	} catch (err) {
		await closeServer();
		throw err;
	}

	const overrideNextIdToken = idTokenOverride(provider, signingKey);

	provider.on('grant.success', (ctx) => {
		const grantType = ctx.oidc.params?.grant_type;
		if (grantType === 'authorization_code') stats.authorizationCodeGrants += 1;
		else if (grantType === 'refresh_token') stats.refreshGrants += 1;
	});
	provider.on('end_session.success', () => {
		stats.endSessions += 1;
	});
	provider.on('server_error', (_ctx, err) => {
		process.stderr.write(`idp: server error: ${err?.message ?? err}\n`);
	});

	// Adds a client, or replaces the one with the same client_id.
	async function addClient(client) {
		const metadata = normalizeClient(client);
		await provider.Client.validate(metadata);
		store.putClient(metadata);
		return metadata;
	}

	async function clientName(clientId) {
		try {
			const client = await provider.Client.find(clientId);
			return client?.clientName ?? clientId;
		} catch {
			return clientId;
		}
	}

	// The consent prompt does not normally come up (see loadExistingGrant); should it,
	// grant what is missing and carry on, so there is still no consent page.
	async function autoConsent(req, res, interaction) {
		const { Grant } = provider;
		let grant = interaction.grantId ? await Grant.find(interaction.grantId) : undefined;
		if (!grant) grant = new Grant({ accountId: interaction.session.accountId, clientId: interaction.params.client_id });
		const details = interaction.prompt.details ?? {};
		if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
		if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
		for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
			grant.addResourceScope(indicator, scopes.join(' '));
		}
		const grantId = await grant.save();
		await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
	}

	async function handleInteraction(req, res, uid) {
		let interaction;
		try {
			interaction = await provider.interactionDetails(req, res);
		} catch {
			interaction = undefined;
		}
		if (!interaction || interaction.uid !== uid) {
			sendHtml(res, 400, errorPage('Sign-in expired', {
				error: 'This sign-in attempt is no longer valid. Start again from the application.',
			}));
			return;
		}
		if (interaction.prompt.name === 'consent') {
			await autoConsent(req, res, interaction);
			return;
		}
		if (interaction.prompt.name !== 'login') {
			sendHtml(res, 400, errorPage('Sign-in error', { error: `unsupported prompt ${interaction.prompt.name}` }));
			return;
		}
		const action = `/interaction/${uid}`;
		const name = await clientName(interaction.params.client_id);
		if (req.method === 'GET') {
			sendHtml(res, 200, loginPage({ action, clientName: name, demoHint: DEMO_HINT }));
			return;
		}
		if (req.method !== 'POST') {
			send(res, 405, 'text/plain', 'method not allowed\n', { Allow: 'GET, POST' });
			return;
		}
		const form = new URLSearchParams(await readBody(req));
		const login = form.get('login') ?? '';
		const user = users.byUsername(login);
		if (!user || user.password !== (form.get('password') ?? '')) {
			stats.failedLogins += 1;
			sendHtml(res, 200, loginPage({
				action, clientName: name, login, demoHint: DEMO_HINT, error: 'Invalid username or password.',
			}));
			return;
		}
		stats.logins += 1;
		// Answer the consent step in the same go (saves the browser a second interaction
		// when prompt=consent was added); loadExistingGrant fills this grant in on resume.
		const grantId = await new provider.Grant({ accountId: user.sub, clientId: interaction.params.client_id }).save();
		await provider.interactionFinished(req, res, { login: { accountId: user.sub }, consent: { grantId } },
			{ mergeWithLastSubmission: false });
	}

	async function handleTestEndpoint(req, res, path) {
		if (path === '/__test/stats' && req.method === 'GET') {
			sendJson(res, 200, stats);
		} else if (path === '/__test/reset' && req.method === 'POST') {
			Object.assign(stats, newStats());
			sendJson(res, 200, stats);
		} else if (path === '/__test/misbehave' && req.method === 'POST') {
			try {
				overrideNextIdToken(JSON.parse(await readBody(req)).idTokenClaims);
			} catch (err) {
				sendJson(res, 400, { error: 'invalid_request', error_description: err.message });
				return;
			}
			sendJson(res, 200, { pending: true });
		} else if (path === '/__test/clients' && req.method === 'POST') {
			let client;
			try {
				client = await addClient(JSON.parse(await readBody(req)));
			} catch (err) {
				sendJson(res, 400, { error: 'invalid_client_metadata', error_description: err.message });
				return;
			}
			sendJson(res, 201, { client_id: client.client_id, redirect_uris: client.redirect_uris });
		} else {
			sendJson(res, 404, { error: 'not_found' });
		}
	}

	try {
		for (const client of clients) await addClient(client);
	} catch (err) {
		await closeServer();
		throw err;
	}

	const providerCallback = provider.callback();
	dispatch = (req, res) => {
		const path = new URL(req.url, issuer).pathname;
		const interaction = /^\/interaction\/([A-Za-z0-9_-]+)$/.exec(path);
		let work;
		if (interaction) work = handleInteraction(req, res, interaction[1]);
		else if (path.startsWith('/__test/')) work = handleTestEndpoint(req, res, path);
		else {
			if (req.method === 'GET' && path === '/auth') req.url = consentForOfflineAccess(req.url);
			return providerCallback(req, res);
		}
		return work.catch((err) => {
			if (res.headersSent) {
				res.destroy();
				return;
			}
			const status = err.status ?? 500;
			if (status >= 500) process.stderr.write(`idp: ${req.method} ${path}: ${err.message}\n`);
			send(res, status, 'text/plain', `${status === 413 ? 'request body too large' : 'internal error'}\n`);
		});
	};

	let closed = false;
	return {
		issuer,
		port,
		url: issuer,
		stats,
		provider,
		signingKey,
		resetStats: () => Object.assign(stats, newStats()),
		setUserGroups: (username, groups) => users.setGroups(username, groups),
		addClient,
		misbehaveOnce: ({ idTokenClaims }) => overrideNextIdToken(idTokenClaims),
		async close() {
			if (closed) return;
			closed = true;
			await closeServer();
		},
	};
}

const USAGE = `usage: node tests/fakes/idp/server.mjs [options]
  --port N                     port on 127.0.0.1 (default 0 = a free port)       env IDP_PORT
  --issuer URL                 issuer (default http://127.0.0.1:PORT)            env IDP_ISSUER
  --client-id ID               client id (default periscope)                     env IDP_CLIENT_ID
  --client-secret S            client secret (default periscope-dev-secret)      env IDP_CLIENT_SECRET
  --redirect-uri URL           redirect URI, repeatable                          env IDP_REDIRECT_URIS (space-separated)
  --post-logout-redirect-uri URL  repeatable                                     env IDP_POST_LOGOUT_REDIRECT_URIS
  --clients-json JSON          list of clients (replaces the single-client flags) env IDP_CLIENTS
  --users-json JSON            extra users [{username,password,sub,email,name,groups}] env IDP_USERS
  --access-token-ttl S         seconds (default 3600)                            env IDP_ACCESS_TOKEN_TTL
  --id-token-ttl S             seconds (default 3600)                            env IDP_ID_TOKEN_TTL
  --refresh-token-ttl S        seconds (default 1209600)                         env IDP_REFRESH_TOKEN_TTL
  --rotate-refresh-tokens      issue a new refresh token on every refresh        env IDP_ROTATE_REFRESH_TOKENS=1
  --signing-key-file PATH      private RS256 JWK (default: generated at start)   env IDP_SIGNING_KEY_FILE
Prints {"ready":true,"issuer":...,"port":...} on stdout when listening; stops on SIGINT/SIGTERM.
`;

// Command line over environment over defaults.
export function parseCommandLine(argv, env) {
	const { values } = parseArgs({
		args: argv,
		options: {
			port: { type: 'string' },
			issuer: { type: 'string' },
			'client-id': { type: 'string' },
			'client-secret': { type: 'string' },
			'redirect-uri': { type: 'string', multiple: true },
			'post-logout-redirect-uri': { type: 'string', multiple: true },
			'clients-json': { type: 'string' },
			'users-json': { type: 'string' },
			'access-token-ttl': { type: 'string' },
			'id-token-ttl': { type: 'string' },
			'refresh-token-ttl': { type: 'string' },
			'rotate-refresh-tokens': { type: 'boolean' },
			'signing-key-file': { type: 'string' },
			help: { type: 'boolean' },
		},
		strict: true,
	});
	if (values.help) return { help: true };
	const pick = (flag, envName) => values[flag] ?? (env[envName] || undefined);
	const int = (flag, envName) => {
		const v = pick(flag, envName);
		if (v === undefined) return undefined;
		if (!/^\d+$/.test(v)) throw new TypeError(`--${flag} expects a whole number, got "${v}"`);
		return Number(v);
	};
	const list = (flag, envName) => values[flag] ?? (env[envName] ? env[envName].split(/[\s,]+/).filter(Boolean) : undefined);

	const opts = {
		port: int('port', 'IDP_PORT'),
		issuer: pick('issuer', 'IDP_ISSUER'),
		accessTokenTtl: int('access-token-ttl', 'IDP_ACCESS_TOKEN_TTL'),
		idTokenTtl: int('id-token-ttl', 'IDP_ID_TOKEN_TTL'),
		refreshTokenTtl: int('refresh-token-ttl', 'IDP_REFRESH_TOKEN_TTL'),
		rotateRefreshToken: values['rotate-refresh-tokens'] ?? ['1', 'true', 'yes'].includes(env.IDP_ROTATE_REFRESH_TOKENS ?? ''),
	};
	const clientsJson = pick('clients-json', 'IDP_CLIENTS');
	if (clientsJson) {
		opts.clients = JSON.parse(clientsJson);
	} else {
		const client = {};
		const id = pick('client-id', 'IDP_CLIENT_ID');
		const secret = pick('client-secret', 'IDP_CLIENT_SECRET');
		const redirects = list('redirect-uri', 'IDP_REDIRECT_URIS');
		const postLogout = list('post-logout-redirect-uri', 'IDP_POST_LOGOUT_REDIRECT_URIS');
		if (id) client.client_id = id;
		if (secret) client.client_secret = secret;
		if (redirects) client.redirect_uris = redirects;
		if (postLogout) client.post_logout_redirect_uris = postLogout;
		opts.clients = [client];
	}
	const usersJson = pick('users-json', 'IDP_USERS');
	if (usersJson) opts.users = JSON.parse(usersJson);
	const keyFile = pick('signing-key-file', 'IDP_SIGNING_KEY_FILE');
	if (keyFile) opts.signingKey = JSON.parse(fs.readFileSync(keyFile, 'utf8'));
	for (const k of Object.keys(opts)) if (opts[k] === undefined) delete opts[k];
	return opts;
}

async function main() {
	let opts;
	try {
		opts = parseCommandLine(process.argv.slice(2), process.env);
	} catch (err) {
		process.stderr.write(`idp: ${err.message}\n${USAGE}`);
		process.exit(2);
	}
	if (opts.help) {
		process.stdout.write(USAGE);
		return;
	}
	// Handlers first: whoever reads the ready line may signal us at once.
	let idp;
	let stopping = false;
	const stop = () => {
		if (stopping) return;
		stopping = true;
		if (!idp) process.exit(0);
		idp.close().then(() => process.exit(0), () => process.exit(1));
	};
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
	idp = await startIdp(opts);
	if (stopping) {
		await idp.close();
		process.exit(0);
	}
	process.stdout.write(`${JSON.stringify({ ready: true, issuer: idp.issuer, port: idp.port })}\n`);
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
	main().catch((err) => {
		process.stderr.write(`idp: ${err.message}\n`);
		process.exit(1);
	});
}
