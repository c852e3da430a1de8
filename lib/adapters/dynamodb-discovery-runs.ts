import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { DISCOVERY_SOURCES } from '#lib/domain/discovery.ts';
import { type DiscoveryRun, PART_STATUSES, partKey, type RunPart } from '#lib/domain/discovery-run.ts';
import { ConflictError, NotFoundError } from '#lib/domain/errors.ts';
import type { DiscoveryRunStore } from '#lib/ports/discovery-runs.ts';
import { parseItem } from './dynamodb-items.ts';
import { DISCOVERY_RUN_PARTITION, discoveryRunKey, TABLE_KEY } from './dynamodb-keys.ts';

const timestamp = z.iso.datetime();
const count = z.number().int().nonnegative();
const partSchema = z.object({
  source: z.enum(DISCOVERY_SOURCES),
  account: z.string(),
  region: z.string(),
  roleArn: z.string().optional(),
  status: z.enum(PART_STATUSES),
  reason: z.string().optional(),
  counts: z.object({ seen: count, new: count, changed: count, missing: count, reappeared: count }),
  startedAt: timestamp.optional(),
  finishedAt: timestamp.optional(),
  resumeFrom: z.string().optional(),
});
const runSchema = z.object({
  runId: z.string().min(1),
  startedAt: timestamp,
  startedBy: z.string(),
  trigger: z.enum(['api', 'schedule']),
  /** The parts by key, in a map, so that each worker updates its own part in place. */
  parts: z.record(z.string(), partSchema),
});

/**
 * A run's item as read back (or as the table's stream carries it), its parts in part-key order.
 * @throws InternalError `INVENTORY_CORRUPT` when the item does not parse.
 */
export function discoveryRunFromItem(item: Record<string, unknown>): DiscoveryRun {
  const run = parseItem(runSchema, item);
  const parts = Object.values(run.parts).sort((a, b) => partKey(a).localeCompare(partKey(b)));
  return { ...run, parts };
}

/** A part as stored: without the optional fields it lacks (DynamoDB stores no undefined). */
function stored(part: RunPart): Record<string, unknown> {
  return Object.fromEntries(Object.entries(part).filter(([, v]) => v !== undefined));
}

/**
 * Discovery runs in the inventory table, one item each under `DRUN / <runId>` (run ids sort by start time), its parts
 * in a map by part key so that each worker replaces its own part with one UpdateItem.
 */
export class DynamoDbDiscoveryRuns implements DiscoveryRunStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async createRun(run: DiscoveryRun): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...discoveryRunKey(run.runId),
            runId: run.runId,
            startedAt: run.startedAt,
            startedBy: run.startedBy,
            trigger: run.trigger,
            parts: Object.fromEntries(run.parts.map((p) => [partKey(p), stored(p)])),
          },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE_KEY.partitionKey },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      throw new ConflictError('RUN_EXISTS', `A discovery run ${run.runId} exists already. Start another.`, {
        cause: error,
      });
    }
  }

  async updatePart(runId: string, part: RunPart): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: discoveryRunKey(runId),
          UpdateExpression: 'SET parts.#part = :part',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE_KEY.partitionKey, '#part': partKey(part) },
          ExpressionAttributeValues: { ':part': stored(part) },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      throw new NotFoundError('RUN_NOT_FOUND', `There is no discovery run ${runId}.`, { cause: error });
    }
  }

  async getRun(runId: string): Promise<DiscoveryRun | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: discoveryRunKey(runId), ConsistentRead: true }),
    );
    return out.Item === undefined ? undefined : discoveryRunFromItem(out.Item);
  }

  async listRuns(limit: number): Promise<DiscoveryRun[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': TABLE_KEY.partitionKey },
        ExpressionAttributeValues: { ':pk': DISCOVERY_RUN_PARTITION },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map(discoveryRunFromItem);
  }
}
