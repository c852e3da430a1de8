import 'reflect-metadata';
import { BasicConstraintsExtension, KeyUsageFlags, KeyUsagesExtension, X509Certificate } from '@peculiar/x509';
import { ValidationError } from '#lib/domain/errors.ts';
import { decodePem } from './pem.ts';

/**
 * Checks a CA chain before it is adopted (issuing CA first): every certificate parses, the first is a CA allowed to
 * sign certificates, each is signed by the next and valid at `now`. Whether the first carries our issuing key is
 * checked separately, against the signer.
 * @throws ValidationError `CA_CHAIN_INVALID` naming the certificate and the problem.
 */
export async function verifyCaChain(chainPem: readonly string[], now: Date): Promise<void> {
  const fail = (message: string) => {
    throw new ValidationError('CA_CHAIN_INVALID', message);
  };
  if (chainPem.length === 0) fail('The chain is empty: give the issuing CA certificate first, then its issuers.');
  const certificates = chainPem.map((pem, i) => {
    try {
      return new X509Certificate(decodePem(pem, ['CERTIFICATE']).der);
    } catch {
      return fail(`Certificate ${i + 1} of the chain is not a PEM X.509 certificate.`);
    }
  });
  const issuing = certificates[0];
  if (!issuing) return;
  const constraints = issuing.getExtension(BasicConstraintsExtension);
  const usages = issuing.getExtension(KeyUsagesExtension);
  if (!constraints?.ca) fail('The first certificate is not a CA certificate (basicConstraints CA:TRUE is missing).');
  if (usages && (usages.usages & KeyUsageFlags.keyCertSign) === 0) {
    fail('The first certificate may not sign certificates (keyUsage lacks keyCertSign).');
  }
  for (const [i, certificate] of certificates.entries()) {
    if (certificate.notBefore > now || certificate.notAfter <= now) {
      fail(
        `Certificate ${i + 1} (${certificate.subject}) is not valid now: ${certificate.notBefore.toISOString()} to ${certificate.notAfter.toISOString()}.`,
      );
    }
    const issuer = certificates[i + 1] ?? certificate;
    const signedByIssuer = await certificate.verify({ publicKey: issuer.publicKey, signatureOnly: true });
    if (!signedByIssuer) {
      fail(
        i + 1 < certificates.length
          ? `Certificate ${i + 1} (${certificate.subject}) is not signed by certificate ${i + 2} (${issuer.subject}).`
          : `The last certificate (${certificate.subject}) is not self-signed: end the chain with the root CA.`,
      );
    }
  }
}
