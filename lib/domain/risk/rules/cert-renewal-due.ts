import { DEFAULT_RENEWAL_DAYS, dateOf, renewalDueAt } from '../certificate-view.ts';
import { certificateLabel, certificateRule, formatDuration, formatInstant, replacementAdvice } from './cert-support.ts';

/**
 * `CERT_RENEWAL_DUE`: not yet expired, but inside its renewal window: from its `renewAfter` (our policy's window),
 * else from 30 days before `notAfter` (FSBP ACM.1's default). Once expired, `CERT_EXPIRED` fires instead.
 */
export const certRenewalDue = certificateRule({
  code: 'CERT_RENEWAL_DUE',
  severity: 'medium',
  title: 'The certificate is inside its renewal window and has not been replaced',
  control: 'AWS FSBP ACM.1',
  check(view, subject, now) {
    const notAfter = dateOf(view.notAfter);
    const due = renewalDueAt(view);
    if (notAfter === undefined || due === undefined) return undefined;
    const at = now.getTime();
    if (at < due.getTime() || at > notAfter.getTime()) return undefined;
    const window =
      dateOf(view.renewAfter) === undefined
        ? `it has been inside the ${DEFAULT_RENEWAL_DAYS}-day renewal window for ${formatDuration(at - due.getTime())}`
        : `renewal was due ${formatDuration(at - due.getTime())} ago (renewAfter ${formatInstant(due)})`;
    return {
      explanation: `${certificateLabel(subject, view)} expires in ${formatDuration(notAfter.getTime() - at)} (notAfter ${formatInstant(notAfter)}); ${window}.`,
      remediation: `${replacementAdvice(subject)} before ${formatInstant(notAfter)}.`,
    };
  },
});
