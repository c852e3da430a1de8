import type { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { z } from 'zod';
import { InternalError } from '#lib/domain/errors.ts';
import type { AuditRecord } from '#lib/domain/inventory.ts';
import { auditKey, TABLE_KEY } from './dynamodb-keys.ts';

/** The condition of a write that must create its item: nothing is stored under that key yet. */
export const MUST_BE_NEW = {
  ConditionExpression: 'attribute_not_exists(#pk)',
  ExpressionAttributeNames: { '#pk': TABLE_KEY.partitionKey },
} as const;

/**
 * Parses an item read back from the table. A corrupt item fails loudly as `INVENTORY_CORRUPT` (500, naming only its
 * key) instead of flowing on as a wrongly typed record.
 */
export function parseItem<T>(schema: z.ZodType<T>, item: Record<string, unknown>): T {
  const parsed = schema.safeParse(item);
  if (parsed.success) return parsed.data;
  throw new InternalError(
    'INVENTORY_CORRUPT',
    'An inventory item could not be read. Report the request id to the operators.',
    { details: { pk: item[TABLE_KEY.partitionKey], sk: item[TABLE_KEY.sortKey] }, cause: parsed.error },
  );
}

/** The transaction item that writes an audit entry, which must be new; every audited change appends one. */
export function auditEntryPut(tableName: string, audit: AuditRecord) {
  return { Put: { TableName: tableName, Item: { ...audit, ...auditKey(audit.at, audit.eventId) }, ...MUST_BE_NEW } };
}

/** Why each item of a cancelled transaction failed, in the order of its items (`ConditionalCheckFailed`, …). */
export function cancellationCodes(error: TransactionCanceledException): (string | undefined)[] {
  return (error.CancellationReasons ?? []).map((reason) => reason.Code);
}

/** Keys one BatchGetItem asks for (DynamoDB's limit). */
const BATCH_GET_KEYS = 100;
/** Rounds of unprocessed keys tried again, backing off, before the read is given up. */
const BATCH_GET_ATTEMPTS = 6;

/**
 * Every item of `keys` that exists, strongly consistent, in batches of 100, asking again (backing off) for the keys
 * DynamoDB leaves unprocessed under throttling.
 * @throws InternalError `INVENTORY_THROTTLED` when keys are still unprocessed after the retries.
 */
export async function batchGetAll(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Record<string, unknown>[],
  sleep: (ms: number) => Promise<void>,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for (let start = 0; start < keys.length; start += BATCH_GET_KEYS) {
    let pending: Record<string, unknown>[] = keys.slice(start, start + BATCH_GET_KEYS);
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > BATCH_GET_ATTEMPTS) {
        throw new InternalError('INVENTORY_THROTTLED', 'The inventory could not be read in time; the run retries it.');
      }
      if (attempt > 1) await sleep(50 * 2 ** attempt);
      const out = await doc.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }),
      );
      items.push(...(out.Responses?.[tableName] ?? []));
      pending = out.UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  }
  return items;
}

/** Every item a Query matches, page after page (for partitions known to be small: a run's parts, a shard). */
export async function queryAllItems(
  doc: DynamoDBDocumentClient,
  input: Omit<QueryCommandInput, 'ExclusiveStartKey'>,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(new QueryCommand({ ...input, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}
