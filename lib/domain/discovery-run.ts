import type { DiscoverySourceName } from './discovery.ts';
import type { EndpointReport } from './tls-discovery.ts';

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
  /** A `tls` part that ended: every endpoint it scanned, with its outcome. */
  readonly endpoints?: readonly EndpointReport[] | undefined;
}

/** What a run is, apart from its parts. */
export interface DiscoveryRunHeader {
  readonly runId: string;
  readonly startedAt: string;
  readonly startedBy: string;
  readonly trigger: 'api' | 'schedule';
}

export interface DiscoveryRun extends DiscoveryRunHeader {
  readonly parts: readonly RunPart[];
}

/**
 * How far a run got, kept on its own record as parts finish (each part is a record of its own, so a run of any number
 * of accounts stays small to read and to update): how many parts it has, how many ended each way, what the ended
 * parts counted, and when the last one ended.
 */
export interface RunTally {
  readonly parts: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly skipped: number;
  readonly counts: PartCounts;
  readonly finishedAt?: string | undefined;
}

/** A run as listings show it: without its parts, with its tally. */
export interface DiscoveryRunSummary extends DiscoveryRunHeader {
  readonly tally: RunTally;
}

/** Whether a part has ended (it may still be reopened by a unit delivered again). */
export function isFinished(status: PartStatus): status is 'succeeded' | 'failed' | 'skipped' {
  return status === 'succeeded' || status === 'failed' || status === 'skipped';
}

/** The tally of a set of parts. */
export function tallyOf(parts: readonly RunPart[]): RunTally {
  const ended = parts.filter((p) => isFinished(p.status));
  const sum = (key: keyof PartCounts) => ended.reduce((total, p) => total + p.counts[key], 0);
  const finishedAt = ended
    .flatMap((p) => (p.finishedAt === undefined ? [] : [p.finishedAt]))
    .sort()
    .at(-1);
  return {
    parts: parts.length,
    succeeded: ended.filter((p) => p.status === 'succeeded').length,
    failed: ended.filter((p) => p.status === 'failed').length,
    skipped: ended.filter((p) => p.status === 'skipped').length,
    counts: {
      seen: sum('seen'),
      new: sum('new'),
      changed: sum('changed'),
      missing: sum('missing'),
      reappeared: sum('reappeared'),
    },
    finishedAt,
  };
}

/**
 * A run's status from its tally: running while any part has not ended; then completed when none failed, failed when
 * every part that was tried failed, partial otherwise. Skipped parts (a source not configured, no credentials) count
 * as neither.
 */
export function tallyStatus(tally: RunTally): RunStatus {
  if (tally.succeeded + tally.failed + tally.skipped < tally.parts) return 'running';
  if (tally.failed === 0) return 'completed';
  return tally.succeeded === 0 ? 'failed' : 'partial';
}

/** The key of a part within its run. */
export function partKey(part: Pick<RunPart, 'source' | 'account' | 'region'>): string {
  return `${part.source}|${part.account}|${part.region}`;
}

/** A run's status, from its parts (see {@link tallyStatus}). */
export function runStatus(parts: readonly RunPart[]): RunStatus {
  return tallyStatus(tallyOf(parts));
}

/** A run id that sorts by start time: `<UTC yyyymmddThhmmss>-<random>`. */
export function newRunId(startedAt: Date, random: string): string {
  return `${startedAt.toISOString().replace(/[-:]/g, '').slice(0, 15)}Z-${random}`;
}
