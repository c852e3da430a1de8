import { type ApiHandlerDeps, makeApiHandler } from '#lib/http/api-handler.ts';
import { ROUTE_INPUTS } from '#lib/http/api-schemas.ts';
import { discoveryRunView } from '#lib/http/discovery-run-view.ts';
import type { HttpApiHandler } from '#lib/http/http-types.ts';
import { type StartDiscoveryRunDeps, startDiscoveryRun } from '#lib/use-cases/run-discovery.ts';

/**
 * `POST /v1/discovery/runs` (admin, operator): `{"sources"?, "accounts"?, "tls"?: {"targets"}}` → `202` with the run,
 * its parts pending (or skipped, with the reason, when AWS cannot be read); workers take the parts from the queue.
 * TLS targets outside the allowed ranges, malformed or too many are refused with 400 before anything is scanned.
 */
export function makeStartDiscoveryRunHandler(deps: ApiHandlerDeps & StartDiscoveryRunDeps): HttpApiHandler {
  return makeApiHandler(
    { name: 'start-discovery-run', auth: 'required', ...ROUTE_INPUTS['start-discovery-run'] },
    deps,
    async ({ body, principal }) => {
      const run = await startDiscoveryRun(deps, {
        by: principal.id,
        trigger: 'api',
        sources: body.sources,
        accounts: body.accounts,
        tlsTargets: body.tls?.targets,
      });
      return {
        status: 202,
        body: discoveryRunView(run),
        headers: { location: `/v1/discovery/runs/${run.runId}` },
      };
    },
  );
}

/** The schedule's trigger (an EventBridge rule, or the local timer): starts a run of every source and account. */
export function makeScheduledDiscoveryRunHandler(deps: StartDiscoveryRunDeps) {
  return async (): Promise<{ runId: string }> => {
    const run = await startDiscoveryRun(deps, { by: 'schedule', trigger: 'schedule' });
    return { runId: run.runId };
  };
}
