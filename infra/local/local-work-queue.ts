import { DISCOVERY_MAX_RECEIVES } from '#lib/domain/discovery-run.ts';
import { ConflictError } from '#lib/domain/errors.ts';
import type { DiscoveryUnit, DiscoveryWorkQueue } from '#lib/ports/discovery-runs.ts';

/** Deliveries of a unit before it is given up on, as the SQS queue's maxReceiveCount in AWS. */
export const UNIT_ATTEMPTS = DISCOVERY_MAX_RECEIVES;

/**
 * The local stand-in for the discovery queue and its workers: units run in this process, a few at a time, each
 * delivered again (after a pause) when it throws a conflict, and given up on after {@link UNIT_ATTEMPTS}, as SQS would
 * move it to the dead-letter queue. Anything else a unit throws has already been recorded as its part's failure.
 */
export class LocalDiscoveryQueue implements DiscoveryWorkQueue {
  private readonly waiting: Array<{ unit: DiscoveryUnit; attempt: number }> = [];
  private running = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly work: (unit: DiscoveryUnit) => Promise<unknown>,
    private readonly options: {
      readonly concurrency?: number;
      readonly onGiveUp?: (unit: DiscoveryUnit, attempts: number, error: unknown) => void;
    } = {},
  ) {}

  async enqueue(units: readonly DiscoveryUnit[]): Promise<void> {
    for (const unit of units) this.waiting.push({ unit, attempt: 1 });
    this.pump();
  }

  /** Resolves once no unit is waiting or running. */
  idle(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.running < (this.options.concurrency ?? 2)) {
      const next = this.waiting.shift();
      if (!next) break;
      this.running++;
      void this.work(next.unit)
        .catch((error: unknown) => {
          if (error instanceof ConflictError && next.attempt < UNIT_ATTEMPTS) {
            setTimeout(() => {
              this.waiting.push({ unit: next.unit, attempt: next.attempt + 1 });
              this.pump();
            }, 200 * next.attempt).unref();
            return;
          }
          this.options.onGiveUp?.(next.unit, next.attempt, error);
        })
        .finally(() => {
          this.running--;
          this.pump();
          if (this.running === 0 && this.waiting.length === 0) {
            for (const resolve of this.idleWaiters.splice(0)) resolve();
          }
        });
    }
  }
}
