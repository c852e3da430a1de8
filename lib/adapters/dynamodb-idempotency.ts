import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { INVENTORY_TABLE } from '#lib/config/inventory-table.ts';
import { idempotencyRecordKey } from './dynamodb-keys.ts';

/** The attribute holding a record's expiry in epoch seconds; the table's TTL attribute. */
export const IDEMPOTENCY_EXPIRY_ATTRIBUTE = INVENTORY_TABLE.timeToLiveAttribute;

/**
 * Powertools' DynamoDB layer with its key builder replaced: with a sort key attribute it would put every record under
 * one static partition value, a hot partition at hundreds of issuances per second. This one spreads the records over
 * the `IDEMPOTENCY#<burst shard>` partitions by their hashed key (`idempotencyRecordKey`); every read, put, update and
 * delete the layer makes builds its key here, so the record's one key is the same in all of them.
 */
class ShardedDynamoDbPersistenceLayer extends DynamoDBPersistenceLayer {
  protected override getKey(idempotencyKey: string): Record<string, AttributeValue> {
    return Object.fromEntries(
      Object.entries(idempotencyRecordKey(idempotencyKey)).map(([name, value]) => [name, { S: value }]),
    );
  }
}

/**
 * The store behind the HTTP `Idempotency-Key` guard (`#lib/http/idempotency.ts`): Powertools' DynamoDB persistence
 * layer, writing into the existing inventory table rather than a table of its own.
 *
 * - One table: records live in the partitions `pk = IDEMPOTENCY#<shard>` (16 of them, by a hash of the record's key,
 *   so that no partition takes the whole write rate), with `sk` = Powertools' hashed idempotency key (prefix + SHA-256
 *   of route, principal and key). The inventory's key attributes are both strings; Powertools supports a composite
 *   key only with a static partition value, which the subclass above replaces by the shard. The records carry none of
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
  return new ShardedDynamoDbPersistenceLayer({
    tableName: options.tableName,
    awsSdkV3Client: options.client,
    keyAttr: INVENTORY_TABLE.partitionKey,
    sortKeyAttr: INVENTORY_TABLE.sortKey,
    expiryAttr: IDEMPOTENCY_EXPIRY_ATTRIBUTE,
  });
}
