import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import { ROUTE_INPUTS } from '#lib/http/api-schemas.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import type { CertificateInventory } from '#lib/ports/certificate-inventory.ts';
import { listAuditEvents } from '#lib/use-cases/read-inventory.ts';

/** `GET /v1/audit?day=YYYY-MM-DD&limit=&cursor=`: one page of that day's audit entries and an opaque `nextCursor`. */
export function makeListAuditEventsHandler(deps: ApiHandlerDeps & { inventory: CertificateInventory }): HttpApiHandler {
  return makeApiHandler(
    { name: 'list-audit-events', auth: 'required', ...ROUTE_INPUTS['list-audit-events'] },
    deps,
    async ({ query }) => {
      const { day, limit, cursor } = query;
      return {
        status: 200,
        body: await listAuditEvents(deps, day, cursor === undefined ? { limit } : { limit, cursor }),
      };
    },
  );
}
