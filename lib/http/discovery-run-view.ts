import {
  type DiscoveryRun,
  type DiscoveryRunSummary,
  type RunTally,
  tallyOf,
  tallyStatus,
} from '#lib/domain/discovery-run.ts';

/** What every view of a run says of it: its status and progress from its tally, and what its ended parts counted. */
function runHead(run: DiscoveryRunSummary | DiscoveryRun, tally: RunTally) {
  return {
    runId: run.runId,
    status: tallyStatus(tally),
    startedAt: run.startedAt,
    startedBy: run.startedBy,
    trigger: run.trigger,
    ...(tally.finishedAt === undefined ? {} : { lastPartFinishedAt: tally.finishedAt }),
    progress: {
      parts: tally.parts,
      finished: tally.succeeded + tally.failed + tally.skipped,
      succeeded: tally.succeeded,
      failed: tally.failed,
      skipped: tally.skipped,
    },
    counts: tally.counts,
  };
}

/** A run as `GET /v1/discovery/runs/{id}` shows it: status, progress, and each part's outcome, counts and reason. */
export function discoveryRunView(run: DiscoveryRun) {
  return {
    ...runHead(run, tallyOf(run.parts)),
    parts: run.parts.map((p) => ({
      source: p.source,
      account: p.account,
      region: p.region,
      status: p.status,
      ...(p.reason === undefined ? {} : { reason: p.reason }),
      counts: p.counts,
      ...(p.startedAt === undefined ? {} : { startedAt: p.startedAt }),
      ...(p.finishedAt === undefined ? {} : { finishedAt: p.finishedAt }),
      ...(p.endpoints === undefined ? {} : { endpoints: p.endpoints }),
    })),
  };
}

/** A run as `GET /v1/discovery/runs` lists it: status, progress and counts, without its parts (read one run for them). */
export function discoveryRunSummaryView(run: DiscoveryRunSummary) {
  return runHead(run, run.tally);
}
