// Fake ssmmessages data channel, playing MGS and the SSM agent together
// (ssm-protocol.md §D): WebSocket at /v1/data-channel/<sessionId>, first a text frame with
// the open message and the session's TokenValue, then binary ClientMessages both ways with
// sequence numbers, acknowledgements and retransmission, the optional handshake, Size
// messages that resize a real pty, and channel_closed at the end.
//
// Faults for tests (per session or global): dropOutputPercent, reorderPercent,
// duplicatePercent (outgoing output), dropInputPercent (incoming input is ignored, not
// acked, so the client has to retransmit), handshake: 'none' | 'session' | 'kms'
// ('kms': the agent's KMS encryption as amazon-ssm-agent does it, see KmsAgent below),
// requireKmsChallengeResponse (the agent's Kms.RequireKMSChallengeResponse setting).
import { randomUUID, randomBytes, createCipheriv, createDecipheriv } from 'node:crypto';
import { WebSocketServer } from 'ws';
import {
  encode, decode, encodeAck, parseJsonPayload, MessageType, PayloadType, Flags,
} from './codec.mjs';
import { startHostShell } from './host-shell.mjs';

const MAX_PAYLOAD = 1024;           // the agent reads the pty 1 KiB at a time
const RETRANSMIT_TICK_MS = 100;
const OUT_BUFFER_CAP = 10000;       // messages, as the agent's outgoing buffer
const IN_BUFFER_CAP = 10000;
const HANDSHAKE_TIMEOUT_MS = 15000;
const OPEN_TIMEOUT_MS = 10000;
const EXIT_ACK_WAIT_MS = 2000;      // the agent waits this long for its output to be acked
const AGENT_VERSION = '3.3.1142.0';
// A session whose client went away without TerminateSession ends after this long, as an
// SSM session does after its idle timeout (20 minutes by default on AWS).
const DISCONNECTED_TIMEOUT_MS = 20 * 60 * 1000;

const chance = (percent) => percent > 0 && Math.random() * 100 < percent;

// Length of the longest prefix of buf (at most max bytes) that ends on a UTF-8 character
// boundary, so a multi-byte character is never split across two messages. Bytes that are
// not UTF-8 at all are passed through in max-sized pieces.
export function utf8Cut(buf, max, final) {
  const n = Math.min(buf.length, max);
  if (n === 0) return 0;
  let start = n - 1;
  for (let k = 0; start > 0 && k < 3 && (buf[start] & 0xc0) === 0x80; k += 1) start -= 1;
  const lead = buf[start];
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  if (n - start >= need) return n;            // complete, or not UTF-8 at all
  if (n < buf.length) return start > 0 ? start : n; // the rest is here: send it whole next time
  if (final) return n;
  return start;                                // wait for the character's remaining bytes
}

// AES-256-GCM as the agent's block cipher (agent/session/crypto/blockcipher.go): a 12-byte
// nonce in front, the 16-byte tag behind, no additional data. The agent encrypts with the
// first half of the 64-byte data key and decrypts with the second.
function gcmSeal(key, plain) {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([nonce, body, c.getAuthTag()]);
}

function gcmOpen(key, sealed) {
  if (sealed.length < 28) throw new Error('ciphertext too short');
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
}

class ChannelSession {
  constructor(rec, channel) {
    this.rec = rec;
    this.channel = channel;
    this.ws = null;
    this.host = null;
    this.started = false;
    this.live = false;            // output may flow (no handshake, or handshake complete)
    this.handshake = 'none';
    this.handshakeTimer = null;
    this.pendingOut = Buffer.alloc(0);
    this.outSeq = 0;
    this.outBuffer = [];          // unacked stream messages, oldest first
    this.expectedIn = 0;
    this.inBuffer = new Map();    // seq -> decoded message
    this.srtt = 100;
    this.rttvar = 0;
    this.rto = 200;
    this.held = null;             // a frame held back by the reorder fault
    this.heldTimer = null;
    // MGS's pause_publication to the agent while no client is connected: the agent then
    // neither sends nor resends (amazon-ssm-agent datachannel.go SendStreamDataMessage,
    // ResendStreamDataMessageScheduler) and stops reading the pty (shell/shell.go reads
    // only while dataChannel.IsActive()).
    this.paused = false;
    this.sentOutputBytes = 0;
    this.cutArmed = false;        // faults.cutAfterOutputBytes crossed: acks are being lost
    this.acksToLose = 0;
    this.tick = setInterval(() => this.retransmit(), RETRANSMIT_TICK_MS);
    this.tick.unref();
    this.ending = false;
  }

  get faults() { return { ...this.channel.state.faults, ...this.rec.faults }; }

  problem(text) {
    if (this.rec.protocolErrors.length < 200) this.rec.protocolErrors.push(text);
  }

  // A client connected and sent a valid open message.
  attach(ws) {
    if (this.ws && this.ws !== ws) this.ws.close(1000, 'replaced by a newer connection');
    clearTimeout(this.abandonTimer);
    this.ws = ws;
    this.rec.connections += 1;
    this.rec.status = 'Connected';
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('close', () => {
      if (this.ws === ws) {
        this.ws = null;
        this.paused = true;
        this.host?.pauseOutput();
        if (this.rec.status === 'Connected') this.rec.status = 'Disconnected';
        if (!this.ending) {
          const limit = this.faults.disconnectedTimeoutMs ?? this.channel.config.disconnectedTimeoutMs ?? DISCONNECTED_TIMEOUT_MS;
          this.abandonTimer = setTimeout(() => this.end('idle-timeout', ''), limit);
          this.abandonTimer.unref();
        }
      }
    });
    if (!this.started) {
      this.started = true;
      this.startHost();
      const mode = this.faults.handshake ?? 'none';
      if (mode === 'session' || mode === 'kms') this.sendHandshakeRequest(mode === 'kms');
      else this.goLive();
    } else {
      // Reconnect (start_publication to the agent): everything unacked goes out again
      // through the normal retransmission, oldest first, one per tick as the agent's
      // scheduler does; the pty is read again.
      this.paused = false;
      for (const m of this.outBuffer) m.lastSent = 0;
      if (this.outBuffer.length < OUT_BUFFER_CAP / 2) this.host?.resumeOutput();
    }
  }

  startHost() {
    this.host = startHostShell({
      command: this.channel.config.hostCommand,
      onData: (d) => this.onHostOutput(d),
      onExit: (code) => this.onHostExit(code),
    });
    this.rec.hostPid = this.host.child.pid;
  }

  // ---- outgoing ----

  sendRaw(bytes) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(bytes, { binary: true });
  }

  sendStream(payloadType, payload) {
    // SendStreamDataMessage: Output, StdErr and ExitCode go out encrypted in a KMS session.
    if (this.encryption && (payloadType === PayloadType.OUTPUT || payloadType === PayloadType.STDERR || payloadType === PayloadType.EXIT_CODE)) {
      payload = gcmSeal(this.encryption.agentKey, Buffer.from(payload));
    }
    const seq = this.outSeq;
    this.outSeq += 1;
    const messageId = randomUUID();
    const bytes = encode({
      messageType: MessageType.OUTPUT,
      sequenceNumber: seq,
      flags: seq === 0 ? Flags.SYN : 0n,
      messageId,
      payloadType,
      payload,
    });
    const entry = { seq, messageId, bytes, lastSent: Date.now(), sends: 0 };
    this.outBuffer.push(entry);
    this.rec.stats.unacked = this.outBuffer.length; // output messages the client has not acknowledged yet
    if (this.outBuffer.length >= OUT_BUFFER_CAP) this.host?.pauseOutput();
    // Kept for the retransmission after the client is back; while the agent is away
    // (publication paused towards the client) nothing of it reaches the client either.
    if (this.paused || this.agentAway) return;
    this.transmit(entry);
    this.sentOutputBytes += payload.length;
    const f = this.faults;
    if (f.cutAfterOutputBytes && !this.cutArmed && this.sentOutputBytes >= f.cutAfterOutputBytes) {
      // A cut as a dying NAT or proxy gives one: the client's acks in flight are lost
      // (faults.lostAcks of them), then the connection drops without a close frame. The
      // output they acknowledged is retransmitted after the client resumes: duplicates it
      // has shown already.
      this.cutArmed = true;
      this.acksToLose = f.lostAcks ?? 0;
      if (this.acksToLose === 0) this.cut();
    }
  }

  // One transmission of a stream message, through the fault injector.
  transmit(entry) {
    entry.lastSent = Date.now();
    entry.sends += 1;
    this.rec.stats.outputSends += 1;
    if (entry.sends > 1) this.rec.stats.retransmits += 1;
    const f = this.faults;
    if (chance(f.dropOutputPercent)) { this.rec.stats.dropped += 1; return; }
    if (this.held === null && chance(f.reorderPercent)) {
      this.held = entry.bytes;
      this.rec.stats.reordered += 1;
      this.heldTimer = setTimeout(() => this.releaseHeld(), 50);
      return;
    }
    this.sendRaw(entry.bytes);
    if (chance(f.duplicatePercent)) { this.rec.stats.duplicated += 1; this.sendRaw(entry.bytes); }
    this.releaseHeld();
  }

  releaseHeld() {
    clearTimeout(this.heldTimer);
    if (this.held === null) return;
    const bytes = this.held;
    this.held = null;
    this.sendRaw(bytes);
  }

  // MGS's pause_publication / start_publication to the client: the agent's side is away
  // (or back). While away nothing reaches the agent: input is neither processed nor acked,
  // and counted, so a test sees whether the client held it as it must (ssm-protocol.md
  // §D.14; the agent does the same on its side, datachannel.go handlePausePublicationMessage).
  publication(kind) {
    this.agentAway = kind === 'pause';
    this.sendRaw(encode({
      messageType: kind === 'pause' ? MessageType.PAUSE_PUBLICATION : MessageType.START_PUBLICATION,
      sequenceNumber: 0,
      flags: 0,
      payloadType: PayloadType.NONE,
      payload: Buffer.alloc(0),
      allowEmpty: true,
    }));
    if (!this.agentAway) for (const m of this.outBuffer) m.lastSent = 0;
    // Resolves once the client has read the message: its pong to a ping sent after it
    // (frames are read in order on the one connection).
    const ws = this.ws;
    return new Promise((resolve) => {
      if (!ws) { resolve(false); return; }
      ws.once('pong', () => resolve(true));
      ws.once('close', () => resolve(false));
      ws.ping();
    });
  }

  // Drops the client's connection without a close frame (TCP gone).
  cut() {
    if (!this.ws) return;
    this.rec.stats.cuts += 1;
    this.ws.terminate();
  }

  retransmit() {
    const oldest = this.outBuffer[0];
    if (!oldest || !this.ws || this.paused || this.agentAway) return;
    if (Date.now() - oldest.lastSent > this.rto) this.transmit(oldest);
  }

  onHostOutput(data) {
    this.rec.outputBytes += data.length;
    this.pendingOut = Buffer.concat([this.pendingOut, data]);
    this.flushOutput(false);
  }

  flushOutput(final) {
    if (!this.live) return;
    while (this.pendingOut.length > 0) {
      const n = utf8Cut(this.pendingOut, MAX_PAYLOAD, final);
      if (n === 0) break;
      this.sendStream(PayloadType.OUTPUT, this.pendingOut.subarray(0, n));
      this.pendingOut = this.pendingOut.subarray(n);
    }
  }

  goLive() {
    this.live = true;
    this.flushOutput(false);
  }

  sendHandshakeRequest(kms) {
    this.handshake = 'awaiting-response';
    const actions = [{ ActionType: 'SessionType', ActionParameters: { SessionType: 'Standard_Stream', Properties: null } }];
    if (kms) {
      // blockcipher.go NewBlockCipherKMS: a 16-byte random challenge, base64.
      this.kmsKeyId = this.channel.kms?.keyArn ?? `arn:aws:kms:${this.channel.config.region}:${this.channel.config.account}:key/00000000-1111-4222-8333-444444444444`;
      this.kmsChallenge = randomBytes(16).toString('base64');
      actions.push({
        ActionType: 'KMSEncryption',
        ActionParameters: { KMSKeyId: this.kmsKeyId, Challenge: this.kmsChallenge },
      });
    }
    const request = { AgentVersion: AGENT_VERSION, RequestedClientActions: actions };
    this.rec.handshake = { requested: actions.map((a) => a.ActionType), response: null, completed: false };
    this.handshakeStarted = process.hrtime.bigint();
    this.sendStream(PayloadType.HANDSHAKE_REQUEST, JSON.stringify(request));
    this.handshakeTimer = setTimeout(() => {
      this.fail('Handshake timed out. Please ensure that you have the latest version of the session manager plugin.');
    }, HANDSHAKE_TIMEOUT_MS);
    this.handshakeTimer.unref();
  }

  onHandshakeResponse(msg) {
    const resp = parseJsonPayload(msg);
    this.rec.handshake.response = resp ?? msg.payload.toString('utf8');
    clearTimeout(this.handshakeTimer);
    if (!resp || !Array.isArray(resp.ProcessedClientActions)) {
      this.fail('Encountered error while initiating handshake. Handshake response is not valid JSON.');
      return;
    }
    for (const type of this.rec.handshake.requested) {
      const done = resp.ProcessedClientActions.find((a) => a?.ActionType === type);
      if (!done) {
        this.fail(`Encountered error while initiating handshake. ${type} was not processed by the client.`);
        return;
      }
      if (done.ActionStatus !== 1) {
        this.fail(`Encountered error while initiating handshake. ${type} failed on client with status ${done.ActionStatus} error: ${done.Error ?? ''}`);
        return;
      }
      if (type === 'KMSEncryption' && !this.finalizeKms(done.ActionResult)) return;
    }
    if (this.encryption) {
      // datachannel.go PerformHandshake: the encryption challenge before HandshakeComplete.
      this.sendEncryptionChallenge();
      return;
    }
    this.completeHandshake();
  }

  // datachannel.go finalizeKMSEncryption + blockcipher.go UpdateEncryptionKey: the data key
  // from kms:Decrypt under the context the client must have used.
  finalizeKms(result) {
    const fail = (why) => { this.fail(`Encountered error while initiating handshake. ${why}`); return false; };
    if (!result || typeof result.KMSCipherTextKey !== 'string') return fail('KMSEncryption result has no KMSCipherTextKey.');
    const ack = result.ChallengeAcknowledgement === true;
    if (this.faults.requireKmsChallengeResponse && !ack) return fail('client does not support required encryption context random challenge');
    const context = { 'aws:ssm:SessionId': this.rec.sessionId, 'aws:ssm:TargetId': this.rec.target };
    if (ack) context['aws:ssm:RandomChallenge'] = this.kmsChallenge;
    let key;
    try {
      key = this.channel.kms.decrypt(result.KMSCipherTextKey, context, this.kmsKeyId);
    } catch (e) {
      return fail(`Fetching data key failed: Unable to retrieve data key, ${e.code ?? e.message}`);
    }
    if (key.length !== 64) return fail(`Fetching data key failed: the data key has ${key.length} bytes, not 64`);
    this.encryption = { agentKey: key.subarray(0, 32), clientKey: key.subarray(32, 64) };
    this.rec.handshake.kms = { challengeAcknowledged: ack };
    return true;
  }

  sendEncryptionChallenge() {
    this.handshake = 'awaiting-challenge';
    this.encChallenge = randomBytes(64);
    this.sendStream(PayloadType.ENC_CHALLENGE_REQUEST, JSON.stringify({ Challenge: gcmSeal(this.encryption.agentKey, this.encChallenge).toString('base64') }));
    this.handshakeTimer = setTimeout(() => this.fail('Timed out waiting for encryption challenge.'), HANDSHAKE_TIMEOUT_MS);
    this.handshakeTimer.unref();
  }

  onEncryptionChallengeResponse(msg) {
    clearTimeout(this.handshakeTimer);
    const resp = parseJsonPayload(msg);
    let back;
    try {
      back = gcmOpen(this.encryption.clientKey, Buffer.from(resp?.Challenge ?? '', 'base64'));
    } catch {
      this.fail('Encountered error while initiating handshake. Error decrypting encrypted text');
      return;
    }
    if (!back.equals(this.encChallenge)) {
      this.fail('Encountered error while initiating handshake. Encryption challenge does not match!');
      return;
    }
    this.rec.handshake.kms.challengeConfirmed = true;
    this.completeHandshake();
  }

  completeHandshake() {
    this.handshake = 'complete';
    this.rec.handshake.completed = true;
    const took = Number(process.hrtime.bigint() - this.handshakeStarted);
    this.sendStream(PayloadType.HANDSHAKE_COMPLETE, JSON.stringify({
      HandshakeTimeToComplete: took,
      // buildHandshakeCompletePayload adds this for an encrypted session.
      CustomerMessage: `${this.faults.customerMessage ?? ''}${this.encryption ? 'This session is encrypted using AWS KMS.' : ''}`,
    }));
    this.goLive();
  }

  // ---- incoming ----

  onFrame(data, isBinary) {
    if (!isBinary) { this.problem('text frame after the open message'); return; }
    const msg = decode(data);
    if (!msg.ok) { this.problem(msg.error); return; }
    for (const p of msg.problems) this.problem(`${msg.messageType} seq ${msg.sequenceNumber}: ${p}`);
    if (!msg.valid) return;
    this.rec.stats.received += 1;
    if (msg.messageType === MessageType.ACK) this.onAck(msg);
    else if (msg.messageType === MessageType.INPUT) this.onInput(msg);
    else this.problem(`unexpected message type ${msg.messageType}`);
  }

  onAck(msg) {
    if (this.acksToLose > 0) {
      this.acksToLose -= 1;
      this.rec.stats.lostAcks += 1;
      if (this.acksToLose === 0) this.cut();
      return;
    }
    if (msg.sequenceNumber !== 0n) this.problem(`acknowledge with SequenceNumber ${msg.sequenceNumber}, expected 0`);
    if (msg.flags !== Flags.ACK) this.problem(`acknowledge with Flags ${msg.flags}, expected 3`);
    const ack = parseJsonPayload(msg);
    if (!ack || typeof ack.AcknowledgedMessageSequenceNumber !== 'number') {
      this.problem('acknowledge payload is not the expected JSON');
      return;
    }
    const idx = this.outBuffer.findIndex((m) => m.seq === ack.AcknowledgedMessageSequenceNumber);
    if (idx < 0) return; // already retired (a duplicate ack)
    const entry = this.outBuffer[idx];
    if (ack.AcknowledgedMessageId !== entry.messageId) {
      this.problem(`acknowledge of seq ${entry.seq} names MessageId ${ack.AcknowledgedMessageId}, expected ${entry.messageId}`);
    }
    if (ack.AcknowledgedMessageType !== MessageType.OUTPUT) {
      this.problem(`acknowledge names type ${ack.AcknowledgedMessageType}, expected output_stream_data`);
    }
    this.outBuffer.splice(idx, 1);
    this.rec.stats.unacked = this.outBuffer.length;
    const sample = Date.now() - entry.lastSent;
    this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - sample);
    this.srtt = 0.875 * this.srtt + 0.125 * sample;
    this.rto = Math.min(1000, this.srtt + Math.max(10, 4 * this.rttvar));
    if (this.outBuffer.length < OUT_BUFFER_CAP / 2) this.host?.resumeOutput();
    this.channel.notify();
  }

  sendAck(msg) {
    this.sendRaw(encodeAck(msg));
  }

  onInput(msg) {
    if (this.agentAway) { this.rec.stats.inputWhileAway = (this.rec.stats.inputWhileAway ?? 0) + 1; return; }
    if (chance(this.faults.dropInputPercent)) { this.rec.stats.inputDropped += 1; return; }
    const seq = Number(msg.sequenceNumber);
    if (seq === this.expectedIn) {
      if (!this.decryptInput(msg)) return; // refused: neither acked nor processed
      this.process(msg);
      this.sendAck(msg);
      this.expectedIn += 1;
      while (this.inBuffer.has(this.expectedIn)) {
        const next = this.inBuffer.get(this.expectedIn);
        this.inBuffer.delete(this.expectedIn);
        if (!this.decryptInput(next)) break;
        this.process(next);
        this.expectedIn += 1;
      }
    } else if (seq > this.expectedIn) {
      if (this.inBuffer.size >= IN_BUFFER_CAP) return;
      this.inBuffer.set(seq, msg);
      this.rec.stats.outOfOrderInput += 1;
      this.sendAck(msg);
    } else {
      this.rec.stats.duplicateInput += 1;
      this.sendAck(msg); // re-ack so the client stops retransmitting
    }
  }

  // datachannel.go processStreamDataMessage: in an encrypted session an Output payload
  // that does not decrypt is an error; the message is not acknowledged (a plaintext
  // keystroke is refused this way, and the client resends it forever).
  decryptInput(msg) {
    if (!this.encryption || msg.payloadType !== PayloadType.OUTPUT || msg.decrypted) return true;
    try {
      msg.payload = gcmOpen(this.encryption.clientKey, msg.payload);
      msg.decrypted = true;
      return true;
    } catch {
      this.rec.stats.undecryptable = (this.rec.stats.undecryptable ?? 0) + 1;
      this.problem(`Error decrypting stream data message sequence ${msg.sequenceNumber}`);
      return false;
    }
  }

  process(msg) {
    const type = msg.payloadType;
    if (this.handshake === 'awaiting-challenge') {
      if (type === PayloadType.ENC_CHALLENGE_RESPONSE) this.onEncryptionChallengeResponse(msg);
      else this.rec.discardedDuringHandshake += 1;
      return;
    }
    if (this.handshake === 'awaiting-response') {
      if (type === PayloadType.HANDSHAKE_RESPONSE) this.onHandshakeResponse(msg);
      else this.rec.discardedDuringHandshake += 1; // the agent acks but drops these
      return;
    }
    switch (type) {
      case PayloadType.OUTPUT:
        this.rec.inputBytes += msg.payload.length;
        this.host?.write(msg.payload);
        break;
      case PayloadType.SIZE: {
        const size = parseJsonPayload(msg);
        if (!size || !Number.isInteger(size.cols) || !Number.isInteger(size.rows) || size.cols < 1 || size.rows < 1) {
          this.problem(`Size payload is not {"cols":N,"rows":N}: ${msg.payload.toString('utf8').slice(0, 100)}`);
          break;
        }
        this.rec.sizes.push({ cols: size.cols, rows: size.rows });
        this.host?.resize(size.cols, size.rows);
        break;
      }
      case PayloadType.FLAG:
        this.rec.flags.push(msg.payload.length === 4 ? msg.payload.readUInt32BE(0) : -1);
        break; // a shell session ignores flags, as the agent does
      case PayloadType.HANDSHAKE_RESPONSE:
        this.problem('HandshakeResponse outside a handshake');
        break;
      default:
        this.problem(`input_stream_data with PayloadType ${type} in a shell session`);
    }
    this.channel.notify();
  }

  // ---- ending ----

  onHostExit(code) {
    this.rec.exitCode = code;
    this.host = null;
    if (this.ending) return;
    this.flushOutput(true);
    const deadline = Date.now() + EXIT_ACK_WAIT_MS;
    const waitAcks = () => {
      if (this.ending) return;
      if (this.outBuffer.length === 0 || Date.now() >= deadline || !this.ws) this.end('exit', '');
      else setTimeout(waitAcks, 20);
    };
    waitAcks();
  }

  fail(output) {
    this.rec.failure = output;
    this.end('failed', output);
  }

  // Sends channel_closed (when connected), stops the host and forgets the socket.
  end(how, output) {
    if (this.ending) return;
    this.ending = true;
    clearInterval(this.tick);
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.abandonTimer);
    this.releaseHeld();
    this.rec.status = how === 'failed' ? 'Failed' : 'Terminated';
    this.rec.endedBy = how;
    this.rec.endedAt = new Date().toISOString();
    if (this.ws) {
      const payload = {
        MessageId: randomUUID(),
        CreatedDate: new Date().toISOString(),
        DestinationId: this.rec.target,
        SessionId: this.rec.sessionId,
        MessageType: MessageType.CHANNEL_CLOSED,
        SchemaVersion: 1,
        Output: output,
      };
      this.sendRaw(encode({
        messageType: MessageType.CHANNEL_CLOSED,
        sequenceNumber: 0,
        flags: 0,
        payloadType: PayloadType.NONE,
        payload: JSON.stringify(payload),
      }));
      this.rec.channelClosedSent = true;
      const ws = this.ws;
      setTimeout(() => ws.close(1000, 'session ended'), 50);
    }
    this.host?.kill();
    this.channel.notify();
  }
}

export function createDataChannel({ config, state }) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  const live = new Map(); // sessionId -> ChannelSession
  const waiters = new Set();

  const channel = {
    config,
    state,
    kms: null,
    // Wakes anyone polling state (tests use waitFor on the returned object).
    notify() { for (const w of waiters) w(); },
    onChange(fn) { waiters.add(fn); return () => waiters.delete(fn); },
  };

  function sessionFor(rec) {
    let s = live.get(rec.sessionId);
    if (!s) { s = new ChannelSession(rec, channel); live.set(rec.sessionId, s); }
    return s;
  }

  function handleUpgrade(req, socket, head) {
    const url = new URL(req.url, 'https://ssmmessages.invalid');
    const m = /^\/v1\/data-channel\/([^/]+)$/.exec(url.pathname);
    const rec = m && state.sessions.get(decodeURIComponent(m[1]));
    if (!rec || rec.status === 'Terminated' || rec.status === 'Failed') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const timer = setTimeout(() => ws.close(1008, 'no open message'), OPEN_TIMEOUT_MS);
      ws.once('message', (data, isBinary) => {
        clearTimeout(timer);
        let open;
        try { open = isBinary ? null : JSON.parse(data.toString('utf8')); } catch { open = null; }
        const problems = [];
        if (!open) problems.push('first frame is not a JSON text frame');
        else {
          if (open.MessageSchemaVersion !== '1.0') problems.push('open message MessageSchemaVersion is not "1.0"');
          if (typeof open.RequestId !== 'string' || open.RequestId.length < 16) problems.push('open message RequestId missing or shorter than 16');
          if (typeof open.ClientId !== 'string' || open.ClientId.length === 0) problems.push('open message ClientId missing');
        }
        const tokenOk = open && typeof open.TokenValue === 'string' && open.TokenValue === rec.token && !rec.tokenUsed;
        if (!tokenOk) problems.push('open message TokenValue is not the session\'s current token');
        for (const p of problems) rec.protocolErrors.push(p);
        if (!tokenOk || !open) {
          rec.rejectedConnections += 1;
          ws.close(1008, 'invalid token');
          channel.notify();
          return;
        }
        rec.tokenUsed = true; // single use: reconnecting needs ResumeSession's new token
        rec.clientIds.push(open.ClientId);
        sessionFor(rec).attach(ws);
        channel.notify();
      });
    });
  }

  return {
    onChange: channel.onChange,
    handleUpgrade,
    setKms(k) { channel.kms = k; },
    // Sends pause_publication or start_publication to a session's client.
    publication(sessionId, kind) {
      const s = live.get(sessionId);
      if (!s || !s.ws) return Promise.resolve(false);
      return s.publication(kind);
    },
    // What a session still waits to have acknowledged (oldest first), for a test's message
    // when a wait on stats.unacked times out.
    unacked(sessionId) {
      const s = live.get(sessionId);
      if (!s) return null;
      const now = Date.now();
      return {
        connected: Boolean(s.ws), paused: s.paused, agentAway: Boolean(s.agentAway), rto: Math.round(s.rto),
        messages: s.outBuffer.slice(0, 8).map((m) => ({ seq: m.seq, sends: m.sends, sinceLastSendMs: now - m.lastSent })),
        count: s.outBuffer.length,
      };
    },
    // Cuts the client's data channel of a session now (no close frame).
    cut(sessionId) {
      const s = live.get(sessionId);
      if (!s || !s.ws) return false;
      s.cut();
      return true;
    },
    terminate(sessionId, how) {
      const s = live.get(sessionId);
      const rec = state.sessions.get(sessionId);
      if (s) s.end(how, '');
      else if (rec && rec.status !== 'Terminated') {
        Object.assign(rec, { status: 'Terminated', endedBy: how, endedAt: new Date().toISOString() });
      }
      channel.notify();
    },
    closeAll() {
      for (const s of live.values()) {
        s.end('shutdown', '');
        s.ws?.terminate();
      }
      live.clear();
      wss.close();
    },
    forget() {
      for (const s of live.values()) { s.end('reset', ''); s.ws?.terminate(); }
      live.clear();
    },
    // Resolves when every host shell started so far has exited.
    hostsExited() {
      return Promise.all([...live.values()].filter((s) => s.host).map((s) => new Promise((resolve) => {
        s.host.child.once('close', resolve);
        if (s.host.exited) resolve();
      })));
    },
  };
}
