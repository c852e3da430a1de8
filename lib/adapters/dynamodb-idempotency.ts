import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { INVENTORY_TABLE, TABLE_PARTITIONS } from '#lib/config/inventory-table.ts';

/** The partition that holds every idempotency record of the inventory table. */
export const IDEMPOTENCY_PARTITION = TABLE_PARTITIONS.idempotency;

/** The attribute holding a record's expiry in epoch seconds; the table's TTL attribute. */
export const IDEMPOTENCY_EXPIRY_ATTRIBUTE = INVENTORY_TABLE.timeToLiveAttribute;

/**
 * The store behind the HTTP `Idempotency-Key` guard (`#lib/http/idempotency.ts`): Powertools' DynamoDB persistence
 * layer, writing into the existing inventory table rather than a table of its own.
 *
 * - One table: records live in the single partition `pk = IDEMPOTENCY`, with `sk` = Powertools' hashed idempotency
 *   key (prefix + SHA-256 of route, principal and key). The inventory's key attributes are both strings, so a composite
 *   key with a static partition value is the only layout Powertools supports on this table. The records carry none of
 *   the GSI key attributes, so no index ever sees them.
 * - Expiry in `ttl` (epoch seconds): the attribute the table's TTL is set on, so AWS deletes old records. TTL deletion
 *   is lazy (and DynamoDB Local ignores TTL entirely), which is harmless: Powertools compares the expiry itself, both
 *   in the conditional put and when it reads a record back.
 * - Our own client (`awsSdkV3Client`): the composition root's client with its region, endpoint and credentials; the
 *   layer would otherwise build a default client. Powertools adds a user-agent middleware to it (once).
 */
export function createDynamoDbIdempotencyStore(options: {
  client: DynamoDBClient;
  tableName: string;
}): BasePersistenceLayer {
  return new DynamoDBPersistenceLayer({
    tableName: options.tableName,
    awsSdkV3Client: options.client,
    keyAttr: INVENTORY_TABLE.partitionKey,
    sortKeyAttr: INVENTORY_TABLE.sortKey,
    staticPkValue: IDEMPOTENCY_PARTITION,
    expiryAttr: IDEMPOTENCY_EXPIRY_ATTRIBUTE,
  });
}
