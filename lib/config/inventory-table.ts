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
  /**
   * The table's stream: the transactional outbox every event is derived from (both images, so that a consumer of a
   * change can tell what it changed from).
   */
  streamViewType: 'NEW_AND_OLD_IMAGES',
  indexes: [
    /** Sparse: only active certificates carry these attributes; partitioned by the UTC day of notAfter, 16 shards a day. */
    { name: 'expiry', partitionKey: 'expiryDay', sortKey: 'expirySk' },
    /** Identities, issued and discovered, by type (16 shards each), sorted by source, status, then creation. */
    { name: 'byType', partitionKey: 'typePk', sortKey: 'typeSk' },
    /** Identities by owner (16 shards each), sorted by type, source, status, then creation. Sparse: unowned are not. */
    { name: 'byOwner', partitionKey: 'ownerPk', sortKey: 'ownerSk' },
    /** Discovered identities by the scope that found them (source, account, region), in 16 shards each. */
    { name: 'byScope', partitionKey: 'scopePk', sortKey: 'scopeSk' },
    /** Discovered identities by AWS account (16 shards each), sorted by type, source, status, then first seen. */
    { name: 'byAccount', partitionKey: 'accountPk', sortKey: 'accountSk' },
    /** Identities at risk by level (16 shards each), sorted by type, source, status, then creation. Sparse: no `none`. */
    { name: 'byRisk', partitionKey: 'riskPk', sortKey: 'riskSk' },
  ],
} as const;

export type InventoryIndexName = (typeof INVENTORY_TABLE.indexes)[number]['name'];

/**
 * The table's partitions by what they hold: the value of `pk` (or of an index's partition key) matches one of these
 * patterns, where a trailing `*` stands for any rest and `{caId}` for the CA's id. Declared once, as plain data: the
 * adapters build their keys from the prefixes, the CDK stack turns them into `dynamodb:LeadingKeys` conditions, and
 * the local runtime's access guard checks every request against the same grants.
 */
export const TABLE_PARTITIONS = {
  certificate: 'CERT#*',
  identity: 'IDN#*',
  caChain: 'CA#{caId}',
  audit: 'AUDIT#*',
  currentPolicies: 'POLICY',
  policyHistory: 'POLICYV#*',
  enrollmentToken: 'ETOKEN#*',
  idempotency: 'IDEMPOTENCY#*',
  discoveredIdentity: 'DID#*',
  discoveryRuns: 'DRUN',
  discoveryRunParts: 'DRUNP#*',
  scopeReads: 'SCOPEREAD#*',
  /** What the inventory summary counts for each identity, and from which of its versions. */
  summaryContribution: 'SUMC#*',
  /** The inventory summary's counters, one partition per burst shard. */
  summaryCounters: 'SUMMARY#*',
  /** Certificates by public key (SHA-256 of the SubjectPublicKeyInfo): one item per certificate identity. */
  keyHolders: 'SPKI#*',
} as const;
export type TablePartition = keyof typeof TABLE_PARTITIONS;

/** The partitions of each index, by index name. */
export const INDEX_PARTITIONS: { readonly [N in InventoryIndexName]: string } = {
  expiry: 'EXP#*',
  byType: 'TYPE#*',
  byOwner: 'OWNER#*',
  byScope: 'DSCOPE#*',
  byAccount: 'ACCOUNT#*',
  byRisk: 'RISK#*',
};

/** The fixed part of a `<prefix>*` partition pattern: what every key of that partition starts with. */
export function partitionPrefix(pattern: string): string {
  if (!pattern.endsWith('*') || pattern.indexOf('*') !== pattern.length - 1) {
    throw new Error(`partition pattern ${pattern} is not a prefix pattern`);
  }
  return pattern.slice(0, -1);
}
