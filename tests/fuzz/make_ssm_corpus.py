#!/usr/bin/env python3
"""Writes the seed corpus of tests/fuzz/fuzz_ssm_message: the ClientMessage vectors of
ssm-protocol.md section E.1 and a few agent-side message sequences (each file is frames
back to back, the way the fuzz target cuts them). Standard library only; run from the
tree root: python3 tests/fuzz/make_ssm_corpus.py"""
import hashlib
import os
import struct
import uuid

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_ssm_message")
CREATED = 1700000000000

VECTORS = {
    "v1_input_ls": (
        "00000074696e7075745f73747265616d5f646174612020202020202020202020"
        "20202020000000010000018bcfe5680000000000000000000000000000000000"
        "8899aabbccddeeff00112233445566771d887ce0f8672e4914d9000e801cd74e"
        "cd805dd9366c0bc42dc16adc0197dc2f00000001000000036c730d"),
    "v3_output_seq0": (
        "000000746f75747075745f73747265616d5f6461746120202020202020202020"
        "20202020000000010000018bcfe5680000000000000000000000000000000001"
        "8fedcba987654321fedcba9876544321369982e72a1ac61f301aa9dc38e94eb9"
        "f017c9ee81e8c25478cfa0af7ddd6915000000010000000873682d352e322420"),
    "v7_pause_empty": (
        "0000007470617573655f7075626c69636174696f6e2020202020202020202020"
        "20202020000000010000018bcfe5680000000000000000000000000000000003"
        "86667777777777773333333344444555e3b0c44298fc1c149afbf4c8996fb924"
        "27ae41e4649b934ca495991b7852b8550000000000000000"),
}


def frame(mtype, seq, flags, ptype, payload, msg_id=None):
    """One ClientMessage per section D.3 (HeaderLength 116, halves of the UUID swapped)."""
    u = (msg_id or uuid.uuid4()).bytes
    return (struct.pack(">I", 116) + mtype.encode().ljust(32, b" ")
            + struct.pack(">IQqQ", 1, CREATED, seq, flags) + u[8:] + u[:8]
            + hashlib.sha256(payload).digest() + struct.pack(">II", ptype, len(payload))
            + payload)


def out(seq, text, ptype=1):
    return frame("output_stream_data", seq, 1 if seq == 0 else 0, ptype, text)


def ack(seq):
    body = ('{"AcknowledgedMessageType":"input_stream_data","AcknowledgedMessageId":'
            '"11111111-2222-4333-8444-555555555555","AcknowledgedMessageSequenceNumber":%d,'
            '"IsSequentialMessage":true}' % seq)
    return frame("acknowledge", 0, 3, 0, body.encode())


SHELL_REQUEST = (b'{"AgentVersion":"3.3.40.0","RequestedClientActions":[{"ActionType":'
                 b'"SessionType","ActionParameters":{"SessionType":"Standard_Stream",'
                 b'"Properties":null}}]}')
KMS_REQUEST = (b'{"AgentVersion":"3.3.40.0","RequestedClientActions":[{"ActionType":'
               b'"SessionType","ActionParameters":{"SessionType":"Standard_Stream"}},'
               b'{"ActionType":"KMSEncryption","ActionParameters":{"KMSKeyId":'
               b'"arn:aws:kms:us-east-1:111122223333:key/abc","Challenge":"AAAAAAAAAAAAAAAAAAAAAA=="}}]}')
COMPLETE = b'{"HandshakeTimeToComplete":1500000,"CustomerMessage":"hello from mock"}'
CLOSED = (b'{"MessageId":"9d1b5c0e-0000-4000-8000-000000000001","CreatedDate":'
          b'"2024-01-01T00:00:00.000Z","DestinationId":"i-0abc","SessionId":"s-1",'
          b'"MessageType":"channel_closed","SchemaVersion":1,"Output":"Session timed out"}')

SEQUENCES = {
    "seq_handshake": [out(0, SHELL_REQUEST, 5), ack(0), out(1, COMPLETE, 7),
                      out(2, b"root@ip-10-0-0-1:~# "), ack(1), ack(2)],
    "seq_kms_declined": [out(0, KMS_REQUEST, 5), ack(0),
                         frame("channel_closed", 0, 0, 0, CLOSED)],
    "seq_out_of_order": [out(0, b"A"), out(3, b"D"), out(1, b"B"), out(1, b"B"),
                         out(2, b"C"), out(12, b"far"), out(0, b"A")],
    "seq_pause_resume": [out(0, b"$ "), frame("pause_publication", 0, 3, 0, b"{}"),
                         frame("start_publication", 0, 3, 0, b"{}"), ack(0), ack(1)],
    "seq_stderr_exit": [out(0, b"x"), out(1, b"oops\n", 11), out(2, b"EXIT_CODE: 1", 12),
                        frame("channel_closed", 0, 0, 0, b'{"Output":""}')],
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, hexbytes in VECTORS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(bytes.fromhex(hexbytes))
    for name, frames in SEQUENCES.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(b"".join(frames))


if __name__ == "__main__":
    main()
