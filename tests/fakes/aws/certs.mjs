// A throwaway certificate authority and a server certificate for 127.0.0.1/localhost, made
// with the openssl CLI (node:crypto cannot issue X.509 certificates). botocore, curl and
// GnuTLS all verify against the CA file, so the fake is reached exactly like AWS: over TLS
// with verification on.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function openssl(args, cwd) {
  try {
    await run('openssl', args, { cwd });
  } catch (e) {
    throw new Error(`openssl ${args[0]} failed: ${e.stderr || e.message}`);
  }
}

// Returns { dir, caFile, caPem, keyPem, certPem }. The caller removes `dir`.
export async function makeCertificates(commonName = 'periscope aws fake') {
  const dir = await mkdtemp(join(tmpdir(), 'aws-fake-tls-'));
  await writeFile(join(dir, 'server.ext'), [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    'subjectKeyIdentifier=hash',
    'authorityKeyIdentifier=keyid',
    '',
  ].join('\n'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2',
    '-subj', `/CN=${commonName} CA`, '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  await openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr',
    '-subj', '/CN=127.0.0.1'], dir);
  await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key',
    '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext'], dir);
  const [caPem, keyPem, certPem] = await Promise.all(
    ['ca.crt', 'server.key', 'server.crt'].map((f) => readFile(join(dir, f), 'utf8')),
  );
  return { dir, caFile: join(dir, 'ca.crt'), caPem, keyPem, certPem };
}
