import { certificateLabel, certificateRule, currentDeployments, isRevoked, listSome } from './cert-support.ts';

/**
 * `CERT_REVOKED_STILL_SERVED`: revoked, yet an endpoint still serves it or an AWS resource still uses it. Revocation
 * usually means the key was compromised or the certificate mis-issued; clients that do not check revocation (most)
 * keep trusting it, and those that do fail.
 */
export const certRevokedStillServed = certificateRule({
  code: 'CERT_REVOKED_STILL_SERVED',
  severity: 'critical',
  title: 'A revoked certificate is still served',
  check(view, subject) {
    if (!isRevoked(subject, view)) return undefined;
    const deployments = currentDeployments(subject, view);
    if (deployments.length === 0) return undefined;
    return {
      explanation: `${certificateLabel(subject, view)} is revoked but still served at ${listSome(deployments)}.`,
      remediation:
        'Deploy a replacement with a new key pair at each of these places now, then confirm with a TLS scan that the revoked certificate is gone; if it was revoked for key compromise, treat what it protected as exposed.',
    };
  },
});
