import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { InternalError } from '#lib/domain/errors.ts';
import type { DiscoveryUnit, DiscoveryWorkQueue } from '#lib/ports/discovery-runs.ts';

/** SendMessageBatch takes at most 10 messages. */
const BATCH = 10;
/** Entries SQS refused are sent again this many times. */
const ATTEMPTS = 4;

const batchResult = z.object({
  Successful: z.array(z.object({ Id: z.string() })).default([]),
  Failed: z
    .array(z.object({ Id: z.string(), Code: z.string().optional(), SenderFault: z.boolean().optional() }))
    .default([]),
});

/**
 * The discovery queue in AWS: each unit one SQS message (a few hundred bytes), sent 10 at a time; entries SQS refused
 * for its own reasons are sent again, and a unit still refused after that fails the start of the run (the run record
 * then shows the part pending, and the schedule's next run covers it).
 */
export class SqsDiscoveryQueue implements DiscoveryWorkQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(units: readonly DiscoveryUnit[]): Promise<void> {
    for (let start = 0; start < units.length; start += BATCH) {
      let entries = units
        .slice(start, start + BATCH)
        .map((unit, i) => ({ Id: String(start + i), MessageBody: JSON.stringify(unit) }));
      for (let attempt = 1; entries.length > 0; attempt++) {
        const out = batchResult.parse(
          await this.client.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries })),
        );
        const failed = new Set(out.Failed.filter((f) => !f.SenderFault).map((f) => f.Id));
        const final = out.Failed.filter((f) => f.SenderFault);
        if (final.length > 0 || (failed.size > 0 && attempt >= ATTEMPTS)) {
          throw new InternalError(
            'DISCOVERY_QUEUE_FAILED',
            'The discovery run could not hand all its parts to the workers; start it again.',
            { details: { failed: out.Failed.map((f) => f.Code ?? 'unknown') } },
          );
        }
        entries = entries.filter((e) => failed.has(e.Id));
      }
    }
  }
}

/** For composition roots: the default SQS client (credential chain and endpoint resolution). */
export function createSqsDiscoveryQueue(queueUrl: string): SqsDiscoveryQueue {
  return new SqsDiscoveryQueue(new SQSClient({}), queueUrl);
}
