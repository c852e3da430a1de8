import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import { ROUTE_INPUTS } from '#lib/http/api-schemas.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import type { CertificateInventory } from '#lib/ports/certificate-inventory.ts';
import type { DiscoveredInventory } from '#lib/ports/discovered-inventory.ts';
import { getIdentity } from '#lib/use-cases/read-inventory.ts';

/** `GET /v1/identities/{id}`: an issued identity, or a discovered one (`d-…`) with its facts. */
export function makeGetIdentityHandler(
  deps: ApiHandlerDeps & { inventory: CertificateInventory; discovered: DiscoveredInventory },
): HttpApiHandler {
  return makeApiHandler(
    { name: 'get-identity', auth: 'required', ...ROUTE_INPUTS['get-identity'] },
    deps,
    async ({ params }) => ({ status: 200, body: await getIdentity(deps, params.id) }),
  );
}
