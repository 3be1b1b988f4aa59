// A throwaway CA and a server certificate for 127.0.0.1, made with the openssl CLI at start.
// kubectl sends its bearer token only over TLS, so the fake has to speak HTTPS.
import { execBounded } from '../../lib/sync-child.mjs';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Names a client inside a "pod" may use for the apiserver are all valid for this cert.
const SERVER_NAMES = ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local'];

function openssl(args, cwd) {
  execBounded('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

// Returns { dir, caFile, caPem, certPem, keyPem }. The caller removes dir when done.
export function makeCertificates() {
  const dir = mkdtempSync(join(tmpdir(), 'periscope-fake-apiserver-tls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '7',
    '-subj', '/CN=periscope-fake-apiserver-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kube-apiserver'], dir);
  writeFileSync(join(dir, 'server.ext'), [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    `subjectAltName=IP:127.0.0.1,${SERVER_NAMES.map((n) => `DNS:${n}`).join(',')}`,
    '',
  ].join('\n'));
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.crt', '-days', '7', '-extfile', 'server.ext'], dir);
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    caPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    certPem: readFileSync(join(dir, 'server.crt'), 'utf8'),
    keyPem: readFileSync(join(dir, 'server.key'), 'utf8'),
  };
}

// The cluster's client CA (kube-apiserver --client-ca-file) and client certificates signed
// by it: CN is the user name, each O a group (the x509 authenticator's
// CommonNameUserConversion). Returns { dir, caPem, issue({ cn, groups, days }) ->
// { certPem, keyPem } }.
export function makeClientCa() {
  const dir = mkdtempSync(join(tmpdir(), 'periscope-fake-apiserver-clientca-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '7',
    '-subj', '/CN=periscope-fake-client-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  writeFileSync(join(dir, 'client.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
  let n = 0;
  return {
    dir,
    caPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    issue({ cn, groups = [], days = 7 }) {
      n += 1;
      const subj = `/${groups.map((g) => `O=${g}`).join('/')}${groups.length ? '/' : ''}CN=${cn}`;
      openssl(['req', ...ec, '-keyout', `c${n}.key`, '-out', `c${n}.csr`, '-subj', subj], dir);
      openssl(['x509', '-req', '-in', `c${n}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
        '-out', `c${n}.crt`, '-days', String(days), '-extfile', 'client.ext'], dir);
      return { certPem: readFileSync(join(dir, `c${n}.crt`), 'utf8'), keyPem: readFileSync(join(dir, `c${n}.key`), 'utf8') };
    },
  };
}
