// The fake ssmmessages data channel, driven by a test client built on codec.mjs: a real
// bash in a real pty at the far end, reached through the binary message protocol with its
// acks, retransmission, handshake and faults.
import { test, before, after, describe } from '../../lib/bounded-test.mjs';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startAws } from './server.mjs';
import { DataChannelClient } from './dc-client.mjs';
import { encode, MessageType, PayloadType } from './codec.mjs';
import { startStandInIdp, assumeRole, ssmCall, kmsCall, httpsRequest } from './test-helpers.mjs';

const ROLE = 'arn:aws:iam::123456789012:role/periscope-node-shell';
const NODE = 'i-0123456789abcdef0';

let idp;
let aws;
let creds;
const clients = [];

before(async () => {
  idp = await startStandInIdp();
  aws = await startAws({ idpIssuer: idp.issuer, audience: 'periscope' });
  creds = await assumeRole(aws, {
    token: await idp.token({ aud: 'periscope', sub: 'auth0|abc123' }), roleArn: ROLE, sessionName: 'periscope-auth0-abc123',
  });
});

after(async () => {
  for (const c of clients) c.close();
  await aws?.close();
  await idp?.close();
});

async function startSession(faults) {
  const r = await ssmCall(aws, creds, 'StartSession', { Target: NODE });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  if (faults) aws.setFaults(faults, r.json.SessionId);
  return r.json;
}

async function open(faults, opts = {}) {
  const s = await startSession(faults);
  const client = new DataChannelClient({ streamUrl: s.StreamUrl, tokenValue: s.TokenValue, ca: aws.caPem, ...opts });
  clients.push(client);
  await client.connect();
  return { client, session: s, rec: aws.state.sessions.get(s.SessionId) };
}

const PROMPT = 'sh-5.2$ ';

// Waits for the next prompt after `from`, so typed input reaches an idle shell.
const prompt = (client, from = 0) => client.waitForText(PROMPT, 10000, from);

describe('data channel', () => {
  test('a shell: prompt, echo, resize, exit, channel_closed', async () => {
    const { client, session, rec } = await open();
    await prompt(client);
    let mark = client.text().length;
    client.type('echo hi\r');
    await client.waitForText(/echo hi\r\nhi\r\n/, 10000, mark);
    await prompt(client, mark);

    mark = client.text().length;
    client.resize(123, 37);
    client.type('stty size\r');
    await client.waitForText('\r\n37 123\r\n', 10000, mark);
    assert.deepEqual(rec.sizes.at(-1), { cols: 123, rows: 37 });
    await prompt(client, mark);

    client.type('exit 7\r');
    const closed = await client.waitFor((c) => c.closed, 10000, 'channel_closed');
    assert.equal(closed.MessageType, 'channel_closed');
    assert.equal(closed.SessionId, session.SessionId);
    assert.equal(closed.DestinationId, NODE);
    assert.equal(closed.Output, '');
    assert.equal(rec.exitCode, 7);
    assert.equal(rec.endedBy, 'exit');
    assert.equal(rec.status, 'Terminated');
    await client.waitFor((c) => c.wsClosed, 5000, 'WebSocket close');

    // What the agent sends: seq 0 carries SYN, later stream messages no flags; payloads
    // never exceed 1 KiB; nothing the client sent was malformed. A message whose ack came
    // late is sent again as it was stored, flags included (amazon-ssm-agent datachannel.go
    // ResendStreamDataMessageScheduler resends the buffered StreamDataMessage unchanged),
    // so on a loaded machine seq 0 may come twice, SYN and all.
    const out = client.received.filter((m) => m.messageType === MessageType.OUTPUT);
    assert.equal(out[0].sequenceNumber, 0n);
    const isFirst = (m) => m.sequenceNumber === 0n;
    assert.deepEqual([...new Set(out.filter(isFirst).map((m) => m.flags))], [1n]);
    assert.deepEqual(out.filter((m) => !isFirst(m) && m.flags !== 0n).map((m) => `${m.sequenceNumber}:${m.flags}`), [],
      'later messages carry no flags');
    assert.ok(out.every((m) => m.payload.length <= 1024));
    assert.deepEqual(rec.protocolErrors, []);
  });

  test('200 KB of output arrives intact through dropped, reordered and duplicated messages', async () => {
    const { client, rec } = await open({ dropOutputPercent: 10, reorderPercent: 10, duplicatePercent: 5 });
    await prompt(client);
    const mark = client.text().length;
    // The markers contain '@', which base64 never does, and only appear once evaluated.
    client.type('head -c 150000 /dev/urandom | base64 > blob; sha256sum blob; echo "@begin-$((1+1))@"; cat blob; echo "@end-$((2+2))@"\r');
    const m = await client.waitFor(
      (c) => /([0-9a-f]{64}) {2}blob\r\n@begin-2@\r\n([\s\S]*?)@end-4@\r\n/.exec(c.text().slice(mark)),
      90000, 'the blob between its markers',
    );
    const blob = m[2].replace(/\r\n/g, '\n');
    assert.ok(blob.length > 200000, `only ${blob.length} bytes`);
    assert.equal(createHash('sha256').update(blob).digest('hex'), m[1]);
    assert.ok(rec.stats.dropped > 0, 'no message was dropped');
    assert.ok(rec.stats.reordered > 0, 'no message was reordered');
    assert.ok(rec.stats.duplicated > 0, 'no message was duplicated');
    assert.ok(rec.stats.retransmits > 0, 'nothing was retransmitted');
  });

  test('typed input survives dropped input messages because the client retransmits', async () => {
    const { client, rec } = await open({ dropInputPercent: 50 });
    await prompt(client);
    const mark = client.text().length;
    for (const ch of 'echo "in-$((40+2))-order"\r') client.type(ch);
    await client.waitForText('\r\nin-42-order\r\n', 20000, mark);
    assert.ok(rec.stats.inputDropped > 0);
  });

  test('input is applied in sequence order; early messages are buffered, duplicates re-acked', async () => {
    const { client, rec } = await open();
    await prompt(client);
    const mark = client.text().length;
    const first = client.nextSeq;
    client.nextSeq += 2; // the next two sequence numbers are sent by hand below
    const msg = (seq, text) => encode({ messageType: MessageType.INPUT, sequenceNumber: seq, payloadType: PayloadType.OUTPUT, payload: text });
    const a = msg(first, 'echo "fir');
    const b = msg(first + 1, 'st-$((1+1))"\r');
    client.ws.send(b);
    client.ws.send(a);
    client.ws.send(a);
    await client.waitForText('\r\nfirst-2\r\n', 10000, mark);
    const acksOf = (seq) => client.received.filter((m) => m.messageType === MessageType.ACK
      && JSON.parse(m.payload).AcknowledgedMessageSequenceNumber === seq).length;
    await client.waitFor(() => acksOf(first) === 2, 5000, 'two acks of the duplicated message');
    assert.equal(acksOf(first + 1), 1);
    assert.equal(rec.stats.outOfOrderInput, 1);
    assert.equal(rec.stats.duplicateInput, 1);
    // The duplicate was not typed twice: the next command line starts clean.
    await prompt(client, mark);
    const next = client.text().length;
    client.type('echo "after-$((2+5))"\r');
    await client.waitForText('\r\nafter-7\r\n', 10000, next);
    assert.equal(client.text().slice(mark).split('echo "fir').length, 2);
  });

  test('a malformed message is dropped without an ack and recorded', async () => {
    const { client, rec } = await open();
    await prompt(client);
    const bad = encode({ messageType: MessageType.INPUT, sequenceNumber: client.nextSeq, payloadType: PayloadType.OUTPUT, payload: 'x' });
    bad[bad.length - 1] = 0x79; // payload no longer matches its digest
    client.ws.send(bad);
    await aws.waitFor(() => rec.protocolErrors.some((e) => /PayloadDigest/.test(e)), 5000, 'the digest error');
    // A valid message still goes through afterwards (the bad one did not consume a seq).
    const mark = client.text().length;
    client.type('echo "ok-$((3*3))"\r');
    await client.waitForText('\r\nok-9\r\n', 10000, mark);
  });

  test('handshake: the session type is agreed, HandshakeComplete carries the customer message', async () => {
    const { client, rec } = await open({ handshake: 'session', customerMessage: 'hello from the fake' });
    await client.waitFor((c) => c.handshakeComplete, 10000, 'HandshakeComplete');
    assert.equal(client.handshakeRequest.RequestedClientActions[0].ActionType, 'SessionType');
    assert.equal(client.handshakeRequest.RequestedClientActions[0].ActionParameters.SessionType, 'Standard_Stream');
    assert.equal(client.handshakeComplete.CustomerMessage, 'hello from the fake');
    assert.equal(typeof client.handshakeComplete.HandshakeTimeToComplete, 'number');
    assert.equal(rec.handshake.completed, true);
    assert.equal(rec.handshake.response.ProcessedClientActions[0].ActionStatus, 1);
    await prompt(client);
    const mark = client.text().length;
    client.type('echo "hs-$((5+5))"\r');
    await client.waitForText('\r\nhs-10\r\n', 10000, mark);
    const types = client.received.filter((m) => m.messageType === MessageType.OUTPUT).map((m) => m.payloadType);
    assert.deepEqual(types.slice(0, 2), [PayloadType.HANDSHAKE_REQUEST, PayloadType.HANDSHAKE_COMPLETE]);
  });

  test('input sent before the handshake completes is acknowledged but dropped, as the agent does', async () => {
    const { client, rec } = await open({ handshake: 'session' }, {
      onHandshakeRequest: (c) => c.type('echo "early-$((1+1))"\r'),
    });
    await client.waitFor((c) => c.handshakeComplete, 10000, 'HandshakeComplete');
    await prompt(client);
    const mark = client.text().length;
    client.type('echo "later-$((2+2))"\r');
    await client.waitForText('\r\nlater-4\r\n', 10000, mark);
    assert.equal(rec.discardedDuringHandshake, 1);
    assert.equal(client.unacked.size, 0);
    assert.ok(!client.text().includes('early'));
  });

  // A data key for this session as the session-manager-plugin gets one: GenerateDataKey,
  // signed with the operator's credentials, with the context the agent decrypts under.
  async function dataKey(session, { challenge } = {}) {
    const context = { 'aws:ssm:SessionId': session.SessionId, 'aws:ssm:TargetId': NODE };
    if (challenge) context['aws:ssm:RandomChallenge'] = challenge;
    const r = await kmsCall(aws, creds, 'GenerateDataKey', { KeyId: aws.kmsKeyArn, NumberOfBytes: 64, EncryptionContext: context });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return { ciphertextBlob: r.json.CiphertextBlob, plaintext: Buffer.from(r.json.Plaintext, 'base64'), challengeAcknowledged: Boolean(challenge) };
  }

  async function openKms(faults, { plaintextInput = false, withChallenge = true } = {}) {
    const s = await startSession({ handshake: 'kms', ...faults });
    const rec = aws.state.sessions.get(s.SessionId);
    // The challenge is in the handshake request; the key is fetched when it arrives, as the
    // plugin does. Here: connect, read the request, then answer (the agent waits 15 s).
    const client = new DataChannelClient({ streamUrl: s.StreamUrl, tokenValue: s.TokenValue, ca: aws.caPem, plaintextInput });
    clients.push(client);
    const handle = client.handle.bind(client);
    let pending = null;
    client.handle = (msg) => {
      if (msg.payloadType === PayloadType.HANDSHAKE_REQUEST && !client.kms) { pending = msg; return; }
      handle(msg);
    };
    await client.connect();
    await client.waitFor(() => pending, 10000, 'the handshake request');
    const req = JSON.parse(pending.payload.toString('utf8'));
    const challenge = req.RequestedClientActions.find((a) => a.ActionType === 'KMSEncryption').ActionParameters.Challenge;
    client.kms = await dataKey(s, { challenge: withChallenge ? challenge : undefined });
    handle(pending);
    return { client, rec, session: s };
  }

  test('KMS encryption: data key, challenge, then only encrypted payloads both ways', async () => {
    const { client, rec } = await openKms({ requireKmsChallengeResponse: true });
    await client.waitFor((c) => c.handshakeComplete, 10000, 'HandshakeComplete');
    assert.equal(client.handshakeComplete.CustomerMessage, 'This session is encrypted using AWS KMS.');
    assert.deepEqual(rec.handshake.kms, { challengeAcknowledged: true, challengeConfirmed: true });
    await prompt(client);
    const mark = client.text().length;
    client.type('echo sealed-$((6*7))\r');
    await client.waitForText(/sealed-42/, 10000, mark);
    // What went over the wire was ciphertext: no received payload holds the text.
    assert.ok(!client.received.some((m) => m.payload?.includes?.('sealed-42')));
    assert.equal(rec.stats.undecryptable ?? 0, 0);
  });

  test('KMS encryption: the agent refuses an unencrypted keystroke (not acknowledged, not run)', async () => {
    const { client, rec } = await openKms({}, { plaintextInput: true });
    await client.waitFor((c) => c.handshakeComplete, 10000, 'HandshakeComplete');
    await prompt(client);
    const mark = client.text().length;
    const seq = client.type('echo plain-$((6*7))\r');
    await aws.waitFor(() => (rec.stats.undecryptable ?? 0) >= 2, 10000, 'the agent to refuse the keystroke (and its resend)');
    assert.ok(client.unacked.has(seq), 'the plaintext keystroke is never acknowledged');
    assert.ok(!client.text().slice(mark).includes('plain-42'));
    assert.match(rec.protocolErrors.join('\n'), /Error decrypting stream data message sequence/);
  });

  test('KMS encryption: a data key without the challenge is refused where the agent requires it', async () => {
    const { client, rec } = await openKms({ requireKmsChallengeResponse: true }, { withChallenge: false });
    const closed = await client.waitFor((c) => c.closed, 10000, 'channel_closed');
    assert.match(closed.Output, /client does not support required encryption context random challenge/);
    assert.equal(rec.status, 'Failed');
  });

  test('KMS encryption requested: a client that declines gets channel_closed with the reason', async () => {
    const { client, rec } = await open({ handshake: 'kms' });
    const closed = await client.waitFor((c) => c.closed, 10000, 'channel_closed');
    const kms = client.handshakeRequest.RequestedClientActions.find((a) => a.ActionType === 'KMSEncryption');
    assert.match(kms.ActionParameters.KMSKeyId, /^arn:aws:kms:us-east-1:123456789012:key\//);
    assert.match(closed.Output, /KMSEncryption failed on client with status 3/);
    assert.equal(rec.status, 'Failed');
    assert.match(rec.failure, /KMSEncryption/);
    assert.equal(client.output.length, 0, 'no shell output without encryption');
  });

  test('TerminateSession closes the data channel and hangs up the shell', async () => {
    const { client, session, rec } = await open();
    await prompt(client);
    const r = await ssmCall(aws, creds, 'TerminateSession', { SessionId: session.SessionId });
    assert.equal(r.status, 200);
    const closed = await client.waitFor((c) => c.closed, 10000, 'channel_closed');
    assert.equal(closed.SessionId, session.SessionId);
    await client.waitFor((c) => c.wsClosed, 5000, 'WebSocket close');
    assert.equal(rec.status, 'Terminated');
    assert.equal(rec.endedBy, 'terminate-session');
    assert.ok(aws.state.terminated.some((t) => t.sessionId === session.SessionId && t.accessKeyId === creds.accessKeyId));
    const gone = () => { try { process.kill(rec.hostPid, 0); return false; } catch { return true; } };
    await aws.waitFor(gone, 5000, 'the host shell to exit');
  });

  test('a session whose client disappears ends after the disconnected timeout', async () => {
    const { client, rec } = await open({ disconnectedTimeoutMs: 300 });
    await prompt(client);
    client.disconnect();
    await aws.waitFor(() => rec.endedBy === 'idle-timeout', 5000, 'the session to time out');
    assert.equal(rec.status, 'Terminated');
    const gone = () => { try { process.kill(rec.hostPid, 0); return false; } catch { return true; } };
    await aws.waitFor(gone, 5000, 'the host shell to exit');
  });

  test('the token is single-use; ResumeSession reconnects to the same shell', async () => {
    const s = await startSession();
    const rec = aws.state.sessions.get(s.SessionId);
    const wrong = new DataChannelClient({ streamUrl: s.StreamUrl, tokenValue: 'not-the-token', ca: aws.caPem });
    clients.push(wrong);
    await wrong.connect();
    const rejected = await wrong.waitFor((c) => c.wsClosed, 5000, 'rejection');
    assert.equal(rejected.code, 1008);
    assert.equal(rec.rejectedConnections, 1);

    const client = new DataChannelClient({ streamUrl: s.StreamUrl, tokenValue: s.TokenValue, ca: aws.caPem });
    clients.push(client);
    await client.connect();
    await prompt(client);
    let mark = client.text().length;
    client.type('X=kept; sleep 0.5; echo "late-$((1+2))"\r');
    await client.waitForText('sleep', 5000, mark);
    client.disconnect();
    await client.waitFor((c) => c.wsClosed, 5000, 'disconnect');

    const reuse = new DataChannelClient({ streamUrl: s.StreamUrl, tokenValue: s.TokenValue, ca: aws.caPem });
    clients.push(reuse);
    await reuse.connect();
    assert.equal((await reuse.waitFor((c) => c.wsClosed, 5000, 'rejection')).code, 1008);

    const resumed = await ssmCall(aws, creds, 'ResumeSession', { SessionId: s.SessionId });
    assert.equal(resumed.status, 200);
    assert.notEqual(resumed.json.TokenValue, s.TokenValue);
    client.streamUrl = resumed.json.StreamUrl;
    client.tokenValue = resumed.json.TokenValue;
    client.wsClosed = null;
    await client.connect();
    await client.waitForText('\r\nlate-3\r\n', 10000, mark);
    await prompt(client, mark);
    mark = client.text().length;
    client.type('echo "x=$X"\r');
    await client.waitForText('\r\nx=kept\r\n', 10000, mark);
    assert.equal(rec.connections, 2);
    assert.deepEqual(rec.protocolErrors.filter((e) => !/TokenValue/.test(e)), []);
  });
});

describe('test endpoints', () => {
  test('/__test/state lists sessions and requests without secrets; faults and reset', async () => {
    const s = await startSession();
    const st = await httpsRequest(`${aws.testUrl}/state`, { ca: aws.caPem });
    assert.equal(st.status, 200);
    const state = JSON.parse(st.body);
    const session = state.sessions.find((x) => x.sessionId === s.SessionId);
    assert.equal(session.owner.accessKeyId, creds.accessKeyId);
    assert.equal(session.token, undefined);
    assert.ok(!st.body.includes(creds.secretAccessKey));
    assert.ok(!st.body.includes(creds.sessionToken));
    assert.ok(state.requests.some((q) => q.action === 'StartSession' && q.accessKeyId === creds.accessKeyId));

    const f = await httpsRequest(`${aws.testUrl}/faults`, {
      method: 'POST', ca: aws.caPem, body: JSON.stringify({ sessionId: s.SessionId, dropOutputPercent: 20 }),
    });
    assert.equal(f.status, 200);
    assert.equal(aws.state.sessions.get(s.SessionId).faults.dropOutputPercent, 20);

    const r = await httpsRequest(`${aws.testUrl}/reset`, { method: 'POST', ca: aws.caPem });
    assert.equal(r.status, 200);
    assert.equal(aws.state.sessions.size, 0);
    assert.equal(aws.state.credentials.size, 0);
    const after = await ssmCall(aws, creds, 'DescribeInstanceInformation', {});
    assert.equal(after.json.__type, 'UnrecognizedClientException');
  });
});
