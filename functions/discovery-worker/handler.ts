import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { DISCOVERY_SOURCES } from '#lib/domain/discovery.ts';
import { TLS_ACCOUNT, TLS_ENDPOINTS_PER_UNIT } from '#lib/domain/tls-discovery.ts';
import type { DiscoveryUnit } from '#lib/ports/discovery-runs.ts';
import { giveUpDiscoveryUnit, type RunDiscoveryUnitDeps, runDiscoveryUnit } from '#lib/use-cases/run-discovery.ts';

/** A unit as it travels in a queue message. */
export const discoveryUnitSchema = z.strictObject({
  runId: z.string().min(1).max(64),
  source: z.enum(DISCOVERY_SOURCES),
  account: z.union([z.string().regex(/^\d{12}$/), z.literal(TLS_ACCOUNT)]),
  region: z.string().min(1).max(32),
  roleArn: z.string().max(2048).optional(),
  tls: z
    .strictObject({
      dials: z
        .array(
          z.strictObject({
            host: z.string().min(1).max(253).exactOptional(),
            address: z.string().min(2).max(45),
            port: z.number().int().min(1).max(65535),
          }),
        )
        .max(TLS_ENDPOINTS_PER_UNIT),
      unresolved: z
        .array(
          z.strictObject({
            host: z.string().min(1).max(253),
            port: z.number().int().min(1).max(65535),
            outcome: z.enum(['timeout', 'unreachable']),
            code: z.string().max(64),
          }),
        )
        .max(TLS_ENDPOINTS_PER_UNIT),
    })
    .optional(),
});

/**
 * The discovery worker: one unit of work per queue message. A part that fails (access denied, no credentials) is
 * recorded as failed and the message is done; a unit that must be tried again (another writer got there first, the
 * inventory could not be reached) is reported as a batch item failure, so SQS delivers it again and, after its
 * retries, moves it to the dead-letter queue; on its last delivery the part is recorded as failed first, so the run
 * completes. A message that is not a unit goes to the dead-letter queue too.
 */
export function makeDiscoveryWorkerHandler(
  deps: RunDiscoveryUnitDeps & { readonly logger: Logger; readonly maxReceives: number },
) {
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
        const receives = Number(record.attributes.ApproximateReceiveCount);
        if (Number.isInteger(receives) && receives >= deps.maxReceives) {
          // SQS moves the message to the dead-letter queue after this delivery: the part must not stay `running`.
          await giveUpDiscoveryUnit(deps, unit, receives, error).catch(() => undefined);
        }
        deps.logger.warn('discovery unit to retry', {
          runId: unit.runId,
          source: unit.source,
          account: unit.account,
          receives,
          error,
        });
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures: failures };
  };
}
