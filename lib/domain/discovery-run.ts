import type { DiscoverySourceName } from './discovery.ts';

/** Deliveries of a unit before it is given up on (the SQS queue's maxReceiveCount; the local queue's attempts). */
export const DISCOVERY_MAX_RECEIVES = 3;

/** A part of a run: one source in one account and region, one unit of work. */
export const PART_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'skipped'] as const;
export type PartStatus = (typeof PART_STATUSES)[number];

export const RUN_STATUSES = ['running', 'completed', 'partial', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export interface PartCounts {
  readonly seen: number;
  readonly new: number;
  readonly changed: number;
  readonly missing: number;
  readonly reappeared: number;
}

export const ZERO_COUNTS: PartCounts = { seen: 0, new: 0, changed: 0, missing: 0, reappeared: 0 };

export interface RunPart {
  readonly source: DiscoverySourceName;
  readonly account: string;
  readonly region: string;
  /** The role read through (undefined: the credentials in use). */
  readonly roleArn?: string | undefined;
  readonly status: PartStatus;
  /** Why it failed or was skipped: what to do about it. */
  readonly reason?: string | undefined;
  readonly counts: PartCounts;
  readonly startedAt?: string | undefined;
  readonly finishedAt?: string | undefined;
  /** While running: the source's marker after the last page written, where a redelivered unit continues. */
  readonly resumeFrom?: string | undefined;
}

export interface DiscoveryRun {
  readonly runId: string;
  readonly startedAt: string;
  readonly startedBy: string;
  readonly trigger: 'api' | 'schedule';
  readonly parts: readonly RunPart[];
}

/** The key of a part within its run. */
export function partKey(part: Pick<RunPart, 'source' | 'account' | 'region'>): string {
  return `${part.source}|${part.account}|${part.region}`;
}

/**
 * A run's status, from its parts: running while any part is pending or running; then completed when none failed,
 * failed when every part that was tried failed, partial otherwise. Skipped parts (a source not configured, no
 * credentials) count as neither.
 */
export function runStatus(parts: readonly RunPart[]): RunStatus {
  if (parts.some((p) => p.status === 'pending' || p.status === 'running')) return 'running';
  const failed = parts.filter((p) => p.status === 'failed').length;
  const succeeded = parts.filter((p) => p.status === 'succeeded').length;
  if (failed === 0) return 'completed';
  return succeeded === 0 ? 'failed' : 'partial';
}

/**
 * When a scope (source, account, region) was last read to its end: the latest finish of a succeeded part of it
 * among these runs, leaving out one run (the one in progress). Undefined when none of them read it.
 */
export function lastScopeSuccess(
  runs: readonly DiscoveryRun[],
  scope: Pick<RunPart, 'source' | 'account' | 'region'>,
  exceptRunId?: string,
): string | undefined {
  const key = partKey(scope);
  let latest: string | undefined;
  for (const run of runs) {
    if (run.runId === exceptRunId) continue;
    for (const part of run.parts) {
      if (part.status !== 'succeeded' || part.finishedAt === undefined || partKey(part) !== key) continue;
      if (latest === undefined || part.finishedAt > latest) latest = part.finishedAt;
    }
  }
  return latest;
}

/** How many recent runs are searched for a scope's last success. */
export const RECENT_RUNS = 50;

/** A run id that sorts by start time: `<UTC yyyymmddThhmmss>-<random>`. */
export function newRunId(startedAt: Date, random: string): string {
  return `${startedAt.toISOString().replace(/[-:]/g, '').slice(0, 15)}Z-${random}`;
}
