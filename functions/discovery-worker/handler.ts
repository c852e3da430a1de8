import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { DISCOVERY_SOURCES } from '#lib/domain/discovery.ts';
import type { DiscoveryUnit } from '#lib/ports/discovery-runs.ts';
import { type RunDiscoveryUnitDeps, runDiscoveryUnit } from '#lib/use-cases/run-discovery.ts';

/** A unit as it travels in a queue message. */
export const discoveryUnitSchema = z.strictObject({
  runId: z.string().min(1).max(64),
  source: z.enum(DISCOVERY_SOURCES),
  account: z.string().regex(/^\d{12}$/),
  region: z.string().min(1).max(32),
  roleArn: z.string().max(2048).optional(),
});

/**
 * The discovery worker: one unit of work per queue message. A part that fails (access denied, no credentials) is
 * recorded as failed and the message is done; a unit that must be tried again (another writer got there first, the
 * inventory could not be reached) is reported as a batch item failure, so SQS delivers it again and, after its
 * retries, moves it to the dead-letter queue. A message that is not a unit goes there too.
 */
export function makeDiscoveryWorkerHandler(deps: RunDiscoveryUnitDeps & { readonly logger: Logger }) {
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const failures: { itemIdentifier: string }[] = [];
    for (const record of event.Records) {
      let unit: DiscoveryUnit;
      try {
        unit = discoveryUnitSchema.parse(JSON.parse(record.body));
      } catch (error) {
        deps.logger.error('not a discovery unit', { messageId: record.messageId, error });
        failures.push({ itemIdentifier: record.messageId });
        continue;
      }
      try {
        const part = await runDiscoveryUnit(deps, unit);
        deps.logger.info('discovery part done', {
          runId: unit.runId,
          source: unit.source,
          account: unit.account,
          region: unit.region,
          status: part.status,
        });
      } catch (error) {
        deps.logger.warn('discovery unit to retry', {
          runId: unit.runId,
          source: unit.source,
          account: unit.account,
          error,
        });
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures: failures };
  };
}
