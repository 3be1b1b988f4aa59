// A small Session Manager data-channel client for tests (the client side of
// ssm-protocol.md §D), built on codec.mjs: open message, in-order delivery with an
// out-of-order buffer, acks (and re-acks of duplicates), retransmission of unacked input,
// the handshake (declining KMS as a client without KMS must, or, given a data key, doing
// it as the session-manager-plugin does), Size messages and channel_closed. It is a test
// tool, not a product client.
import { randomUUID, randomBytes, createCipheriv, createDecipheriv } from 'node:crypto';
import WebSocket from 'ws';
import {
  encode, decode, encodeAck, parseJsonPayload, MessageType, PayloadType,
} from './codec.mjs';

export class DataChannelClient {
  // onHandshakeRequest(client) runs before the HandshakeResponse is sent (tests use it to
  // send input too early).
  // kms: { ciphertextBlob, plaintext (64 bytes), challengeAcknowledged } from
  // GenerateDataKey: answer KMSEncryption with it and encrypt Output payloads; with
  // plaintextInput, keystrokes go out unencrypted anyway (to see the agent refuse them).
  constructor({ streamUrl, tokenValue, ca, cols = 80, rows = 24, clientId = randomUUID(), onHandshakeRequest, kms, plaintextInput = false }) {
    Object.assign(this, { streamUrl, tokenValue, ca, cols, rows, clientId, onHandshakeRequest, kms, plaintextInput });
    this.output = Buffer.alloc(0);
    this.expected = 0;
    this.ooo = new Map();
    this.nextSeq = 0;
    this.unacked = new Map();      // seq -> { bytes, lastSent }
    this.live = false;
    this.closed = null;            // channel_closed payload
    this.wsClosed = null;          // { code, reason }
    this.handshakeRequest = null;
    this.handshakeComplete = null;
    this.received = [];            // every decoded message, for assertions
    this.listeners = new Set();
    this.tick = setInterval(() => this.retransmit(), 100);
  }

  connect() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.streamUrl, { ca: this.ca });
      this.ws = ws;
      ws.on('open', () => {
        ws.send(JSON.stringify({
          MessageSchemaVersion: '1.0',
          RequestId: randomUUID(),
          TokenValue: this.tokenValue,
          ClientId: this.clientId,
          ClientVersion: '1.2.0.0',
        }));
        for (const m of this.unacked.values()) m.lastSent = 0; // resend after a reconnect
        resolve(this);
      });
      ws.on('unexpected-response', (req, res) => reject(new Error(`data channel upgrade refused: HTTP ${res.statusCode}`)));
      ws.on('error', (e) => { if (ws.readyState !== WebSocket.OPEN) reject(e); });
      ws.on('message', (data) => this.onFrame(data));
      ws.on('close', (code, reason) => {
        this.wsClosed = { code, reason: reason.toString() };
        this.changed();
      });
    });
  }

  changed() { for (const l of this.listeners) l(); }

  // Resolves when predicate(this) is truthy; rejects after timeoutMs.
  waitFor(predicate, timeoutMs = 10000, what = 'condition') {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = predicate(this);
        if (v) { done(); resolve(v); }
      };
      const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${what}; output so far: ${JSON.stringify(this.text().slice(-400))}`)); }, timeoutMs);
      const done = () => { clearTimeout(timer); this.listeners.delete(check); };
      this.listeners.add(check);
      check();
    });
  }

  text() { return this.output.toString('utf8'); }

  waitForText(pattern, timeoutMs = 10000, from = 0) {
    const test = typeof pattern === 'string' ? (t) => t.includes(pattern) : (t) => pattern.test(t);
    return this.waitFor((c) => test(c.text().slice(from)), timeoutMs, `output ${pattern}`);
  }

  onFrame(data) {
    const msg = decode(data);
    if (!msg.ok || !msg.valid) return;
    this.received.push(msg);
    switch (msg.messageType) {
      case MessageType.ACK: {
        const ack = parseJsonPayload(msg);
        if (ack) this.unacked.delete(ack.AcknowledgedMessageSequenceNumber);
        break;
      }
      case MessageType.OUTPUT: this.onStream(msg); break;
      case MessageType.CHANNEL_CLOSED: this.closed = parseJsonPayload(msg) ?? {}; break;
      default: break;
    }
    this.changed();
  }

  onStream(msg) {
    const seq = Number(msg.sequenceNumber);
    if (seq === this.expected) {
      this.handle(msg);
      this.ws.send(encodeAck(msg));
      this.expected += 1;
      while (this.ooo.has(this.expected)) {
        this.handle(this.ooo.get(this.expected));
        this.ooo.delete(this.expected);
        this.expected += 1;
      }
    } else if (seq > this.expected) {
      this.ooo.set(seq, msg);
      this.ws.send(encodeAck(msg));
    } else {
      this.ws.send(encodeAck(msg)); // duplicate: ack again so the agent stops resending
    }
  }

  seal(plain) {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.kms.plaintext.subarray(32, 64), nonce);
    const body = Buffer.concat([c.update(plain), c.final()]);
    return Buffer.concat([nonce, body, c.getAuthTag()]);
  }

  open(sealed) {
    const d = createDecipheriv('aes-256-gcm', this.kms.plaintext.subarray(0, 32), sealed.subarray(0, 12));
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
  }

  handle(msg) {
    switch (msg.payloadType) {
      case PayloadType.OUTPUT:
      case PayloadType.STDERR:
      case PayloadType.EXIT_CODE:
        this.output = Buffer.concat([this.output, this.encrypting ? this.open(msg.payload) : msg.payload]);
        this.goLive();
        break;
      case PayloadType.HANDSHAKE_REQUEST: {
        this.handshakeRequest = parseJsonPayload(msg);
        this.onHandshakeRequest?.(this);
        const actions = (this.handshakeRequest?.RequestedClientActions ?? []).map((a) => {
          if (a.ActionType === 'SessionType') return { ActionType: 'SessionType', ActionStatus: 1, ActionResult: null, Error: '' };
          if (a.ActionType === 'KMSEncryption' && this.kms) {
            this.encrypting = true;
            return {
              ActionType: 'KMSEncryption',
              ActionStatus: 1,
              ActionResult: { KMSCipherTextKey: this.kms.ciphertextBlob, KMSCipherTextHash: null, ChallengeAcknowledgement: this.kms.challengeAcknowledged },
              Error: '',
            };
          }
          return { ActionType: a.ActionType, ActionStatus: 3, ActionResult: null, Error: `${a.ActionType} is not supported by this client` };
        });
        const errors = actions.filter((a) => a.ActionStatus !== 1).map((a) => a.Error);
        this.sendStream(PayloadType.HANDSHAKE_RESPONSE, JSON.stringify({
          ClientVersion: '1.2.0.0', ProcessedClientActions: actions, Errors: errors.length ? errors : null,
        }));
        break;
      }
      case PayloadType.ENC_CHALLENGE_REQUEST: {
        const req = parseJsonPayload(msg);
        const back = this.seal(this.open(Buffer.from(req.Challenge, 'base64')));
        this.sendStream(PayloadType.ENC_CHALLENGE_RESPONSE, JSON.stringify({ Challenge: back.toString('base64') }));
        break;
      }
      case PayloadType.HANDSHAKE_COMPLETE:
        this.handshakeComplete = parseJsonPayload(msg);
        this.goLive();
        break;
      default: break;
    }
  }

  goLive() {
    if (this.live) return;
    this.live = true;
    this.resize(this.cols, this.rows);
  }

  sendStream(payloadType, payload) {
    const seq = this.nextSeq;
    this.nextSeq += 1;
    const bytes = encode({ messageType: MessageType.INPUT, sequenceNumber: seq, payloadType, payload });
    this.unacked.set(seq, { bytes, lastSent: Date.now() });
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes);
    return seq;
  }

  retransmit() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    const now = Date.now();
    for (const m of this.unacked.values()) {
      if (now - m.lastSent > 200) { m.lastSent = now; this.ws.send(m.bytes); }
    }
  }

  type(text) {
    const bytes = Buffer.from(text);
    return this.sendStream(PayloadType.OUTPUT, this.encrypting && !this.plaintextInput ? this.seal(bytes) : bytes);
  }

  resize(cols, rows) {
    this.cols = cols;
    this.rows = rows;
    return this.sendStream(PayloadType.SIZE, JSON.stringify({ cols, rows }));
  }

  // Drop the socket without ending the session (as a network failure would).
  disconnect() {
    this.ws.terminate();
  }

  close() {
    clearInterval(this.tick);
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.terminate();
  }
}
