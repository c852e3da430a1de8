import type { DiscoveryRun, RunPart } from '#lib/domain/discovery-run.ts';

/** Runs and their parts, as the API reports them. */
export interface DiscoveryRunStore {
  /** @throws ConflictError when a run with this id exists. */
  createRun(run: DiscoveryRun): Promise<void>;
  /** Replaces one part of a run (its key: source, account, region); the run must exist. */
  updatePart(runId: string, part: RunPart): Promise<void>;
  getRun(runId: string): Promise<DiscoveryRun | undefined>;
  /** The most recent runs first. */
  listRuns(limit: number): Promise<DiscoveryRun[]>;
}

/** One unit of discovery work: a part of a run, handed to a worker through a queue. */
export interface DiscoveryUnit {
  readonly runId: string;
  readonly source: RunPart['source'];
  readonly account: string;
  readonly region: string;
  readonly roleArn?: string | undefined;
}

/** Hands units to workers (SQS in AWS, an in-process queue locally); each is delivered at least once. */
export interface DiscoveryWorkQueue {
  enqueue(units: readonly DiscoveryUnit[]): Promise<void>;
}
