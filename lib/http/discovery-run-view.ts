import { type DiscoveryRun, runStatus } from '#lib/domain/discovery-run.ts';

/** A run as the API shows it: its status derived from its parts, and each part's outcome, progress and reason. */
export function discoveryRunView(run: DiscoveryRun) {
  const finished = run.parts.filter((p) => p.status !== 'pending' && p.status !== 'running').length;
  return {
    runId: run.runId,
    status: runStatus(run.parts),
    startedAt: run.startedAt,
    startedBy: run.startedBy,
    trigger: run.trigger,
    progress: { parts: run.parts.length, finished },
    parts: run.parts.map((p) => ({
      source: p.source,
      account: p.account,
      region: p.region,
      status: p.status,
      ...(p.reason === undefined ? {} : { reason: p.reason }),
      counts: p.counts,
      ...(p.startedAt === undefined ? {} : { startedAt: p.startedAt }),
      ...(p.finishedAt === undefined ? {} : { finishedAt: p.finishedAt }),
    })),
  };
}
