import { certificateLabel, certificateRule, replacementAdvice } from './cert-support.ts';

/** The smallest keys still considered safe (NIST SP 800-57: 112-bit security and more). */
export const MIN_RSA_BITS = 2048;
export const MIN_EC_BITS = 256;

/**
 * `CERT_WEAK_KEY`: an RSA key under 2,048 bits or an EC key on a curve under 256 bits. The RSA case is FSBP ACM.2
 * ("RSA certificates managed by ACM should use a key length of at least 2,048 bits"); the EC case matches no control.
 */
export const certWeakKey = certificateRule({
  code: 'CERT_WEAK_KEY',
  severity: 'high',
  title: `The certificate's key is too small (RSA under ${MIN_RSA_BITS} bits, EC under ${MIN_EC_BITS})`,
  control: 'AWS FSBP ACM.2',
  check(view, subject) {
    const bits = view.keyBits;
    if (bits === undefined) return undefined;
    const remediation = `${replacementAdvice(subject, 'replace')}, with an ECDSA P-256 key (or RSA of at least ${MIN_RSA_BITS} bits); then revoke or delete this one.`;
    if (view.keyFamily === 'RSA' && bits < MIN_RSA_BITS) {
      return {
        explanation: `${certificateLabel(subject, view)} has a ${bits}-bit RSA key; RSA keys under ${MIN_RSA_BITS} bits can be factored with feasible effort.`,
        remediation,
      };
    }
    if (view.keyFamily === 'EC' && bits < MIN_EC_BITS) {
      return {
        explanation: `${certificateLabel(subject, view)} has an EC key on a ${bits}-bit curve, under the ${MIN_EC_BITS} bits now required.`,
        remediation,
        control: undefined,
      };
    }
    return undefined;
  },
});
