// The data-channel codec against the byte-level vectors of ssm-protocol.md §E.1 (which were
// cross-checked there against the reference Go implementation).
import { test } from '../../lib/bounded-test.mjs';
import assert from 'node:assert/strict';
import {
  encode, decode, encodeAck, uuidToWire, uuidFromWire, MessageType, PayloadType, Flags,
} from './codec.mjs';

const CREATED = 1700000000000;
const HEX = {
  V1: (
    '00000074696e7075745f73747265616d5f646174612020202020202020202020' +
    '20202020000000010000018bcfe5680000000000000000000000000000000000' +
    '8899aabbccddeeff00112233445566771d887ce0f8672e4914d9000e801cd74e' +
    'cd805dd9366c0bc42dc16adc0197dc2f00000001000000036c730d'),
  V2: (
    '00000074696e7075745f73747265616d5f646174612020202020202020202020' +
    '20202020000000010000018bcfe5680000000000000000010000000000000000' +
    '9abcdef012345678a1b2c3d4e5f64789d53ca1ea7dce87c11432052a8550ed26' +
    '15cf715ca843c89710ed83325b691cba00000003000000157b22636f6c73223a' +
    '38302c22726f7773223a32347d'),
  V3: (
    '000000746f75747075745f73747265616d5f6461746120202020202020202020' +
    '20202020000000010000018bcfe5680000000000000000000000000000000001' +
    '8fedcba987654321fedcba9876544321369982e72a1ac61f301aa9dc38e94eb9' +
    'f017c9ee81e8c25478cfa0af7ddd6915000000010000000873682d352e322420'),
  V4: (
    '0000007461636b6e6f776c656467652020202020202020202020202020202020' +
    '20202020000000010000018bcfe5680000000000000000000000000000000003' +
    '8778695a4b3c2d1e0f1e2d3c4b5a49689163cfa26dc1bf08c7408f607041ab15' +
    'a3130143d87372feb509b3749f547d2b00000000000000b07b2241636b6e6f77' +
    '6c65646765644d65737361676554797065223a226f75747075745f7374726561' +
    '6d5f64617461222c2241636b6e6f776c65646765644d6573736167654964223a' +
    '2266656463626139382d373635342d343332312d386665642d63626139383736' +
    '3534333231222c2241636b6e6f776c65646765644d6573736167655365717565' +
    '6e63654e756d626572223a302c22497353657175656e7469616c4d6573736167' +
    '65223a747275657d'),
  V5: (
    '00000074696e7075745f73747265616d5f646174612020202020202020202020' +
    '20202020000000010000018bcfe5680000000000000000020000000000000000' +
    '84445555555555551111111122224333433ebf5bc03dffa38536673207a21281' +
    '612cef5faa9bc7a4d5b9be2fdb12cf1a0000000a0000000400000002'),
  V6: (
    '00000074696e7075745f73747265616d5f646174612020202020202020202020' +
    '20202020000000010000018bcfe5680000000000000000000000000000000000' +
    '855566666666666622222222333344442004d04ad8209c74502be0483e137a24' +
    '9199ff8258766dfd64644ec06ddbf66a00000006000000917b22436c69656e74' +
    '56657273696f6e223a22312e322e302e30222c2250726f636573736564436c69' +
    '656e74416374696f6e73223a5b7b22416374696f6e54797065223a2253657373' +
    '696f6e54797065222c22416374696f6e537461747573223a312c22416374696f' +
    '6e526573756c74223a6e756c6c2c224572726f72223a22227d5d2c224572726f' +
    '7273223a6e756c6c7d'),
  V7: (
    '0000007470617573655f7075626c69636174696f6e2020202020202020202020' +
    '20202020000000010000018bcfe5680000000000000000000000000000000003' +
    '86667777777777773333333344444555e3b0c44298fc1c149afbf4c8996fb924' +
    '27ae41e4649b934ca495991b7852b8550000000000000000'),
};
const vec = (name) => Buffer.from(HEX[name].replace(/\s+/g, ''), 'hex');

const CASES = [
  {
    name: 'V1', messageType: MessageType.INPUT, sequenceNumber: 0, flags: 0,
    messageId: '00112233-4455-6677-8899-aabbccddeeff', payloadType: PayloadType.OUTPUT,
    payload: Buffer.from('ls\r'),
  },
  {
    name: 'V2', messageType: MessageType.INPUT, sequenceNumber: 1, flags: 0,
    messageId: 'a1b2c3d4-e5f6-4789-9abc-def012345678', payloadType: PayloadType.SIZE,
    payload: Buffer.from('{"cols":80,"rows":24}'),
  },
  {
    name: 'V3', messageType: MessageType.OUTPUT, sequenceNumber: 0, flags: 1,
    messageId: 'fedcba98-7654-4321-8fed-cba987654321', payloadType: PayloadType.OUTPUT,
    payload: Buffer.from('sh-5.2$ '),
  },
  {
    name: 'V5', messageType: MessageType.INPUT, sequenceNumber: 2, flags: 0,
    messageId: '11111111-2222-4333-8444-555555555555', payloadType: PayloadType.FLAG,
    payload: Buffer.from([0, 0, 0, 2]),
  },
  {
    name: 'V6', messageType: MessageType.INPUT, sequenceNumber: 0, flags: 0,
    messageId: '22222222-3333-4444-8555-666666666666', payloadType: PayloadType.HANDSHAKE_RESPONSE,
    payload: Buffer.from('{"ClientVersion":"1.2.0.0","ProcessedClientActions":[{"ActionType":"SessionType",'
      + '"ActionStatus":1,"ActionResult":null,"Error":""}],"Errors":null}'),
  },
];

test('the MessageId swaps the UUID halves on the wire', () => {
  const wire = uuidToWire('00112233-4455-6677-8899-aabbccddeeff');
  assert.equal(wire.toString('hex'), '8899aabbccddeeff0011223344556677');
  assert.equal(uuidFromWire(wire), '00112233-4455-6677-8899-aabbccddeeff');
});

for (const c of CASES) {
  test(`encode reproduces vector ${c.name} byte for byte`, () => {
    const bytes = encode({ ...c, createdDate: CREATED });
    assert.equal(bytes.toString('hex'), vec(c.name).toString('hex'));
  });

  test(`decode reads every field of vector ${c.name}`, () => {
    const m = decode(vec(c.name));
    assert.equal(m.ok, true);
    assert.equal(m.valid, true);
    assert.deepEqual(m.problems, []);
    assert.equal(m.headerLength, 116);
    assert.equal(m.messageType, c.messageType);
    assert.equal(m.schemaVersion, 1);
    assert.equal(m.createdDate, BigInt(CREATED));
    assert.equal(m.sequenceNumber, BigInt(c.sequenceNumber));
    assert.equal(m.flags, BigInt(c.flags));
    assert.equal(m.messageId, c.messageId);
    assert.equal(m.payloadType, c.payloadType);
    assert.equal(m.payloadLength, c.payload.length);
    assert.deepEqual(m.payload, c.payload);
  });
}

test('encodeAck reproduces vector V4 (the ack of V3)', () => {
  const v3 = decode(vec('V3'));
  const bytes = encodeAck(v3, { messageId: '0f1e2d3c-4b5a-4968-8778-695a4b3c2d1e', createdDate: CREATED });
  assert.equal(bytes.toString('hex'), vec('V4').toString('hex'));
  const ack = decode(bytes);
  assert.equal(ack.flags, Flags.ACK);
  assert.deepEqual(JSON.parse(ack.payload), {
    AcknowledgedMessageType: 'output_stream_data',
    AcknowledgedMessageId: 'fedcba98-7654-4321-8fed-cba987654321',
    AcknowledgedMessageSequenceNumber: 0,
    IsSequentialMessage: true,
  });
});

test('an empty payload (V7) parses but is never built by default', () => {
  const m = decode(vec('V7'));
  assert.equal(m.ok, true);
  assert.equal(m.valid, true);
  assert.equal(m.messageType, 'pause_publication');
  assert.equal(m.payload.length, 0);
  assert.equal(m.messageId, '33333333-4444-4555-8666-777777777777');
  assert.throws(() => encode({ messageType: MessageType.INPUT, payload: '' }), /empty payload/);
  const built = encode({
    messageType: 'pause_publication', createdDate: CREATED, flags: 3,
    messageId: '33333333-4444-4555-8666-777777777777', allowEmpty: true,
  });
  assert.equal(built.toString('hex'), vec('V7').toString('hex'));
});

test('a corrupted payload fails the digest check and is invalid', () => {
  const bad = vec('V1');
  bad[bad.length - 1] ^= 0xff;
  const m = decode(bad);
  assert.equal(m.ok, true);
  assert.equal(m.valid, false);
  assert.match(m.problems.join(';'), /PayloadDigest/);
});

test('short frames, zero dates and bad padding are reported', () => {
  assert.equal(decode(Buffer.alloc(119)).ok, false);
  const zeroDate = vec('V1');
  zeroDate.fill(0, 40, 48);
  assert.equal(decode(zeroDate).valid, false);
  const nulPad = vec('V1');
  nulPad.fill(0, 4 + 'input_stream_data'.length, 36);
  const m = decode(nulPad);
  assert.equal(m.messageType, 'input_stream_data');
  assert.match(m.problems.join(';'), /padded with spaces/);
  const lying = vec('V1');
  lying.writeUInt32BE(9, 116);
  assert.match(decode(lying).problems.join(';'), /PayloadLength 9/);
});
