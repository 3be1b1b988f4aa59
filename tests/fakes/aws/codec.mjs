// The Session Manager data-channel message ("ClientMessage") codec, written from
// ssm-protocol.md §D.3-§D.5. It is deliberately independent of the C client's codec: the
// fake speaks this one, the C client speaks its own, and each keeps the other honest.
//
// Layout (all integers big-endian), 120 header bytes then the payload:
//   0 HeaderLength u32 (116) | 4 MessageType 32 bytes space-padded | 36 SchemaVersion u32
//   40 CreatedDate u64 ms | 48 SequenceNumber i64 | 56 Flags u64
//   64 MessageId 16 bytes (UUID halves swapped) | 80 PayloadDigest SHA-256
//   112 PayloadType u32 | 116 PayloadLength u32 | 120 payload
import { createHash, randomUUID } from 'node:crypto';

export const HEADER_LENGTH = 116;
export const FIXED_BYTES = 120;

export const MessageType = Object.freeze({
  INPUT: 'input_stream_data',
  OUTPUT: 'output_stream_data',
  ACK: 'acknowledge',
  CHANNEL_CLOSED: 'channel_closed',
  START_PUBLICATION: 'start_publication',
  PAUSE_PUBLICATION: 'pause_publication',
});

export const PayloadType = Object.freeze({
  NONE: 0,
  OUTPUT: 1,
  ERROR: 2,
  SIZE: 3,
  PARAMETER: 4,
  HANDSHAKE_REQUEST: 5,
  HANDSHAKE_RESPONSE: 6,
  HANDSHAKE_COMPLETE: 7,
  ENC_CHALLENGE_REQUEST: 8,
  ENC_CHALLENGE_RESPONSE: 9,
  FLAG: 10,
  STDERR: 11,
  EXIT_CODE: 12,
});

export const Flags = Object.freeze({ SYN: 1n, FIN: 2n, ACK: 3n });

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// UUID string -> the 16 wire bytes: the Go implementations write the "least significant"
// half (UUID bytes 8..15) first, then bytes 0..7.
export function uuidToWire(uuid) {
  if (!UUID_RE.test(uuid)) throw new Error(`not a UUID: ${uuid}`);
  const b = Buffer.from(uuid.replace(/-/g, ''), 'hex');
  return Buffer.concat([b.subarray(8, 16), b.subarray(0, 8)]);
}

export function uuidFromWire(wire) {
  if (wire.length !== 16) throw new Error('MessageId must be 16 bytes');
  const h = Buffer.concat([wire.subarray(8, 16), wire.subarray(0, 8)]).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function sha256(buf) {
  return createHash('sha256').update(buf).digest();
}

function toBuffer(payload) {
  if (payload === undefined || payload === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(payload)) return payload;
  if (payload instanceof Uint8Array) return Buffer.from(payload);
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  return Buffer.from(JSON.stringify(payload), 'utf8');
}

// Builds one message. Numbers may be given as number or bigint. An empty payload is
// refused unless allowEmpty is set (the Go serializer refuses too; tests need it to build
// the parse-only vector).
export function encode({
  messageType,
  schemaVersion = 1,
  createdDate = Date.now(),
  sequenceNumber = 0,
  flags = 0,
  messageId = randomUUID(),
  payloadType = 0,
  payload,
  allowEmpty = false,
}) {
  const body = toBuffer(payload);
  if (body.length === 0 && !allowEmpty) throw new Error('refusing to encode an empty payload');
  if (typeof messageType !== 'string' || messageType.length === 0 || messageType.length > 32) {
    throw new Error('MessageType must be 1..32 characters');
  }
  const out = Buffer.alloc(FIXED_BYTES + body.length);
  out.writeUInt32BE(HEADER_LENGTH, 0);
  out.fill(0x20, 4, 36);
  out.write(messageType, 4, 'ascii');
  out.writeUInt32BE(schemaVersion, 36);
  out.writeBigUInt64BE(BigInt(createdDate), 40);
  out.writeBigInt64BE(BigInt(sequenceNumber), 48);
  out.writeBigUInt64BE(BigInt(flags), 56);
  uuidToWire(messageId).copy(out, 64);
  sha256(body).copy(out, 80);
  out.writeUInt32BE(payloadType, 112);
  out.writeUInt32BE(body.length, 116);
  body.copy(out, 120);
  return out;
}

// Parses one message. Never throws on bad input: returns { ok:false, error } for frames
// that cannot be read at all, and { ok:true, problems:[...] } listing every deviation from
// what a well-behaved sender produces (the fake records these so client bugs show up in
// tests instead of being silently tolerated). `valid` follows the receiving rules of §D.3:
// an invalid message is dropped without an ack.
export function decode(frame) {
  const buf = Buffer.isBuffer(frame) ? frame : Buffer.from(frame);
  if (buf.length < FIXED_BYTES) return { ok: false, error: `frame too short (${buf.length} bytes)` };
  const problems = [];
  const headerLength = buf.readUInt32BE(0);
  const typeField = buf.subarray(4, 36);
  const messageType = typeField.toString('ascii').replace(/[\0\s]+$/, '');
  if (typeField.subarray(messageType.length).some((b) => b !== 0x20)) {
    problems.push('MessageType is not padded with spaces');
  }
  const schemaVersion = buf.readUInt32BE(36);
  const createdDate = buf.readBigUInt64BE(40);
  const sequenceNumber = buf.readBigInt64BE(48);
  const flags = buf.readBigUInt64BE(56);
  const messageId = uuidFromWire(buf.subarray(64, 80));
  const payloadDigest = buf.subarray(80, 112);
  const payloadType = buf.readUInt32BE(112);
  const payloadLength = buf.readUInt32BE(116);
  const start = headerLength + 4;
  if (headerLength !== HEADER_LENGTH) problems.push(`HeaderLength ${headerLength}, expected ${HEADER_LENGTH}`);
  if (start > buf.length) return { ok: false, error: `HeaderLength ${headerLength} points past the frame` };
  const payload = buf.subarray(start);
  if (start + payloadLength !== buf.length) {
    problems.push(`PayloadLength ${payloadLength} but ${payload.length} payload bytes in the frame`);
  }
  if (schemaVersion !== 1) problems.push(`SchemaVersion ${schemaVersion}, expected 1`);
  let valid = true;
  if (headerLength === 0) { valid = false; problems.push('HeaderLength is 0'); }
  if (messageType.length === 0) { valid = false; problems.push('MessageType is empty'); }
  if (createdDate === 0n) { valid = false; problems.push('CreatedDate is 0'); }
  const digestOk = sha256(payload).equals(payloadDigest);
  if (payloadLength !== 0 && !digestOk) { valid = false; problems.push('PayloadDigest does not match the payload'); }
  // Publication messages are not validated by the reference receivers.
  if (messageType === MessageType.START_PUBLICATION || messageType === MessageType.PAUSE_PUBLICATION) valid = true;
  return {
    ok: true,
    valid,
    problems,
    headerLength,
    messageType,
    schemaVersion,
    createdDate,
    sequenceNumber,
    flags,
    messageId,
    payloadDigest: Buffer.from(payloadDigest),
    payloadType,
    payloadLength,
    payload: Buffer.from(payload),
  };
}

// The acknowledge message for a received stream message (§D.5), members in the order the
// reference implementations emit them.
export function encodeAck(acked, { messageId = randomUUID(), createdDate = Date.now() } = {}) {
  const payload = `{"AcknowledgedMessageType":${JSON.stringify(acked.messageType)},`
    + `"AcknowledgedMessageId":${JSON.stringify(acked.messageId)},`
    + `"AcknowledgedMessageSequenceNumber":${BigInt(acked.sequenceNumber).toString()},`
    + '"IsSequentialMessage":true}';
  return encode({
    messageType: MessageType.ACK,
    sequenceNumber: 0,
    flags: Flags.ACK,
    messageId,
    createdDate,
    payloadType: PayloadType.NONE,
    payload,
  });
}

export function parseJsonPayload(msg) {
  try {
    return JSON.parse(msg.payload.toString('utf8'));
  } catch {
    return undefined;
  }
}
