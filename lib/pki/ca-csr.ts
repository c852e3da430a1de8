import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { Pkcs10CertificateRequestGenerator } from '@peculiar/x509';
import type { Signer } from '#lib/ports/signer.ts';
import { createSignerCrypto } from './signer-web-crypto.ts';

/**
 * A PKCS#10 request for a CA key that never leaves its home (KMS in AWS): the subject is `CN=<commonName>`, and the
 * signature, made by the key itself, is the proof of possession a corporate root checks before signing the
 * intermediate. No extensions are requested: the signing CA decides them.
 */
export async function createCaCsr(signer: Signer, commonName: string): Promise<string> {
  if (commonName.length < 1 || commonName.length > 64) throw new RangeError('a CA common name has 1 to 64 characters');
  const { crypto, signingKey, signingAlgorithm } = createSignerCrypto(signer);
  const publicKey = await webcrypto.subtle.importKey(
    'spki',
    await signer.getPublicKey(),
    signingKey.algorithm as webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams,
    true,
    ['verify'],
  );
  const csr = await Pkcs10CertificateRequestGenerator.create(
    {
      name: [{ CN: [commonName] }],
      keys: { publicKey, privateKey: signingKey },
      signingAlgorithm,
    },
    crypto,
  );
  return csr.toString('pem');
}
