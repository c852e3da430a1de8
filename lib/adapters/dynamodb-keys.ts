import { createHash } from 'node:crypto';
import {
  INDEX_PARTITIONS,
  INVENTORY_TABLE,
  type InventoryIndexName,
  partitionPrefix,
  TABLE_PARTITIONS,
} from '#lib/config/inventory-table.ts';
import type { IdentityStatus, IdentityType } from '#lib/domain/inventory.ts';

/**
 * Keys of the single inventory table. Every access pattern is a GetItem or a Query on one partition; nothing scans.
 *
 * | access pattern                        | index   | partition key          | sort key                                   |
 * |---------------------------------------|---------|------------------------|--------------------------------------------|
 * | certificate by serial                 | table   | `CERT#<serial>`        | `CERT`                                     |
 * | identity by id                        | table   | `IDN#<id>`             | `IDN`                                      |
 * | CA chain                              | table   | `CA#<caId>`            | `CHAIN`                                    |
 * | audit entries of one UTC day          | table   | `AUDIT#YYYY-MM-DD`     | `<at ISO>#<eventId>`                       |
 * | identities by type [and status]       | byType  | `TYPE#<type>`          | `<status>#<createdAt>#<id>`                |
 * | identities by owner [type [status]]   | byOwner | `OWNER#<owner>`        | `<type>#<status>#<createdAt>#<id>`         |
 * | active certificates expiring in a day | expiry  | `EXP#YYYY-MM-DD`       | `<notAfter ISO>#<serial>`                  |
 * | current policy by name                | table   | `POLICY`               | `CUR#<name>`                               |
 * | every current policy                  | table   | `POLICY`               | begins_with `CUR#`                         |
 * | versions of one policy, oldest first  | table   | `POLICYV#<name>`       | `V#<version, zero-padded to 10 digits>`    |
 * | enrollment token by SHA-256 of it     | table   | `ETOKEN#<tokenHash>`   | `ETOKEN`                                   |
 * | discovered identity by id             | table   | `DID#<id>`             | `DID`                                      |
 * | discovered identities of a scope      | byScope | `DSCOPE#<source>#<account>#<region>#<shard>` | `<id>`             |
 * | discovery runs, newest last           | table   | `DRUN`                 | `<runId>` (starts with its UTC start time) |
 *
 * The expiry index is sparse: only active certificates carry its attributes, and revocation removes them, so the
 * expiry sweep reads only what is due and its cost grows with that number, not with the inventory. Status is part of
 * both identity sort keys so that every filter is a key condition (no FilterExpression, hence no pages that read items
 * only to drop them); revocation rewrites those sort keys.
 *
 * Current policies share one partition: there are few of them (hundreds at most), they change rarely, and listing
 * them all is one Query. Each policy's history has a partition of its own, where the zero-padded version makes the
 * sort key order the version order; a deletion leaves a tombstone version there. Enrollment tokens are keyed by the
 * SHA-256 of the token, never the token, and carry `ttl` so that DynamoDB's TTL removes them a while after expiry.
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

/** The table's own key, queried like an index (no index name). */
export const BASE_TABLE = { name: undefined, ...TABLE_KEY } as const;

/** The table or any of its key-bearing indexes, as the query helpers take it. */
export type KeyedIndex =
  | typeof BASE_TABLE
  | typeof EXPIRY_INDEX
  | typeof BY_TYPE_INDEX
  | typeof BY_OWNER_INDEX
  | typeof BY_SCOPE_INDEX;

/** Key prefixes, from the partition declarations the stack's grants are made of. */
const PREFIX = {
  certificate: partitionPrefix(TABLE_PARTITIONS.certificate),
  identity: partitionPrefix(TABLE_PARTITIONS.identity),
  audit: partitionPrefix(TABLE_PARTITIONS.audit),
  policyHistory: partitionPrefix(TABLE_PARTITIONS.policyHistory),
  enrollmentToken: partitionPrefix(TABLE_PARTITIONS.enrollmentToken),
  expiry: partitionPrefix(INDEX_PARTITIONS.expiry),
  byType: partitionPrefix(INDEX_PARTITIONS.byType),
  byOwner: partitionPrefix(INDEX_PARTITIONS.byOwner),
  byScope: partitionPrefix(INDEX_PARTITIONS.byScope),
  discoveredIdentity: partitionPrefix(TABLE_PARTITIONS.discoveredIdentity),
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

export function auditKey(at: string, eventId: string): Record<string, string> {
  const when = iso(at);
  return tableKey(`${PREFIX.audit}${when.slice(0, 10)}`, `${when}#${eventId}`);
}

/** The audit partition of one UTC day. */
export function auditPartition(day: Date): string {
  return `${PREFIX.audit}${utcDay(day)}`;
}

/** The expiry index attributes an active certificate carries; revocation REMOVEs them. */
export function expiryAttributes(notAfter: string, serialNumber: string): Record<string, string> {
  const when = iso(notAfter);
  return {
    [EXPIRY_INDEX.partitionKey]: expiryPartition(new Date(when)),
    [EXPIRY_INDEX.sortKey]: `${when}#${serialNumber}`,
  };
}

export function expiryPartition(day: Date): string {
  return `${PREFIX.expiry}${utcDay(day)}`;
}

/**
 * Sort key bounds selecting notAfter in [from, to) with BETWEEN: ISO timestamps have a fixed length, so
 * `<notAfter>#<serial>` sorts below `to` exactly when notAfter < to, and above `from` exactly when notAfter >= from.
 */
export function expirySortBounds(from: Date, to: Date): readonly [string, string] {
  return [from.toISOString(), to.toISOString()];
}

export interface IdentityIndexFields {
  readonly identityId: string;
  readonly type: IdentityType;
  readonly status: IdentityStatus;
  readonly owner: string;
  readonly createdAt: string;
}

/** The byType and byOwner attributes of an identity; the sort keys change with its status. */
export function identityIndexAttributes(identity: IdentityIndexFields): Record<string, string> {
  const tail = `${iso(identity.createdAt)}#${identity.identityId}`;
  return {
    [BY_TYPE_INDEX.partitionKey]: typePartition(identity.type),
    [BY_TYPE_INDEX.sortKey]: `${identity.status}#${tail}`,
    [BY_OWNER_INDEX.partitionKey]: ownerPartition(identity.owner),
    [BY_OWNER_INDEX.sortKey]: `${identity.type}#${identity.status}#${tail}`,
  };
}

export function typePartition(type: IdentityType): string {
  return `${PREFIX.byType}${type}`;
}

/** byType sort key prefix; undefined when every status is wanted. */
export function typeSortPrefix(status: IdentityStatus | undefined): string | undefined {
  return status === undefined ? undefined : `${status}#`;
}

export function ownerPartition(owner: string): string {
  return `${PREFIX.byOwner}${owner}`;
}

export function ownerSortPrefix(type: IdentityType, status: IdentityStatus | undefined): string {
  return status === undefined ? `${type}#` : `${type}#${status}#`;
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

/**
 * A scope's identities are spread over this many partitions of the byScope index (by their id), so that a burst of
 * 10,000 new identities of one account puts about 600 writes on each instead of all on one; a listing queries them
 * all (in parallel).
 */
export const SCOPE_SHARDS = 16;

export function discoveredIdentityKey(identityId: string): Record<string, string> {
  return tableKey(`${PREFIX.discoveredIdentity}${identityId}`, 'DID');
}

/** The byScope partition of one shard of a scope. */
export function scopePartition(scope: { source: string; account: string; region: string }, shard: number): string {
  return `${PREFIX.byScope}${scope.source}#${scope.account}#${scope.region}#${shard.toString(16)}`;
}

/** The byScope attributes of a discovered identity: its scope's shard by a hash of its id, and its id. */
export function scopeIndexAttributes(identity: {
  identityId: string;
  source: string;
  account: string;
  region: string;
}): Record<string, string> {
  const shard = createHash('sha256').update(identity.identityId).digest()[0] ?? 0;
  return {
    [BY_SCOPE_INDEX.partitionKey]: scopePartition(identity, shard % SCOPE_SHARDS),
    [BY_SCOPE_INDEX.sortKey]: identity.identityId,
  };
}

/** The partition of every discovery run: a few a day, each updated once or twice per part, so one partition. */
export const DISCOVERY_RUN_PARTITION = TABLE_PARTITIONS.discoveryRuns;

export function discoveryRunKey(runId: string): Record<string, string> {
  return tableKey(DISCOVERY_RUN_PARTITION, runId);
}
