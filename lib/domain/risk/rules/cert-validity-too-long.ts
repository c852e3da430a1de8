import { dateOf } from '../certificate-view.ts';
import { certificateLabel, certificateRule, formatInstant, wholeDays } from './cert-support.ts';

/** The longest validity the CA/Browser Forum's baseline requirements allow a TLS server certificate (since 2020). */
export const MAX_VALIDITY_DAYS = 398;

/**
 * `CERT_VALIDITY_TOO_LONG`: `notAfter − notBefore` over 398 days. A long-lived certificate is a long-lived secret:
 * a leaked key stays usable longer, and renewal is done so rarely that nobody remembers how.
 */
export const certValidityTooLong = certificateRule({
  code: 'CERT_VALIDITY_TOO_LONG',
  severity: 'low',
  title: `The certificate is valid for more than ${MAX_VALIDITY_DAYS} days`,
  check(view, subject) {
    const notBefore = dateOf(view.notBefore);
    const notAfter = dateOf(view.notAfter);
    if (notBefore === undefined || notAfter === undefined) return undefined;
    const lifetime = notAfter.getTime() - notBefore.getTime();
    if (lifetime <= MAX_VALIDITY_DAYS * 86_400_000) return undefined;
    return {
      explanation: `${certificateLabel(subject, view)} is valid for ${wholeDays(lifetime)} days (${formatInstant(notBefore)} to ${formatInstant(notAfter)}), more than the ${MAX_VALIDITY_DAYS} days browsers accept for public TLS certificates.`,
      remediation:
        subject.source === 'issued'
          ? `Lower the policy's validity.max to at most ${MAX_VALIDITY_DAYS} days (shorter with automated renewal) and replace this certificate at its next renewal.`
          : `Replace it with a certificate valid for at most ${MAX_VALIDITY_DAYS} days, and automate its renewal.`,
    };
  },
});
