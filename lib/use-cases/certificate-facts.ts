import type { Facts } from '#lib/domain/discovery.ts';
import type { PresentedCertificate } from '#lib/pki/describe-certificate.ts';

/**
 * A certificate read from its DER (imported, or presented on an endpoint) as discovered facts, shaped as the ACM
 * source's (`domainName`, `subjectAlternativeNames`, `keyAlgorithm` as `RSA_2048` or `EC_prime256v1`…), so the
 * certificate rules read every source alike, with what only the certificate itself says (its fingerprint, its key's
 * SHA-256, whether it is self-signed).
 */
export function certificateFacts(certificate: PresentedCertificate, type: 'IMPORTED' | 'SCANNED'): Facts {
  const names = certificate.subjectAltNames.map((name) => name.value);
  return {
    subject: certificate.subject,
    issuer: certificate.issuer,
    domainName: names[0] ?? commonNameOf(certificate) ?? null,
    subjectAlternativeNames: [...names].sort(),
    serial: certificate.serialNumber,
    keyAlgorithm: keyAlgorithmOf(certificate),
    signatureAlgorithm: certificate.signatureAlgorithm,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    fingerprintSha256: certificate.fingerprintSha256,
    spkiSha256: certificate.spkiSha256,
    selfSigned: certificate.selfSigned,
    type,
  };
}

/** A certificate's natural key: its SHA-256 fingerprint. One certificate is one identity, wherever it is found. */
export function certificateArn(certificate: Pick<PresentedCertificate, 'fingerprintSha256'>): string {
  return `sha256:${certificate.fingerprintSha256}`;
}

/** A certificate's readable name: its first subjectAltName, else its CN, else the start of its fingerprint. */
export function certificateName(certificate: PresentedCertificate): string {
  return (
    certificate.subjectAltNames[0]?.value ?? commonNameOf(certificate) ?? certificate.fingerprintSha256.slice(0, 16)
  );
}

function commonNameOf(certificate: PresentedCertificate): string | undefined {
  return /(?:^|,)CN=([^,]+)/.exec(certificate.subject)?.[1];
}

/** The key type as ACM spells it (`RSA_2048`, `EC_prime256v1`, `ED25519`), so the certificate rules read it alike. */
function keyAlgorithmOf(certificate: PresentedCertificate): string | null {
  if (certificate.keyAlgorithm === 'RSA' && certificate.keySize !== undefined) return `RSA_${certificate.keySize}`;
  if (certificate.keyAlgorithm === 'EC' && certificate.keyCurve !== undefined) return `EC_${certificate.keyCurve}`;
  if (certificate.keyAlgorithm === 'ED25519') return 'ED25519';
  return null;
}
