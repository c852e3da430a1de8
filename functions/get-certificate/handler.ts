import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import { ROUTE_INPUTS } from '#lib/http/api-schemas.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import type { CertificateInventory } from '#lib/ports/certificate-inventory.ts';
import { getCertificate } from '#lib/use-cases/read-inventory.ts';

/** `GET /v1/certificates/{serial}`: the certificate record and its PEM. */
export function makeGetCertificateHandler(deps: ApiHandlerDeps & { inventory: CertificateInventory }): HttpApiHandler {
  return makeApiHandler(
    { name: 'get-certificate', auth: 'required', ...ROUTE_INPUTS['get-certificate'] },
    deps,
    async ({ params }) => ({ status: 200, body: await getCertificate(deps, params.serial) }),
  );
}
