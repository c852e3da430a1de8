import { certificateLabel, certificateRule } from './cert-support.ts';

/**
 * `CERT_SHARED_KEY`: other certificates in the inventory carry the same public key, so the same private key sits in
 * several places: a compromise of one is a compromise of all, and revoking one certificate does not retire the key.
 */
export const certSharedKey = certificateRule({
  code: 'CERT_SHARED_KEY',
  severity: 'medium',
  title: 'The certificate shares its key pair with other certificates',
  check(view, subject) {
    const others = subject.context?.certificatesSharingKey;
    if (others === undefined || !Number.isFinite(others) || others <= 0) return undefined;
    const key = view.publicKeySha256 === undefined ? '' : ` (public key SHA-256 ${view.publicKeySha256})`;
    return {
      explanation: `${certificateLabel(subject, view)} shares its key pair with ${others} other certificate${others === 1 ? '' : 's'} in the inventory${key}.`,
      remediation:
        'Generate a new key pair for each certificate when renewing (certbot --reuse-key off, a fresh CSR each time), replace the certificates that share this key, and revoke them.',
    };
  },
});
