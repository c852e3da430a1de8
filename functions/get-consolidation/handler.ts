import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import { ROUTE_INPUTS } from '#lib/http/api-schemas.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import type { CertificateInventory } from '#lib/ports/certificate-inventory.ts';
import type { DiscoveredInventory } from '#lib/ports/discovered-inventory.ts';
import { consolidationReport } from '#lib/use-cases/consolidation.ts';

/** `GET /v1/inventory/consolidation`: candidate groups to merge or retire, each with why and what to do. */
export function makeGetConsolidationHandler(
  deps: ApiHandlerDeps & { inventory: CertificateInventory; discovered: Pick<DiscoveredInventory, 'getMany'> },
): HttpApiHandler {
  return makeApiHandler(
    { name: 'get-consolidation', auth: 'required', ...ROUTE_INPUTS['get-consolidation'] },
    deps,
    async ({ query }) => ({ status: 200, body: await consolidationReport(deps, query.limit) }),
  );
}
