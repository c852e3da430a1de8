import { certificateLabel, certificateRule, replacementAdvice } from './cert-support.ts';

/**
 * A signature algorithm over SHA-1, MD5, MD4 or MD2, however the source spells it (`SHA1WITHRSA`,
 * `sha1WithRSAEncryption`, `ecdsa-with-SHA1`, `md5WithRSAEncryption`…): case, dashes and underscores ignored.
 */
export function isWeakSignatureAlgorithm(algorithm: string): boolean {
  const compact = algorithm.toLowerCase().replace(/[^a-z0-9]/g, '');
  return /sha1(?!\d)|md[245]/.test(compact);
}

/**
 * `CERT_WEAK_SIGNATURE`: signed with SHA-1 or MD5, whose collisions are practical (SHAttered, 2017; the 2008 rogue CA
 * with MD5): someone can get a different certificate with the same signature.
 */
export const certWeakSignature = certificateRule({
  code: 'CERT_WEAK_SIGNATURE',
  severity: 'high',
  title: 'The certificate is signed with SHA-1 or MD5',
  check(view, subject) {
    const algorithm = view.signatureAlgorithm;
    if (algorithm === undefined || !isWeakSignatureAlgorithm(algorithm)) return undefined;
    return {
      explanation: `${certificateLabel(subject, view)} is signed with ${algorithm}; collisions of its hash are practical, and browsers and TLS libraries reject such certificates.`,
      remediation: `${replacementAdvice(subject, 'replace')}, signed with SHA-256 or stronger (ask the issuer to stop signing with ${algorithm}).`,
    };
  },
});
