import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import { ROUTE_INPUTS } from '#lib/http/api-schemas.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import { type IssueCertificateDeps, issueCertificate } from '#lib/use-cases/issue-certificate.ts';

/** `POST /v1/certificates`: a CSR in, a signed certificate and its chain out (201). */
export function makeIssueCertificateHandler(deps: ApiHandlerDeps & IssueCertificateDeps): HttpApiHandler {
  return makeApiHandler(
    { name: 'issue-certificate', auth: 'required', idempotent: {}, ...ROUTE_INPUTS['issue-certificate'] },
    deps,
    async ({ body, principal }) => {
      const issued = await issueCertificate(deps, principal, body);
      return { status: 201, body: issued, headers: { location: `/v1/certificates/${issued.serialNumber}` } };
    },
  );
}
