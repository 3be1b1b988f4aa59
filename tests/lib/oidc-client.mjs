// The relying-party side of an OIDC authorization code flow, for tests that need tokens from
// the local IdP (the IdP's own tests, the AWS STS fake's tests that want a real id_token):
// discovery, PKCE, the authorization URL, the token and refresh requests, and signIn() that
// does the whole flow through the login form (tests/lib/oidc-browser.mjs).
//
//   const { tokens, claims } = await signIn({ issuer: idp.issuer, username: 'admin', password: 'admin' });
//   tokens.id_token  // RS256, verifiable against the IdP's jwks_uri

import * as crypto from 'node:crypto';

import { CookieJar } from './cookie-jar.mjs';
import { fetchWithin } from './deadline.mjs';
import { loginThroughForm } from './oidc-browser.mjs';

export const DEFAULT_SCOPE = 'openid profile email offline_access groups';
export const DEFAULT_CLIENT = Object.freeze({
	clientId: 'periscope',
	clientSecret: 'periscope-dev-secret',
	redirectUri: 'http://127.0.0.1:8080/api/auth/callback',
});

const b64url = (buf) => Buffer.from(buf).toString('base64url');

export function pkcePair() {
	const verifier = b64url(crypto.randomBytes(48));
	return { verifier, challenge: b64url(crypto.createHash('sha256').update(verifier).digest()) };
}

export const randomToken = () => b64url(crypto.randomBytes(16));

export async function discover(issuer) {
	const { res, text } = await fetchWithin(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
	if (res.status !== 200) throw new Error(`discovery of ${issuer} answered ${res.status}`);
	return JSON.parse(text);
}

export function authorizationUrl(discovery, {
	clientId = DEFAULT_CLIENT.clientId, redirectUri = DEFAULT_CLIENT.redirectUri, scope = DEFAULT_SCOPE,
	state, nonce, codeChallenge, extra = {},
}) {
	const url = new URL(discovery.authorization_endpoint);
	const params = {
		response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope, state, nonce,
		code_challenge: codeChallenge, code_challenge_method: codeChallenge ? 'S256' : undefined, ...extra,
	};
	for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
	return url.href;
}

function basicAuth(clientId, clientSecret) {
	// RFC 6749 2.3.1: id and secret are form-urlencoded before base64.
	const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');
	return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')}`;
}

// POSTs a grant to the token endpoint with client_secret_basic; returns { status, json }.
export async function tokenRequest(discovery, {
	clientId = DEFAULT_CLIENT.clientId, clientSecret = DEFAULT_CLIENT.clientSecret, params,
}) {
	const { res, text } = await fetchWithin(discovery.token_endpoint, {
		method: 'POST',
		headers: {
			authorization: basicAuth(clientId, clientSecret),
			'content-type': 'application/x-www-form-urlencoded',
			accept: 'application/json',
		},
		body: new URLSearchParams(params).toString(),
	});
	return { status: res.status, json: JSON.parse(text) };
}

export function exchangeCode(discovery, { code, verifier, redirectUri = DEFAULT_CLIENT.redirectUri, ...client }) {
	return tokenRequest(discovery, {
		...client,
		params: { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier },
	});
}

export function refreshTokens(discovery, { refreshToken, ...client }) {
	return tokenRequest(discovery, { ...client, params: { grant_type: 'refresh_token', refresh_token: refreshToken } });
}

// The payload of a JWT, NOT verified (for reading claims after a verification elsewhere).
export function decodeJwtPayload(jwt) {
	return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

// The whole flow: authorize with PKCE (and a nonce), sign in through the form, check
// state, exchange the code. Throws when any step does not go as a browser would expect.
// Returns { tokens, claims (id_token payload, unverified), nonce, cookieJar, discovery }.
export async function signIn({
	issuer, username, password, clientId = DEFAULT_CLIENT.clientId, clientSecret = DEFAULT_CLIENT.clientSecret,
	redirectUri = DEFAULT_CLIENT.redirectUri, scope = DEFAULT_SCOPE, cookieJar = new CookieJar(),
}) {
	const discovery = await discover(issuer);
	const { verifier, challenge } = pkcePair();
	const state = randomToken();
	const nonce = randomToken();
	const authorizeUrl = authorizationUrl(discovery, { clientId, redirectUri, scope, state, nonce, codeChallenge: challenge });
	const r = await loginThroughForm({ authorizeUrl, username, password, cookieJar, stopAt: redirectUri });
	if (r.loginFailed) throw new Error(`sign-in as ${username} refused: ${r.error ?? 'no message'}`);
	if (!r.stoppedAtRedirect) throw new Error(`sign-in as ${username} ended at ${r.location} (HTTP ${r.status}), not at the redirect URI`);
	const back = new URL(r.location).searchParams;
	if (back.get('error')) throw new Error(`sign-in as ${username}: ${back.get('error')} ${back.get('error_description') ?? ''}`);
	if (back.get('state') !== state) throw new Error('sign-in: state mismatch');
	const { status, json } = await exchangeCode(discovery, { code: back.get('code'), verifier, redirectUri, clientId, clientSecret });
	if (status !== 200) throw new Error(`token exchange answered ${status}: ${json.error} ${json.error_description ?? ''}`);
	return { tokens: json, claims: decodeJwtPayload(json.id_token), nonce, cookieJar, discovery };
}
