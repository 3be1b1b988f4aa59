// The test cookie jar follows the browser rules the sign-in flows depend on.

import { test } from './bounded-test.mjs';
import assert from 'node:assert/strict';

import { CookieJar, parseSetCookie } from './cookie-jar.mjs';

const NOW = Date.parse('2026-01-01T00:00:00Z');

test('a cookie is sent back to the same host on any port, like a browser', () => {
	const jar = new CookieJar();
	jar.setCookies('http://127.0.0.1:4000/auth', ['_session=abc; path=/; httponly; samesite=lax']);
	assert.equal(jar.header('http://127.0.0.1:4000/anything'), '_session=abc');
	assert.equal(jar.header('http://127.0.0.1:8080/api/auth/callback'), '_session=abc');
	assert.equal(jar.header('http://localhost:4000/'), '', 'another host name gets nothing');
});

test('Path limits where a cookie goes; the default path is the request directory', () => {
	const jar = new CookieJar();
	jar.setCookies('http://h/interaction/abc', ['_interaction=1; path=/interaction/abc', 'dflt=2']);
	assert.equal(jar.header('http://h/interaction/abc'), '_interaction=1; dflt=2');
	assert.equal(jar.header('http://h/interaction/abcd'), 'dflt=2', '/interaction/abc does not cover /interaction/abcd');
	assert.equal(jar.header('http://h/interaction/abc/login'), '_interaction=1; dflt=2');
	assert.equal(jar.header('http://h/auth/abc'), '');
});

test('longer paths come first in the Cookie header', () => {
	const jar = new CookieJar();
	jar.setCookies('http://h/', ['a=root; Path=/', 'b=deep; Path=/x/y']);
	assert.equal(jar.header('http://h/x/y/z'), 'b=deep; a=root');
});

test('Max-Age and Expires: in the past deletes, Max-Age wins over Expires', () => {
	const jar = new CookieJar();
	jar.setCookies('http://h/', ['s=1; Path=/'], NOW);
	jar.setCookies('http://h/', ['s=; Path=/; Max-Age=-1'], NOW);
	assert.equal(jar.all().length, 0);

	jar.setCookies('http://h/', ['t=1; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT'], NOW);
	assert.equal(jar.all().length, 0, 'an expired cookie is never stored');

	const c = parseSetCookie('u=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60', 'http://h/', NOW);
	assert.equal(c.expires, NOW + 60000);
	const d = parseSetCookie('u=1; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT', 'http://h/', NOW);
	assert.equal(d.expires, NOW + 60000);
});

test('a cookie that has expired since it was stored is not sent', () => {
	const jar = new CookieJar();
	jar.setCookies('http://h/', ['s=1; Path=/; Max-Age=1'], Date.now() - 5000);
	assert.equal(jar.header('http://h/'), '');
});

test('Secure cookies go only over https', () => {
	const jar = new CookieJar();
	jar.setCookies('https://h/', ['s=1; Path=/; Secure']);
	assert.equal(jar.header('http://h/'), '');
	assert.equal(jar.header('https://h/'), 's=1');
});

test('Domain cookies reach subdomains; a host cannot set one for another domain', () => {
	const jar = new CookieJar();
	jar.setCookies('http://app.example.test/', ['d=1; Domain=example.test; Path=/', 'x=1; Domain=other.test; Path=/']);
	assert.equal(jar.header('http://api.example.test/'), 'd=1');
	assert.equal(jar.all().length, 1);
});

test('a cookie replaces the one with the same name, domain and path; get() reads a value', () => {
	const jar = new CookieJar();
	jar.setCookies('http://h/', ['s=1; Path=/', 's=2; Path=/', 's=other; Path=/x']);
	assert.equal(jar.get('s', 'http://h/'), '2');
	assert.equal(jar.header('http://h/x'), 's=other; s=2');
	jar.clear();
	assert.equal(jar.header('http://h/x'), '');
});

test('store() reads every Set-Cookie of a fetch Response', () => {
	const headers = new Headers();
	headers.append('set-cookie', 'a=1; Path=/');
	headers.append('set-cookie', 'b=2; Path=/');
	const jar = new CookieJar();
	jar.store('http://h/', new Response('', { headers }));
	assert.equal(jar.header('http://h/'), 'a=1; b=2');
});
