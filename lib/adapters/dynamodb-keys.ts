import { createHash } from 'node:crypto';
import {
  INDEX_PARTITIONS,
  INVENTORY_TABLE,
  type InventoryIndexName,
  partitionPrefix,
  TABLE_PARTITIONS,
} from '#lib/config/inventory-table.ts';
import {
  type AnyIdentityStatus,
  type AnyIdentityType,
  type IdentityListFilter,
  type IdentitySource,
  typeSourcePairs,
} from '#lib/domain/identity-catalog.ts';
import { RISK_LEVELS, type RiskLevel, type Severity } from '#lib/domain/risk/levels.ts';
import { RISK_RULES } from '#lib/domain/risk/rules.ts';

/**
 * Keys of the single inventory table. Every access pattern is a GetItem or a Query on one partition; nothing scans.
 *
 * | access pattern                        | index   | partition key          | sort key                                   |
 * |---------------------------------------|---------|------------------------|--------------------------------------------|
 * | certificate by serial                 | table   | `CERT#<serial>`        | `CERT`                                     |
 * | identity by id                        | table   | `IDN#<id>`             | `IDN`                                      |
 * | CA chain                              | table   | `CA#<caId>`            | `CHAIN`                                    |
 * | audit entries of one UTC day          | table   | `AUDIT#YYYY-MM-DD#<burst shard>` | `<at ISO>#<eventId>`             |
 * | identities by type [source [status]]  | byType  | `TYPE#<type>#<shard>`  | `<source>#<status>#<created>#<id>`         |
 * | identities by owner [type [src [st]]] | byOwner | `OWNER#<owner>#<shard>`| `<type>#<source>#<status>#<created>#<id>`  |
 * | identities by account [type [src [st]]]| byAccount | `ACCOUNT#<account>#<shard>` | `<type>#<source>#<status>#<created>#<id>` |
 * | identities at a risk level [type …]   | byRisk  | `RISK#<level>#<shard>` | `<type>#<source>#<status>#<created>#<id>`  |
 * | active certificates expiring in a day | expiry  | `EXP#YYYY-MM-DD#<burst shard>` | `<notAfter ISO>#<serial>`          |
 * | current policy by name                | table   | `POLICY`               | `CUR#<name>`                               |
 * | every current policy                  | table   | `POLICY`               | begins_with `CUR#`                         |
 * | versions of one policy, oldest first  | table   | `POLICYV#<name>`       | `V#<version, zero-padded to 10 digits>`    |
 * | enrollment token by SHA-256 of it     | table   | `ETOKEN#<tokenHash>`   | `ETOKEN`                                   |
 * | discovered identity by id             | table   | `DID#<id>`             | `DID`                                      |
 * | discovered identities of a scope      | byScope | `DSCOPE#<source>#<account>#<region>#<shard>` | `<id>`             |
 * | discovery runs, newest last           | table   | `DRUN`                 | `<runId>` (starts with its UTC start time) |
 * | the parts of a discovery run          | table   | `DRUNP#<runId>`        | `<source>\|<account>\|<region>`            |
 * | when a scope was last read to its end | table   | `SCOPEREAD#<source>#<account>#<region>` | `READ`                    |
 * | idempotency record by hashed key      | table   | `IDEMPOTENCY#<burst shard>` | `<Powertools' hashed key>`            |
 * | what the summary counts for an identity | table | `SUMC#<identityId>`    | `SUMC`                                     |
 * | the summary's counters (one shard)    | table   | `SUMMARY#<burst shard>`| `core`, `<dimension>#<bucket>`             |
 *
 * The expiry index is sparse: only active certificates carry its attributes, and revocation removes them, so the
 * expiry sweep reads only what is due and its cost grows with that number, not with the inventory. Status is part of
 * both identity sort keys so that every filter is a key condition (no FilterExpression, hence no pages that read items
 * only to drop them); revocation rewrites those sort keys. Issued and discovered identities share the three listing
 * indexes (issued ones have no account; unowned ones no owner), so one listing spans both without copying either.
 * `<shard>` is the identity id's burst shard (below); `<created>` is the issuance time or the first sighting. {@link identityListingPlan} turns a filter on type, source, status and one of owner or
 * account into key conditions over those partitions.
 *
 * Current policies share one partition: there are few of them (hundreds at most), they change rarely, and listing
 * them all is one Query. Each policy's history has a partition of its own, where the zero-padded version makes the
 * sort key order the version order; a deletion leaves a tombstone version there. Enrollment tokens are keyed by the
 * SHA-256 of the token, never the token, and carry `ttl` so that DynamoDB's TTL removes them a while after expiry.
 *
 * Partitions a burst would concentrate on are split in {@link BURST_SHARDS}: a `<burst shard>` is one hex digit from
 * a hash of the item's unique id (the audit entry's eventId, the certificate's serial, the idempotency record's
 * already hashed key; {@link burstShard}). Writing them costs nothing extra; reading a day of audit entries or of
 * expiries queries its 16 shards together and merges them by sort key, which is the same in every shard.
 * Idempotency records are only ever read by key, and carry `ttl` too.
 *
 * The inventory summary (`GET /v1/inventory/summary`) is counters, kept from the table's stream: each identity's
 * `SUMC#` item holds the counters it is counted in and the version they come from, and each change of it moves the
 * counters of its identity's burst shard (`SUMMARY#<shard>`), so a burst of 10,000 changes spreads like the listing
 * indexes' writes. Within a shard's partition, the few counters of the enumerated dimensions (type, source, status,
 * risk) share the `core` item, and each of the unbounded ones (account, owner, expiry day) is spread over 16 items by a
 * hash of the counter's name ({@link summaryCounterGroup}): a write costs by the size of the items it touches, and no
 * item grows towards DynamoDB's 400 KB with the number of accounts or owners. Reading the summary queries the 16
 * partitions (a few dozen small items each) and sums them.
 */

type IndexDefinition<N extends InventoryIndexName> = Extract<(typeof INVENTORY_TABLE.indexes)[number], { name: N }>;

function indexDefinition<N extends InventoryIndexName>(name: N): IndexDefinition<N> {
  const found = INVENTORY_TABLE.indexes.find((index): index is IndexDefinition<N> => index.name === name);
  if (!found) throw new Error(`INVENTORY_TABLE declares no index ${name}`);
  return found;
}

export const TABLE_KEY = { partitionKey: INVENTORY_TABLE.partitionKey, sortKey: INVENTORY_TABLE.sortKey } as const;
export const EXPIRY_INDEX = indexDefinition('expiry');
export const BY_TYPE_INDEX = indexDefinition('byType');
export const BY_OWNER_INDEX = indexDefinition('byOwner');
export const BY_SCOPE_INDEX = indexDefinition('byScope');
export const BY_ACCOUNT_INDEX = indexDefinition('byAccount');
export const BY_RISK_INDEX = indexDefinition('byRisk');

/** The table's own key, queried like an index (no index name). */
export const BASE_TABLE = { name: undefined, ...TABLE_KEY } as const;

/** The table or any of its key-bearing indexes, as the query helpers take it. */
export type KeyedIndex =
  | typeof BASE_TABLE
  | typeof EXPIRY_INDEX
  | typeof BY_TYPE_INDEX
  | typeof BY_OWNER_INDEX
  | typeof BY_SCOPE_INDEX
  | typeof BY_ACCOUNT_INDEX
  | typeof BY_RISK_INDEX;

/** Key prefixes, from the partition declarations the stack's grants are made of. */
const PREFIX = {
  keyHolders: partitionPrefix(TABLE_PARTITIONS.keyHolders),
  certificate: partitionPrefix(TABLE_PARTITIONS.certificate),
  identity: partitionPrefix(TABLE_PARTITIONS.identity),
  audit: partitionPrefix(TABLE_PARTITIONS.audit),
  idempotency: partitionPrefix(TABLE_PARTITIONS.idempotency),
  policyHistory: partitionPrefix(TABLE_PARTITIONS.policyHistory),
  enrollmentToken: partitionPrefix(TABLE_PARTITIONS.enrollmentToken),
  expiry: partitionPrefix(INDEX_PARTITIONS.expiry),
  byType: partitionPrefix(INDEX_PARTITIONS.byType),
  byOwner: partitionPrefix(INDEX_PARTITIONS.byOwner),
  byScope: partitionPrefix(INDEX_PARTITIONS.byScope),
  byAccount: partitionPrefix(INDEX_PARTITIONS.byAccount),
  byRisk: partitionPrefix(INDEX_PARTITIONS.byRisk),
  discoveredIdentity: partitionPrefix(TABLE_PARTITIONS.discoveredIdentity),
  discoveryRunParts: partitionPrefix(TABLE_PARTITIONS.discoveryRunParts),
  scopeReads: partitionPrefix(TABLE_PARTITIONS.scopeReads),
  summaryContribution: partitionPrefix(TABLE_PARTITIONS.summaryContribution),
  summaryCounters: partitionPrefix(TABLE_PARTITIONS.summaryCounters),
} as const;

function tableKey(pk: string, sk: string): Record<string, string> {
  return { [TABLE_KEY.partitionKey]: pk, [TABLE_KEY.sortKey]: sk };
}

/** `YYYY-MM-DD` of the instant, in UTC. */
export function utcDay(instant: Date): string {
  return instant.toISOString().slice(0, 10);
}

/** Canonical ISO form, so that sort keys built from the same instant compare equal whatever the input format. */
function iso(timestamp: string): string {
  const date = new Date(timestamp);
  if (Number.isNaN(date.getTime())) throw new RangeError(`not a timestamp: ${timestamp}`);
  return date.toISOString();
}

export function certificateKey(serialNumber: string): Record<string, string> {
  return tableKey(`${PREFIX.certificate}${serialNumber}`, 'CERT');
}

export function identityKey(identityId: string): Record<string, string> {
  return tableKey(`${PREFIX.identity}${identityId}`, 'IDN');
}

/** The CA chain's partition: the one value `TABLE_PARTITIONS.caChain` stands for with this CA id. */
export function caChainPartition(caId: string): string {
  return TABLE_PARTITIONS.caChain.replace('{caId}', caId);
}

export function caChainKey(caId: string): Record<string, string> {
  return tableKey(caChainPartition(caId), 'CHAIN');
}

/**
 * How many partitions each burst-prone partition (an audit day, an expiry day, the idempotency records, an identity
 * type, owner or account in the listing indexes, a discovery scope) is split in. The design load is a run writing
 * 10,000 changed identities in a burst, and issuance at
 * hundreds per second, each with its audit entry, expiry entry and idempotency record; DynamoDB takes about 1,000
 * writes per second per partition. 16 shards put 10,000 / 16 ≈ 625 writes of such a burst on each, and issuance at
 * hundreds per second some tens per second on each: both well below 1,000/s. Reading a day queries all 16 shards (in
 * parallel), so the count stays this small.
 */
export const BURST_SHARDS = 16;

/** The burst shard of an item, one hex digit from a hash of its unique id: the same id always lands in the same. */
export function burstShard(uniqueId: string): string {
  return ((createHash('sha256').update(uniqueId).digest()[0] ?? 0) % BURST_SHARDS).toString(16);
}

/** Every burst shard, in order (`0`…`f`). */
export const ALL_BURST_SHARDS: readonly string[] = Array.from({ length: BURST_SHARDS }, (_, shard) =>
  shard.toString(16),
);

export function auditKey(at: string, eventId: string): Record<string, string> {
  const when = iso(at);
  return tableKey(auditPartition(new Date(when), burstShard(eventId)), `${when}#${eventId}`);
}

/** One shard of the audit partitions of a UTC day. */
export function auditPartition(day: Date, shard: string): string {
  return `${PREFIX.audit}${utcDay(day)}#${shard}`;
}

/** Every audit partition of a UTC day, one a shard: reading the day merges them by sort key. */
export function auditPartitions(day: Date): string[] {
  return ALL_BURST_SHARDS.map((shard) => auditPartition(day, shard));
}

/** The expiry index attributes an active certificate carries; revocation REMOVEs them. */
export function expiryAttributes(notAfter: string, serialNumber: string): Record<string, string> {
  const when = iso(notAfter);
  return {
    [EXPIRY_INDEX.partitionKey]: expiryPartition(new Date(when), burstShard(serialNumber)),
    [EXPIRY_INDEX.sortKey]: `${when}#${serialNumber}`,
  };
}

/** One shard of the expiry index partitions of a UTC day. */
export function expiryPartition(day: Date, shard: string): string {
  return `${PREFIX.expiry}${utcDay(day)}#${shard}`;
}

/** Every expiry index partition of a UTC day, one a shard. */
export function expiryPartitions(day: Date): string[] {
  return ALL_BURST_SHARDS.map((shard) => expiryPartition(day, shard));
}

/**
 * The key of an idempotency record: its shard of the `IDEMPOTENCY#` partitions by the hashed idempotency key
 * Powertools hands over, and that key as the sort key.
 */
export function idempotencyRecordKey(hashedKey: string): Record<string, string> {
  return tableKey(`${PREFIX.idempotency}${burstShard(hashedKey)}`, hashedKey);
}

/**
 * Sort key bounds selecting notAfter in [from, to) with BETWEEN: ISO timestamps have a fixed length, so
 * `<notAfter>#<serial>` sorts below `to` exactly when notAfter < to, and above `from` exactly when notAfter >= from.
 */
export function expirySortBounds(from: Date, to: Date): readonly [string, string] {
  return [from.toISOString(), to.toISOString()];
}

/** What an identity's listing keys are made of; issued ones have no account, unowned ones no owner. */
export interface IdentityIndexFields {
  readonly identityId: string;
  readonly type: AnyIdentityType;
  readonly source: IdentitySource;
  readonly status: AnyIdentityStatus;
  readonly owner: string | undefined;
  readonly account?: string | undefined;
  /** When the identity was created (issued) or first seen (discovered). */
  readonly createdAt: string;
  /** Its assessed risk; `none` and unassessed identities are not in the byRisk index. */
  readonly risk?: { readonly level: RiskLevel } | undefined;
}

/**
 * The byType, byOwner and byAccount attributes of an identity. Partitions hold the type, owner or account and the
 * identity's burst shard, so that a discovery run writing 10,000 identities of one type, owner or account puts about
 * 625 writes on each; sort keys hold the enumerated fields (type, source, status) first, so that any filter on them
 * is a few prefixes. The sort keys change with the status; the partitions only with the owner.
 */
export function identityIndexAttributes(identity: IdentityIndexFields): Record<string, string> {
  const shard = burstShard(identity.identityId);
  const tail = `${identity.status}#${iso(identity.createdAt)}#${identity.identityId}`;
  const typed = `${identity.type}#${identity.source}#${tail}`;
  return {
    [BY_TYPE_INDEX.partitionKey]: `${PREFIX.byType}${identity.type}#${shard}`,
    [BY_TYPE_INDEX.sortKey]: `${identity.source}#${tail}`,
    ...(identity.owner === undefined
      ? {}
      : {
          [BY_OWNER_INDEX.partitionKey]: `${PREFIX.byOwner}${identity.owner}#${shard}`,
          [BY_OWNER_INDEX.sortKey]: typed,
        }),
    ...(identity.account === undefined
      ? {}
      : {
          [BY_ACCOUNT_INDEX.partitionKey]: `${PREFIX.byAccount}${identity.account}#${shard}`,
          [BY_ACCOUNT_INDEX.sortKey]: typed,
        }),
    ...(identity.risk === undefined || identity.risk.level === 'none'
      ? {}
      : {
          [BY_RISK_INDEX.partitionKey]: `${PREFIX.byRisk}${identity.risk.level}#${shard}`,
          [BY_RISK_INDEX.sortKey]: typed,
        }),
  };
}

/** The levels `risk=<level>` selects: that level or worse, worst first. */
function levelsFrom(level: Exclude<RiskLevel, 'none'>): RiskLevel[] {
  return RISK_LEVELS.slice(RISK_LEVELS.indexOf(level)).reverse();
}

/** One Query of a listing: an index partition and, optionally, a sort key prefix. */
export interface ListingQuery {
  readonly index: typeof BY_TYPE_INDEX | typeof BY_OWNER_INDEX | typeof BY_ACCOUNT_INDEX | typeof BY_RISK_INDEX;
  readonly partition: string;
  readonly beginsWith?: string;
  /**
   * Keep only items whose stored risk names this rule (a FilterExpression): a rule listing reads the byRisk partitions
   * of its severity or worse and of its types only, so what it reads is bounded by the identities at that risk.
   */
  readonly containsRule?: string;
}

/**
 * The queries that list the identities a filter selects, each a key condition: byAccount with an account, byOwner
 * with an owner, byRisk with a risk level or a rule (the levels from the rule's severity up, its types only, and a
 * filter on the rule's code: a bounded query), else byType; within it, the (type, source) pairs the filter admits
 * (at most fourteen) and the status become sort key prefixes, and every shard of each partition is read. So a listing
 * reads only what it returns (a rule listing: what is at that risk); it costs at most 14 × 16 Queries, most of them
 * on empty or small partitions, read a few at a time. Two of owner, account and risk (or rule) are refused: no index
 * holds both.
 */
export function identityListingPlan(filter: IdentityListFilter): ListingQuery[] {
  const partitioned = [filter.owner, filter.account, filter.risk ?? filter.rule].filter((f) => f !== undefined);
  if (partitioned.length > 1) {
    throw new RangeError('an identity listing filters by one of owner, account and risk (or rule)');
  }
  const rule = filter.rule === undefined ? undefined : RISK_RULES.find((r) => r.code === filter.rule);
  if (filter.rule !== undefined && rule === undefined) throw new RangeError(`no risk rule ${filter.rule}`);
  // A rule fires only for its types, and puts its identity at its severity's level or worse.
  const pairs = typeSourcePairs(filter).filter((pair) => rule === undefined || rule.appliesTo.includes(pair.type));
  const status = filter.status === undefined ? '' : `${filter.status}#`;
  const queries: ListingQuery[] = [];
  const add = (index: ListingQuery['index'], partition: string, beginsWith: string) => {
    for (const shard of ALL_BURST_SHARDS) {
      queries.push({
        index,
        partition: `${partition}#${shard}`,
        ...(beginsWith === '' ? {} : { beginsWith }),
        ...(rule === undefined ? {} : { containsRule: rule.code }),
      });
    }
  };
  const bySource = filter.source !== undefined || filter.status !== undefined || rule !== undefined;
  const level = worst(filter.risk, rule?.severity);
  const partitions: Array<[ListingQuery['index'], string]> =
    filter.owner !== undefined
      ? [[BY_OWNER_INDEX, `${PREFIX.byOwner}${filter.owner}`]]
      : filter.account !== undefined
        ? [[BY_ACCOUNT_INDEX, `${PREFIX.byAccount}${filter.account}`]]
        : level !== undefined
          ? levelsFrom(level).map((l): [ListingQuery['index'], string] => [BY_RISK_INDEX, `${PREFIX.byRisk}${l}`])
          : [];
  if (partitions.length > 0) {
    for (const [index, partition] of partitions) {
      // Narrow by pair only when something besides the partition narrows: else one unprefixed walk of the shards.
      if (filter.type === undefined && !bySource) add(index, partition, '');
      else if (!bySource && filter.type !== undefined) add(index, partition, `${filter.type}#`);
      else for (const pair of pairs) add(index, partition, `${pair.type}#${pair.source}#${status}`);
    }
    return queries;
  }
  const types = [...new Set(pairs.map((pair) => pair.type))];
  if (!bySource) for (const type of types) add(BY_TYPE_INDEX, `${PREFIX.byType}${type}`, '');
  else for (const pair of pairs) add(BY_TYPE_INDEX, `${PREFIX.byType}${pair.type}`, `${pair.source}#${status}`);
  return queries;
}

/** The worse of two levels (undefined when neither is given). */
function worst(a: Severity | undefined, b: Severity | undefined): Severity | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return RISK_LEVELS.indexOf(a) >= RISK_LEVELS.indexOf(b) ? a : b;
}

/**
 * The table's TTL attribute (epoch seconds): DynamoDB deletes an item some time after it. Enrollment tokens and the
 * idempotency records use it.
 */
export const TTL_ATTRIBUTE = INVENTORY_TABLE.timeToLiveAttribute;

/** The partition of every current policy. */
export const CURRENT_POLICY_PARTITION = TABLE_PARTITIONS.currentPolicies;

/** Sort key prefix of the current policies in their partition. */
export const CURRENT_POLICY_SORT_PREFIX = 'CUR#';

export function currentPolicyKey(name: string): Record<string, string> {
  return tableKey(CURRENT_POLICY_PARTITION, `${CURRENT_POLICY_SORT_PREFIX}${name}`);
}

/** Versions fit in 10 digits (DynamoDB numbers and JS integers go far beyond; 10 digits outlast any policy). */
const VERSION_DIGITS = 10;

export function policyHistoryPartition(name: string): string {
  return `${PREFIX.policyHistory}${name}`;
}

export function policyVersionKey(name: string, version: number): Record<string, string> {
  if (!Number.isSafeInteger(version) || version < 1 || String(version).length > VERSION_DIGITS) {
    throw new RangeError(`not a policy version: ${version}`);
  }
  return tableKey(policyHistoryPartition(name), `V#${String(version).padStart(VERSION_DIGITS, '0')}`);
}

export function enrollmentTokenKey(tokenHash: string): Record<string, string> {
  return tableKey(`${PREFIX.enrollmentToken}${tokenHash}`, 'ETOKEN');
}

export function discoveredIdentityKey(identityId: string): Record<string, string> {
  return tableKey(`${PREFIX.discoveredIdentity}${identityId}`, 'DID');
}

/** Whether a table item (or index item) is a discovered identity, by its table partition key. */
export function isDiscoveredIdentityItem(item: Readonly<Record<string, unknown>>): boolean {
  const pk = item[TABLE_KEY.partitionKey];
  return typeof pk === 'string' && pk.startsWith(PREFIX.discoveredIdentity);
}

/** The byScope partition of one shard of a scope. */
export function scopePartition(scope: { source: string; account: string; region: string }, shard: string): string {
  return `${PREFIX.byScope}${scope.source}#${scope.account}#${scope.region}#${shard}`;
}

/**
 * The byScope attributes of a discovered identity: its scope's shard by a hash of its id (so a burst of 10,000 new
 * identities of one scope puts about 625 writes on each shard; reading a scope queries them all), and its id.
 */
export function scopeIndexAttributes(identity: {
  identityId: string;
  source: string;
  account: string;
  region: string;
}): Record<string, string> {
  return {
    [BY_SCOPE_INDEX.partitionKey]: scopePartition(identity, burstShard(identity.identityId)),
    [BY_SCOPE_INDEX.sortKey]: identity.identityId,
  };
}

/**
 * The partition of every discovery run's record: a few runs a day, each record updated once or twice per part (when
 * the part ends or reopens, moving the run's tally), so one partition; each part has an item of its own.
 */
export const DISCOVERY_RUN_PARTITION = TABLE_PARTITIONS.discoveryRuns;

export function discoveryRunKey(runId: string): Record<string, string> {
  return tableKey(DISCOVERY_RUN_PARTITION, runId);
}

/** The partition holding the parts of one discovery run, one item each, keyed by part key. */
export function discoveryPartsPartition(runId: string): string {
  return `${PREFIX.discoveryRunParts}${runId}`;
}

export function discoveryPartKey(runId: string, partKey: string): Record<string, string> {
  return tableKey(discoveryPartsPartition(runId), partKey);
}

/** When a scope was last read to its end: one item per scope, written when a part of it succeeds. */
export function scopeReadKey(scope: { source: string; account: string; region: string }): Record<string, string> {
  return tableKey(`${PREFIX.scopeReads}${scope.source}#${scope.account}#${scope.region}`, 'READ');
}

/** What the inventory summary counts for one identity: one item per identity. */
export function summaryContributionKey(identityId: string): Record<string, string> {
  return tableKey(`${PREFIX.summaryContribution}${identityId}`, 'SUMC');
}

/** One burst shard's partition of the summary's counters. */
export function summaryCounterPartition(shard: string): string {
  return `${PREFIX.summaryCounters}${shard}`;
}

/** Every partition of the summary's counters, one a shard: reading the summary sums them all. */
export function summaryCounterPartitions(): string[] {
  return ALL_BURST_SHARDS.map(summaryCounterPartition);
}

/** The dimensions with a fixed, small set of values: their counters share one item a shard. */
const ENUMERATED_DIMENSIONS: readonly string[] = ['type', 'source', 'status', 'risk'];

/**
 * The item (sort key) of a shard's partition that holds a counter: `core` for the enumerated dimensions, else
 * `<dimension>#<bucket>`, the bucket one hex digit of a hash of the counter's name (the same name, the same item).
 */
export function summaryCounterGroup(counter: string): string {
  const dimension = counter.slice(0, Math.max(0, counter.indexOf(':')));
  if (ENUMERATED_DIMENSIONS.includes(dimension)) return 'core';
  return `${dimension === '' ? 'other' : dimension}#${burstShard(counter)}`;
}

/** The key of the counter item holding `counter` in a shard. */
export function summaryCounterKey(shard: string, counter: string): Record<string, string> {
  return tableKey(summaryCounterPartition(shard), summaryCounterGroup(counter));
}

/**
 * A certificate identity under its public key: `SPKI#<sha256 hex> / <identityId>`. Who else holds a key is one Query
 * of its partition (a key is shared by a handful of certificates, never a hot partition).
 */
export function keyHolderKey(spkiSha256: string, identityId: string): Record<string, string> {
  return tableKey(keyHoldersPartition(spkiSha256), identityId);
}

export function keyHoldersPartition(spkiSha256: string): string {
  return `${PREFIX.keyHolders}${spkiSha256}`;
}
