// Fake KMS: GenerateDataKey for KMS-encrypted Session Manager sessions (JSON 1.1,
// X-Amz-Target: TrentService.GenerateDataKey, SigV4 service "kms"), and the Decrypt the
// agent does with its instance role (amazon-ssm-agent agent/session/crypto/blockcipher.go
// UpdateEncryptionKey), which must name the same encryption context or fail, as KMS does
// (InvalidCiphertextException). Served on the SSM port, told apart by X-Amz-Target.
import { randomBytes, randomUUID } from 'node:crypto';
import { verifyRequest, AwsAuthError } from './sigv4.mjs';
import { recordRequest } from './requests.mjs';

class KmsError extends Error {
  constructor(code, message, status = 400) {
    super(message);
    Object.assign(this, { code, status });
  }
}

export const DEFAULT_KMS_KEY_ID = '00000000-1111-4222-8333-444444444444';

export function createKms({ config, state, authorize }) {
  const keyArn = (id) => `arn:aws:kms:${config.region}:${config.account}:key/${id}`;
  const keys = new Set((config.kmsKeys ?? [DEFAULT_KMS_KEY_ID]).map(keyArn));
  state.kmsDataKeys ??= new Map(); // CiphertextBlob (base64) -> { plaintext, context, keyArn }

  function resolveKey(keyId) {
    const arn = keyId?.startsWith('arn:') ? keyId : keyArn(keyId);
    if (!keys.has(arn)) throw new KmsError('NotFoundException', `Key '${arn}' does not exist`);
    return arn;
  }

  function sameContext(a, b) {
    const ka = Object.keys(a ?? {}).sort();
    const kb = Object.keys(b ?? {}).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
  }

  const operations = {
    GenerateDataKey(cred, body) {
      if (typeof body.KeyId !== 'string' || !body.KeyId) {
        throw new KmsError('ValidationException', "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null");
      }
      const arn = resolveKey(body.KeyId);
      authorize(cred, 'kms:GenerateDataKey', arn, {}, 'kms');
      let n = body.NumberOfBytes;
      if (n === undefined && body.KeySpec) n = body.KeySpec === 'AES_256' ? 32 : body.KeySpec === 'AES_128' ? 16 : NaN;
      if (!Number.isInteger(n) || n < 1 || n > 1024) {
        throw new KmsError('ValidationException', `1 validation error detected: Value '${body.NumberOfBytes}' at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024`);
      }
      const context = body.EncryptionContext ?? {};
      if (typeof context !== 'object' || Array.isArray(context) || Object.values(context).some((v) => typeof v !== 'string')) {
        throw new KmsError('ValidationException', 'EncryptionContext must be a map of strings');
      }
      const plaintext = randomBytes(n);
      const blob = Buffer.concat([Buffer.from([1, 2, 1, 0]), randomBytes(180)]).toString('base64');
      state.kmsDataKeys.set(blob, { plaintext, context: { ...context }, keyArn: arn, caller: cred.accessKeyId });
      return { CiphertextBlob: blob, Plaintext: plaintext.toString('base64'), KeyId: arn };
    },
  };

  return {
    keyArn: keyArn(config.kmsKeys?.[0] ?? DEFAULT_KMS_KEY_ID),
    // The agent's kms:Decrypt: the plaintext for a blob under exactly this context.
    decrypt(blobB64, context, wantedKeyArn) {
      const k = state.kmsDataKeys.get(blobB64);
      if (!k || (wantedKeyArn && k.keyArn !== wantedKeyArn) || !sameContext(k.context, context)) {
        throw new KmsError('InvalidCiphertextException', '');
      }
      return k.plaintext;
    },
    async handle(req, res, body) {
      const requestId = randomUUID();
      const target = req.headers['x-amz-target'] ?? '';
      const record = recordRequest(state, req, 'kms', target.replace(/^TrentService\./, ''));
      let status = 200;
      let out;
      try {
        const auth = req.headers.authorization ? /Credential=([^/,\s]+)/.exec(req.headers.authorization) : null;
        record.accessKeyId = auth ? auth[1] : null;
        const { credential } = verifyRequest(
          { method: req.method, path: req.url, rawHeaders: req.rawHeaders, body },
          { service: 'kms', region: config.region },
          (akid) => state.credentials.get(akid),
        );
        const m = /^TrentService\.(\w+)$/.exec(target);
        if (!m || !operations[m[1]]) throw new KmsError('UnknownOperationException', '');
        let input;
        try { input = JSON.parse(body.toString('utf8') || '{}'); } catch { throw new KmsError('SerializationException', 'Expected a JSON object'); }
        out = operations[m[1]](credential, input);
      } catch (e) {
        let err = e;
        if (e instanceof AwsAuthError) err = new KmsError(e.code, e.message);
        else if (e?.name === 'SsmError' || e?.code === 'AccessDeniedException') err = new KmsError(e.code, e.message);
        else if (!(e instanceof KmsError)) {
          console.error('aws fake: kms internal error:', e);
          err = new KmsError('KMSInternalException', 'Internal error', 500);
        }
        status = err.status;
        record.errorCode = err.code;
        out = { __type: err.code, message: err.message };
      }
      record.status = status;
      const text = JSON.stringify(out);
      res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1', 'x-amzn-RequestId': requestId, 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    },
  };
}
