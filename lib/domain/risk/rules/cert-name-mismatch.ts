import { certificateLabel, certificateRule, listSome } from './cert-support.ts';

/** `CERT_NAME_MISMATCH`: a TLS scan found an endpoint serving a certificate whose names do not cover its host name. */
export const certNameMismatch = certificateRule({
  code: 'CERT_NAME_MISMATCH',
  severity: 'high',
  title: "The certificate's names do not match the endpoint serving it",
  check(view, subject) {
    if (view.nameMatches !== false) return undefined;
    const where = view.servedAt.length === 0 ? 'an endpoint' : listSome(view.servedAt);
    const names = view.names.length === 0 ? 'no names' : `only ${listSome(view.names)}`;
    return {
      explanation: `${certificateLabel(subject, view)} is served at ${where}, but it names ${names}: clients that check the host name fail, and clients that still connect are not checking.`,
      remediation:
        'Serve a certificate whose subjectAltNames include the host name clients use (or fix the endpoint that serves the wrong certificate, e.g. its SNI configuration).',
    };
  },
});
