import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import { ROUTE_INPUTS } from '#lib/http/api-schemas.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import { type RevokeCertificateDeps, revokeCertificate } from '#lib/use-cases/revoke-certificate.ts';

/** `POST /v1/certificates/{serial}/revoke`: idempotent; `changed: false` says a repeat changed nothing. */
export function makeRevokeCertificateHandler(deps: ApiHandlerDeps & RevokeCertificateDeps): HttpApiHandler {
  return makeApiHandler(
    { name: 'revoke-certificate', auth: 'required', idempotent: {}, ...ROUTE_INPUTS['revoke-certificate'] },
    deps,
    async ({ params, body, principal }) => ({
      status: 200,
      body: await revokeCertificate(deps, principal, { serialNumber: params.serial, reason: body.reason }),
    }),
  );
}
