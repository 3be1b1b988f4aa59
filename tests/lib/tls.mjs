// Certificates for the local stack's HTTPS: a throwaway CA and a server certificate for
// 127.0.0.1 and localhost it signed, made with the openssl command line in the run dir.
// Clients trust the CA (stack.ca), never "any certificate".
import { execBounded } from './sync-child.mjs';
import * as fs from 'node:fs';
import * as path from 'node:path';

function openssl(args, cwd) {
	execBounded('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

// Writes tls/{ca.pem,server.pem,server.key} under dir; returns their paths and the CA text.
export function makeCertificates(dir) {
	const tls = path.join(dir, 'tls');
	fs.mkdirSync(tls, { recursive: true, mode: 0o700 });
	const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
	openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
		'-subj', '/CN=periscope local stack CA',
		'-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], tls);
	openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], tls);
	fs.writeFileSync(path.join(tls, 'server.ext'), [
		'basicConstraints=critical,CA:FALSE',
		'keyUsage=critical,digitalSignature',
		'extendedKeyUsage=serverAuth',
		'subjectAltName=IP:127.0.0.1,DNS:localhost',
		'',
	].join('\n'));
	openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
		'-out', 'server.pem', '-days', '2', '-extfile', 'server.ext'], tls);
	fs.rmSync(path.join(tls, 'ca.key'));
	return {
		caFile: path.join(tls, 'ca.pem'),
		certFile: path.join(tls, 'server.pem'),
		keyFile: path.join(tls, 'server.key'),
		caPem: fs.readFileSync(path.join(tls, 'ca.pem'), 'utf8'),
	};
}
