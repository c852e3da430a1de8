import { certificateLabel, certificateRule, currentDeployments, listSome } from './cert-support.ts';

/**
 * `CERT_SELF_SIGNED_ON_ENDPOINT`: a self-signed certificate served by an endpoint or used by an AWS resource (ACM
 * `InUseBy` resources, such as load balancers and CloudFront, serve it too). Its clients either fail or were told to
 * skip verification, which lets anyone in the path impersonate the service.
 */
export const certSelfSignedOnEndpoint = certificateRule({
  code: 'CERT_SELF_SIGNED_ON_ENDPOINT',
  severity: 'medium',
  title: 'A self-signed certificate is served by an endpoint',
  check(view, subject) {
    if (view.selfSigned !== true) return undefined;
    const deployments = currentDeployments(subject, view);
    if (deployments.length === 0) return undefined;
    return {
      explanation: `${certificateLabel(subject, view)} is self-signed and served at ${listSome(deployments)}: its clients can only trust it by pinning it or by skipping certificate verification.`,
      remediation:
        'Replace it with a certificate from a CA its clients trust (this control plane\'s private CA, or ACM), and remove any "skip verification" settings from its clients.',
    };
  },
});
