/**
 * The inventory table's key schema, declared once: the CDK stack builds the table from it and the local runtime
 * creates DynamoDB Local's table from it, so the two cannot differ. Plain data, no AWS imports.
 *
 * Every key attribute is a string. The access patterns each key serves are documented beside the key builders in
 * `lib/adapters/dynamodb-keys.ts`.
 */
export const INVENTORY_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds after which DynamoDB may delete the item: idempotency records and spent enrollment tokens. */
  timeToLiveAttribute: 'ttl',
  indexes: [
    /** Sparse: only active certificates carry these attributes; partitioned by the UTC day of notAfter. */
    { name: 'expiry', partitionKey: 'expiryDay', sortKey: 'expirySk' },
    /** Identities by type, sorted by status then creation. */
    { name: 'byType', partitionKey: 'typePk', sortKey: 'typeSk' },
    /** Identities by owner, sorted by type, status, then creation. */
    { name: 'byOwner', partitionKey: 'ownerPk', sortKey: 'ownerSk' },
  ],
} as const;

export type InventoryIndexName = (typeof INVENTORY_TABLE.indexes)[number]['name'];
