import type { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
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
