// The fake's SigV4 check (aws4-based) against the worked SSM example of ssm-protocol.md
// §A.7, whose signatures match botocore's, and the ways a request must fail.
import { test } from '../../lib/bounded-test.mjs';
import assert from 'node:assert/strict';
import { verifyRequest } from './sigv4.mjs';

const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const TOKEN = 'FQoGZXIvYXdzEXAMPLESESSIONTOKEN';
const NOW = Date.UTC(2015, 7, 30, 12, 36, 0);
const BODY = Buffer.from('{"Target":"i-0123456789abcdef0"}');
const EXPECT = { service: 'ssm', region: 'us-east-1' };

function request({ token = false, signature, body = BODY, extra = [] } = {}) {
  const signed = token ? 'content-type;host;x-amz-date;x-amz-security-token;x-amz-target' : 'content-type;host;x-amz-date;x-amz-target';
  const sig = signature ?? (token
    ? '3c50208d6272e804a756e054e14d53ef9d4a4f593380f55c2785c1b79b55413b'
    : 'dee0bdcea4690009ad2ac39ee57c761731d6a13df7c02a96c4e99867c42ac32f');
  return {
    method: 'POST',
    path: '/',
    body,
    rawHeaders: [
      'Host', 'ssm.us-east-1.amazonaws.com',
      'Content-Type', 'application/x-amz-json-1.1',
      'X-Amz-Date', '20150830T123600Z',
      ...(token ? ['X-Amz-Security-Token', TOKEN] : []),
      'X-Amz-Target', 'AmazonSSM.StartSession',
      'User-Agent', 'not-signed/1.0',
      ...extra,
      'Authorization', `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ssm/aws4_request, SignedHeaders=${signed}, Signature=${sig}`,
    ],
  };
}

const lookup = (cred) => (id) => (id === 'AKIDEXAMPLE' ? cred : undefined);
const code = (fn) => { try { fn(); return 'ok'; } catch (e) { return e.code; } };

test('accepts the worked StartSession example without a session token', () => {
  const r = verifyRequest(request(), EXPECT, lookup({ secretAccessKey: SECRET }), NOW);
  assert.equal(r.accessKeyId, 'AKIDEXAMPLE');
});

test('accepts the worked example with a signed session token', () => {
  const r = verifyRequest(request({ token: true }), EXPECT, lookup({ secretAccessKey: SECRET, sessionToken: TOKEN }), NOW);
  assert.equal(r.accessKeyId, 'AKIDEXAMPLE');
});

test('a changed body, a wrong secret or a wrong signature is InvalidSignatureException', () => {
  const cred = lookup({ secretAccessKey: SECRET });
  assert.equal(code(() => verifyRequest(request({ body: Buffer.from('{"Target":"i-0123456789abcdef1"}') }), EXPECT, cred, NOW)), 'InvalidSignatureException');
  assert.equal(code(() => verifyRequest(request(), EXPECT, lookup({ secretAccessKey: `${SECRET}x` }), NOW)), 'InvalidSignatureException');
  assert.equal(code(() => verifyRequest(request({ signature: '0'.repeat(64) }), EXPECT, cred, NOW)), 'InvalidSignatureException');
});

test('a clock more than five minutes off is InvalidSignatureException (Signature expired)', () => {
  assert.throws(() => verifyRequest(request(), EXPECT, lookup({ secretAccessKey: SECRET }), NOW + 6 * 60 * 1000),
    (e) => e.code === 'InvalidSignatureException' && /Signature expired/.test(e.message));
  assert.equal(code(() => verifyRequest(request(), EXPECT, lookup({ secretAccessKey: SECRET }), NOW + 4 * 60 * 1000)), 'ok');
});

test('unknown keys and missing or wrong session tokens are UnrecognizedClientException', () => {
  assert.equal(code(() => verifyRequest(request(), EXPECT, () => undefined, NOW)), 'UnrecognizedClientException');
  assert.equal(code(() => verifyRequest(request(), EXPECT, lookup({ secretAccessKey: SECRET, sessionToken: TOKEN }), NOW)), 'UnrecognizedClientException');
  assert.equal(code(() => verifyRequest(request({ token: true }), EXPECT, lookup({ secretAccessKey: SECRET, sessionToken: 'other' }), NOW)), 'UnrecognizedClientException');
});

test('expired credentials are ExpiredTokenException', () => {
  assert.equal(code(() => verifyRequest(request(), EXPECT, lookup({ secretAccessKey: SECRET, expiresAt: NOW - 1 }), NOW)), 'ExpiredTokenException');
});

test('no Authorization header, a malformed one or the wrong scope are refused', () => {
  const noAuth = request();
  noAuth.rawHeaders = noAuth.rawHeaders.slice(0, -2);
  assert.equal(code(() => verifyRequest(noAuth, EXPECT, lookup({ secretAccessKey: SECRET }), NOW)), 'MissingAuthenticationTokenException');
  const garbled = request();
  garbled.rawHeaders[garbled.rawHeaders.length - 1] = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ssm/aws4_request';
  assert.equal(code(() => verifyRequest(garbled, EXPECT, lookup({ secretAccessKey: SECRET }), NOW)), 'IncompleteSignatureException');
  assert.equal(code(() => verifyRequest(request(), { service: 'ssm', region: 'eu-west-1' }, lookup({ secretAccessKey: SECRET }), NOW)), 'InvalidSignatureException');
  assert.equal(code(() => verifyRequest(request(), { service: 'kms', region: 'us-east-1' }, lookup({ secretAccessKey: SECRET }), NOW)), 'InvalidSignatureException');
});

test('a header AWS requires signed but left out of SignedHeaders is refused, naming it', () => {
  const cred = lookup({ secretAccessKey: SECRET, sessionToken: TOKEN });
  const all = ['content-type', 'host', 'x-amz-date', 'x-amz-security-token', 'x-amz-target'];
  for (const [left, shown] of [['x-amz-target', 'X-Amz-Target'], ['x-amz-date', 'X-Amz-Date'], ['x-amz-security-token', 'X-Amz-Security-Token'], ['content-type', 'Content-Type'], ['host', 'Host']]) {
    const r = request({ token: true });
    const auth = r.rawHeaders.length - 1;
    r.rawHeaders[auth] = r.rawHeaders[auth].replace(/SignedHeaders=[^,]+/, `SignedHeaders=${all.filter((h) => h !== left).join(';')}`);
    assert.throws(() => verifyRequest(r, EXPECT, cred, NOW), (e) => e.code === 'InvalidSignatureException'
      && e.message === `'${shown}' must be a 'SignedHeader' in the AWS Authorization.`, left);
  }
  // Any other x-amz-* header the client sent is held to the same rule; User-Agent is not.
  const extra = request({ token: true, extra: ['X-Amz-Content-Sha256', 'UNSIGNED-PAYLOAD'] });
  assert.throws(() => verifyRequest(extra, EXPECT, cred, NOW), /'X-Amz-Content-Sha256' must be a 'SignedHeader'/);
  assert.equal(code(() => verifyRequest(request({ token: true }), EXPECT, cred, NOW)), 'ok');
});
