import { dateOf, renewalDueAt } from '../certificate-view.ts';
import {
  certificateLabel,
  certificateRule,
  currentDeployments,
  formatDuration,
  formatInstant,
  listSome,
  replacementAdvice,
} from './cert-support.ts';

/**
 * `CERT_EXPIRING_DEPLOYED`: inside its renewal window or already expired, and still served or in use: the outage is
 * coming (or here) for real clients. The most urgent certificate finding; it fires beside `CERT_RENEWAL_DUE` or
 * `CERT_EXPIRED`, which say the same of the certificate alone.
 */
export const certExpiringDeployed = certificateRule({
  code: 'CERT_EXPIRING_DEPLOYED',
  severity: 'critical',
  title: 'A certificate that is expiring or expired is still deployed',
  control: 'AWS FSBP ACM.1',
  check(view, subject, now) {
    const notAfter = dateOf(view.notAfter);
    const due = renewalDueAt(view);
    if (notAfter === undefined || due === undefined) return undefined;
    const at = now.getTime();
    if (at < due.getTime() && at <= notAfter.getTime()) return undefined;
    const deployments = currentDeployments(subject, view);
    if (deployments.length === 0) return undefined;
    const when =
      at > notAfter.getTime()
        ? `expired ${formatDuration(at - notAfter.getTime())} ago`
        : `expires in ${formatDuration(notAfter.getTime() - at)}`;
    const places = deployments.length === 1 ? 'the one place using it' : `all ${deployments.length} places using it`;
    return {
      explanation: `${certificateLabel(subject, view)} ${when} (notAfter ${formatInstant(notAfter)}) and is still in use at ${listSome(deployments)}.`,
      remediation: `${replacementAdvice(subject)}, then update ${places} ${at > notAfter.getTime() ? 'now' : `before ${formatInstant(notAfter)}`}.`,
    };
  },
});
