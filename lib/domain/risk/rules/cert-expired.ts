import { dateOf } from '../certificate-view.ts';
import { certificateLabel, certificateRule, formatDuration, formatInstant, replacementAdvice } from './cert-support.ts';

/**
 * `CERT_EXPIRED`: past its `notAfter`, which RFC 5280 makes inclusive (valid through that second, expired after it).
 * A certificate that is still deployed also gets `CERT_EXPIRING_DEPLOYED`.
 */
export const certExpired = certificateRule({
  code: 'CERT_EXPIRED',
  severity: 'high',
  title: 'The certificate has expired',
  control: 'AWS FSBP ACM.1',
  check(view, subject, now) {
    const notAfter = dateOf(view.notAfter);
    if (notAfter === undefined || now.getTime() <= notAfter.getTime()) return undefined;
    return {
      explanation: `${certificateLabel(subject, view)} expired ${formatDuration(now.getTime() - notAfter.getTime())} ago (notAfter ${formatInstant(notAfter)}): clients reject it.`,
      remediation: `${replacementAdvice(subject)}; then remove the expired one from wherever it is still configured.`,
    };
  },
});
