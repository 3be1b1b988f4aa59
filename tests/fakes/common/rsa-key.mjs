// A fresh RSA key pair for the fakes' token signers (the IdP, the AWS fake's tests' stand-in
// IdP), as KeyObjects of their own.
//
// Why not generateKeyPairSync's KeyObjects themselves: Node keeps the key generation job's
// config alive, sharing one mutex with the keys it returned, until the garbage collector
// finalizes the job, and that config's destructor takes the mutex
// (src/crypto/crypto_keygen.h, KeyPairGenConfig::~KeyPairGenConfig). A JWK export of such a
// key holds the same mutex while it allocates the JWK's strings (src/crypto/crypto_rsa.cc,
// ExportJWKRsaKey); when that allocation starts a collection that finalizes the job, the
// thread waits on a mutex it holds, forever, at 0 % CPU, with no timer of the process
// able to fire. gdb showed exactly that stack in a test file hung at its IdP's start (stop 25;
// stop 24's loop run 49 was the same hang). Generated as PEM and read back, the keys have
// a mutex of their own, which the job's destructor never takes.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';

export function freshRsaKeyPair(modulusLength = 2048) {
	const pem = generateKeyPairSync('rsa', {
		modulusLength,
		publicKeyEncoding: { type: 'spki', format: 'pem' },
		privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
	});
	return { privateKey: createPrivateKey(pem.privateKey), publicKey: createPublicKey(pem.publicKey) };
}
