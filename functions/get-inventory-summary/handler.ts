import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import type { Clock } from '#lib/ports/clock.ts';
import type { InventorySummaryReader } from '#lib/ports/inventory-summary.ts';
import { getInventorySummary } from '#lib/use-cases/get-inventory-summary.ts';

/**
 * `GET /v1/inventory/summary`: counts by type, source, status, risk level and account, the largest owners and the
 * certificate expiry buckets, from the counters kept current from the table's stream. It takes no input.
 */
export function makeGetInventorySummaryHandler(
  deps: ApiHandlerDeps & { summary: InventorySummaryReader; clock: Clock },
): HttpApiHandler {
  return makeApiHandler({ name: 'get-inventory-summary', auth: 'required' }, deps, async () => ({
    status: 200,
    body: await getInventorySummary(deps),
  }));
}
