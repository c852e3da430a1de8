import { NotFoundError } from '#lib/domain/errors.ts';
import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import { ROUTE_INPUTS } from '#lib/http/api-schemas.ts';
import { discoveryRunView } from '#lib/http/discovery-run-view.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import type { DiscoveryRunStore } from '#lib/ports/discovery-runs.ts';

/** `GET /v1/discovery/runs/{id}`: the run's status, and each part's status, counts and reason. */
export function makeGetDiscoveryRunHandler(deps: ApiHandlerDeps & { runs: DiscoveryRunStore }): HttpApiHandler {
  return makeApiHandler(
    { name: 'get-discovery-run', auth: 'required', ...ROUTE_INPUTS['get-discovery-run'] },
    deps,
    async ({ params }) => {
      const run = await deps.runs.getRun(params.id);
      if (!run) throw new NotFoundError('RUN_NOT_FOUND', `There is no discovery run ${params.id}.`);
      return { status: 200, body: discoveryRunView(run) };
    },
  );
}
