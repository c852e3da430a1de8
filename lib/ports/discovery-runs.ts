import type { DiscoveryScopeKey } from '#lib/domain/discovery.ts';
import type { DiscoveryRun, DiscoveryRunSummary, RunPart } from '#lib/domain/discovery-run.ts';
import type { LocationScan, UnresolvedName } from '#lib/domain/tls-discovery.ts';
import type { TlsDial } from './tls-scanner.ts';

/**
 * Runs and their parts, as the API reports them. Each part is kept on its own, and the run keeps a tally of its
 * parts (how many ended each way, what they counted), so that a run of thousands of accounts costs the same per part.
 */
export interface DiscoveryRunStore {
  /** @throws ConflictError when a run with this id exists. */
  createRun(run: DiscoveryRun): Promise<void>;
  /**
   * Replaces one part of a run (its key: source, account, region) and moves the run's tally with it, atomically. A
   * part that succeeds also records when its scope was last read to its end ({@link lastScopeRead}).
   * @throws NotFoundError `RUN_NOT_FOUND` when the run or the part does not exist.
   */
  updatePart(runId: string, part: RunPart): Promise<void>;
  /**
   * Records a running part's progress, only while it is still running: a late progress report never reopens a part
   * that has ended. @returns whether it was recorded.
   */
  recordProgress(runId: string, part: RunPart): Promise<boolean>;
  getRun(runId: string): Promise<DiscoveryRun | undefined>;
  /** One part of a run, or undefined. */
  getPart(runId: string, scope: DiscoveryScopeKey): Promise<RunPart | undefined>;
  /** The most recent runs first, without their parts. */
  listRuns(limit: number): Promise<DiscoveryRunSummary[]>;
  /** When a part of any run last read this scope to its end (succeeded), or undefined when none has. */
  lastScopeRead(scope: DiscoveryScopeKey): Promise<string | undefined>;
  /**
   * The last scan of each of these TLS locations that has one (a location's scan is its scope's read: its
   * {@link lastScopeRead} is the scan's time, with source `tls`, account `network` and the location as region).
   */
  locationScans(locations: readonly string[]): Promise<ReadonlyMap<string, LocationScan>>;
  /** Records the scans of TLS locations (each replaces the location's previous one). */
  recordLocationScans(scans: readonly LocationScan[]): Promise<void>;
}

/** One unit of discovery work: a part of a run, handed to a worker through a queue. */
export interface DiscoveryUnit {
  readonly runId: string;
  readonly source: RunPart['source'];
  readonly account: string;
  readonly region: string;
  readonly roleArn?: string | undefined;
  /** A `tls` unit's work: the addresses it scans (names were resolved once, when the run started) and the names that did not resolve. */
  readonly tls?: TlsUnitWork | undefined;
}

export interface TlsUnitWork {
  readonly dials: readonly TlsDial[];
  readonly unresolved: readonly UnresolvedName[];
}

/** Hands units to workers (SQS in AWS, an in-process queue locally); each is delivered at least once. */
export interface DiscoveryWorkQueue {
  enqueue(units: readonly DiscoveryUnit[]): Promise<void>;
}
