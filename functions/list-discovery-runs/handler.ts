import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import { ROUTE_INPUTS } from '#lib/http/api-schemas.ts';
import { discoveryRunSummaryView } from '#lib/http/discovery-run-view.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import type { DiscoveryRunStore } from '#lib/ports/discovery-runs.ts';

/** `GET /v1/discovery/runs?limit=`: the most recent runs, newest first, without their parts. */
export function makeListDiscoveryRunsHandler(deps: ApiHandlerDeps & { runs: DiscoveryRunStore }): HttpApiHandler {
  return makeApiHandler(
    { name: 'list-discovery-runs', auth: 'required', ...ROUTE_INPUTS['list-discovery-runs'] },
    deps,
    async ({ query }) => ({
      status: 200,
      body: { items: (await deps.runs.listRuns(query.limit)).map(discoveryRunSummaryView) },
    }),
  );
}
