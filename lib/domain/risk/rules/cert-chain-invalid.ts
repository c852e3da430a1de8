import { certificateLabel, certificateRule, listSome } from './cert-support.ts';

/**
 * `CERT_CHAIN_INVALID`: a TLS scan could not validate the chain the endpoint presented (to our CA or the system
 * roots): an unknown issuer, a missing intermediate, or an expired or misordered one.
 */
export const certChainInvalid = certificateRule({
  code: 'CERT_CHAIN_INVALID',
  severity: 'high',
  title: 'The certificate chain an endpoint presents does not validate',
  check(view, subject) {
    if (view.chainValid !== false) return undefined;
    const where = view.servedAt.length === 0 ? '' : `, served at ${listSome(view.servedAt)},`;
    return {
      explanation: `${certificateLabel(subject, view)}${where} comes with a chain that does not validate to a trusted root: clients that verify it fail, and clients that still connect are not verifying.`,
      remediation:
        'Configure the endpoint to send the full chain (leaf first, then each intermediate, no root), issued by a CA its clients trust; check with `openssl s_client -connect host:port -showcerts -verify_return_error`.',
    };
  },
});
