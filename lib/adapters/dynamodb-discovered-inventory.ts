import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import {
  DISCOVERED_STATUSES,
  DISCOVERED_TYPES,
  type DiscoveredIdentity,
  type DiscoveryScopeKey,
  OBSERVATION_SOURCES,
} from '#lib/domain/discovery.ts';
import { ConflictError } from '#lib/domain/errors.ts';
import { identityVersionMismatch } from '#lib/domain/identity-annotations.ts';
import type { AuditRecord } from '#lib/domain/inventory.ts';
import { RISK_LEVELS } from '#lib/domain/risk/levels.ts';
import type { DiscoveredInventory } from '#lib/ports/discovered-inventory.ts';
import { auditEntryPut, batchGetAll, cancellationCodes, parseItem, queryAllItems } from './dynamodb-items.ts';
import {
  ALL_BURST_SHARDS,
  BY_SCOPE_INDEX,
  discoveredIdentityKey,
  identityIndexAttributes,
  keyHolderKey,
  keyHoldersPartition,
  scopeIndexAttributes,
  scopePartition,
  TABLE_KEY,
} from './dynamodb-keys.ts';
import { mapWithConcurrency } from './map-with-concurrency.ts';

/** Writes and shard queries in flight at once. */
const CONCURRENCY = 8;

const timestamp = z.iso.datetime();

const identitySchema = z.object({
  identityId: z.string().min(1),
  source: z.enum(OBSERVATION_SOURCES),
  type: z.enum(DISCOVERED_TYPES),
  arn: z.string().min(1),
  name: z.string(),
  account: z.string(),
  region: z.string(),
  tags: z.record(z.string(), z.string()),
  facts: z.record(z.string(), z.json()),
  owner: z.string().optional(),
  observationHash: z.string().regex(/^[0-9a-f]{64}$/),
  status: z.enum(DISCOVERED_STATUSES),
  missedRuns: z.number().int().nonnegative(),
  firstSeenAt: timestamp,
  changedAt: timestamp,
  lastSeenAt: timestamp.exactOptional(),
  annotations: z
    .object({
      owner: z.string().exactOptional(),
      purpose: z.string().exactOptional(),
      tags: z.record(z.string(), z.string()).exactOptional(),
      updatedAt: timestamp,
      updatedBy: z.string(),
    })
    .exactOptional(),
  version: z.number().int().positive(),
  risk: z
    .object({
      score: z.number().int().min(0).max(100),
      level: z.enum(RISK_LEVELS),
      rules: z.array(z.string()),
    })
    .exactOptional(),
  sharedKeyCount: z.number().int().positive().exactOptional(),
});

/** A discovered identity item read back (from the table or a stream image), parsed; `INVENTORY_CORRUPT` if not. */
export function discoveredIdentityFromItem(item: Record<string, unknown>): DiscoveredIdentity {
  const parsed = parseItem(identitySchema, item);
  return { ...parsed, owner: parsed.owner };
}

/**
 * Discovered identities in the inventory table: one item each under `DID#<id>` (keys in `dynamodb-keys.ts`), carrying
 * the byScope index attributes (16 shards per scope). Items read back are parsed; writes are conditional on the
 * version, so concurrent runs cannot lose each other's changes.
 */
export class DynamoDbDiscoveredInventory implements DiscoveredInventory {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  async get(identityId: string): Promise<DiscoveredIdentity | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: discoveredIdentityKey(identityId), ConsistentRead: true }),
    );
    return out.Item === undefined ? undefined : discoveredIdentityFromItem(out.Item);
  }

  async getMany(identityIds: readonly string[]): Promise<ReadonlyMap<string, DiscoveredIdentity>> {
    const keys = [...new Set(identityIds)].map(discoveredIdentityKey);
    const items = await batchGetAll(this.doc, this.tableName, keys, this.sleep);
    return new Map(
      items.map((item) => {
        const identity = discoveredIdentityFromItem(item);
        return [identity.identityId, identity];
      }),
    );
  }

  async keyHolders(spkiSha256: string): Promise<readonly string[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': TABLE_KEY.partitionKey, '#sk': TABLE_KEY.sortKey },
        ExpressionAttributeValues: { ':pk': keyHoldersPartition(spkiSha256) },
        ProjectionExpression: '#sk',
        ConsistentRead: true,
        Limit: 1000,
      }),
    );
    return (out.Items ?? []).map((item) => String(item[TABLE_KEY.sortKey]));
  }

  async *listScope(scope: DiscoveryScopeKey): AsyncIterable<readonly DiscoveredIdentity[]> {
    // Shards are read a few at a time; each yields its pages as they come.
    const shards = ALL_BURST_SHARDS.map((shard) => scopePartition(scope, shard));
    for (let start = 0; start < shards.length; start += CONCURRENCY) {
      const pages = await Promise.all(shards.slice(start, start + CONCURRENCY).map((p) => this.queryAll(p)));
      for (const page of pages) if (page.length > 0) yield page;
    }
  }

  async write(identities: readonly DiscoveredIdentity[]): Promise<void> {
    await mapWithConcurrency(identities, CONCURRENCY, async (identity) => {
      try {
        await this.doc.send(new PutCommand(this.versionedPut(identity)));
        const spki = identity.type === 'x509-certificate' ? identity.facts.spkiSha256 : undefined;
        if (typeof spki === 'string' && /^[0-9a-f]{64}$/.test(spki)) {
          // Filed under its key (idempotent): who else holds the key is one Query.
          await this.doc.send(
            new PutCommand({ TableName: this.tableName, Item: keyHolderKey(spki, identity.identityId) }),
          );
        }
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        throw new ConflictError(
          'CONCURRENT_UPDATE',
          `Discovered identity ${identity.identityId} was changed by another run; this unit of work is retried.`,
          { cause: error },
        );
      }
    });
  }

  async recordUpdate(identity: DiscoveredIdentity, audit: AuditRecord): Promise<void> {
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [{ Put: this.versionedPut(identity) }, auditEntryPut(this.tableName, audit)],
        }),
      );
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [identityCode] = cancellationCodes(error);
      if (identityCode !== 'ConditionalCheckFailed' && !cancellationCodes(error).includes('TransactionConflict')) {
        throw error;
      }
      throw identityVersionMismatch(identity.identityId, { cause: error });
    }
  }

  async recordAudit(audit: AuditRecord): Promise<void> {
    await this.doc.send(new PutCommand(auditEntryPut(this.tableName, audit).Put));
  }

  /** The Put of an identity's item, with its keys and index attributes, on condition that it is the next version. */
  private versionedPut(identity: DiscoveredIdentity) {
    const { owner, ...rest } = identity;
    return {
      TableName: this.tableName,
      Item: {
        ...rest,
        ...(owner === undefined ? {} : { owner }),
        ...discoveredIdentityKey(identity.identityId),
        ...scopeIndexAttributes(identity),
        ...identityIndexAttributes({ ...identity, createdAt: identity.firstSeenAt }),
      },
      ...(identity.version === 1
        ? {
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': TABLE_KEY.partitionKey },
          }
        : {
            ConditionExpression: '#version = :previous',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':previous': identity.version - 1 },
          }),
    };
  }

  /** Every identity of one byScope partition (a shard holds a scope's identities / 16: few pages). */
  private async queryAll(partition: string): Promise<DiscoveredIdentity[]> {
    const items = await queryAllItems(this.doc, {
      TableName: this.tableName,
      IndexName: BY_SCOPE_INDEX.name,
      KeyConditionExpression: '#p = :p',
      ExpressionAttributeNames: { '#p': BY_SCOPE_INDEX.partitionKey },
      ExpressionAttributeValues: { ':p': partition },
    });
    return items.map(discoveredIdentityFromItem);
  }
}
