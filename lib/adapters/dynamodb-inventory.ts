import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { AuthenticationError, ConflictError, ValidationError } from '#lib/domain/errors.ts';
import { type IdentityAnnotations, identityVersionMismatch } from '#lib/domain/identity-annotations.ts';
import type { IdentityListFilter } from '#lib/domain/identity-catalog.ts';
import {
  AUDIT_ACTIONS,
  type AuditRecord,
  type CertificateRecord,
  IDENTITY_STATUSES,
  IDENTITY_TYPES,
  type IdentityRecord,
  type LeafKeyAlgorithm,
} from '#lib/domain/inventory.ts';
import { REVOCATION_REASON_NAMES } from '#lib/domain/revocation-reason.ts';
import { RISK_LEVELS } from '#lib/domain/risk/levels.ts';
import type { CaChainStore } from '#lib/ports/ca-chain-store.ts';
import type { CertificateInventory, ListedIdentity, Page, RevocationWrite } from '#lib/ports/certificate-inventory.ts';
import type { TokenSpend } from '#lib/ports/enrollment-token-store.ts';
import { decodeCursorText, encodeCursor, invalidCursor } from './dynamodb-cursor.ts';
import { discoveredIdentityFromItem } from './dynamodb-discovered-inventory.ts';
import { auditEntryPut, cancellationCodes, MUST_BE_NEW, parseItem } from './dynamodb-items.ts';
import {
  auditPartitions,
  BASE_TABLE,
  BY_OWNER_INDEX,
  BY_RISK_INDEX,
  BY_TYPE_INDEX,
  caChainKey,
  certificateKey,
  EXPIRY_INDEX,
  enrollmentTokenKey,
  expiryAttributes,
  expiryPartitions,
  expirySortBounds,
  identityIndexAttributes,
  identityKey,
  identityListingPlan,
  isDiscoveredIdentityItem,
  type KeyedIndex,
  TABLE_KEY,
} from './dynamodb-keys.ts';
import { listShardGroups, type ShardGroup } from './dynamodb-sharded-pages.ts';

const MAX_PAGE_SIZE = 100;
/** Bounds the number of days one expiry query may touch (one Query per shard of each, even when empty). */
export const MAX_EXPIRY_WINDOW_DAYS = 366;
const DAY_MS = 86_400_000;

const timestamp = z.iso.datetime();
const KEY_ALGORITHMS: { [A in LeafKeyAlgorithm]: A } = {
  EC_P256: 'EC_P256',
  EC_P384: 'EC_P384',
  RSA: 'RSA',
  ED25519: 'ED25519',
};

const certificateSchema = z.object({
  serialNumber: z.string().regex(/^[0-9a-f]+$/),
  identityId: z.string().min(1),
  policy: z.string(),
  subject: z.string(),
  subjectAltNames: z.array(
    z.discriminatedUnion('type', [
      z.object({ type: z.literal('dns'), value: z.string() }),
      z.object({ type: z.literal('ip'), value: z.string() }),
      z.object({ type: z.literal('uri'), value: z.string() }),
    ]),
  ),
  keyAlgorithm: z.enum(KEY_ALGORITHMS),
  keySize: z.number().int().positive(),
  notBefore: timestamp,
  notAfter: timestamp,
  renewAfter: timestamp,
  fingerprintSha256: z.string().regex(/^[0-9a-f]{64}$/),
  issuedAt: timestamp,
  issuedBy: z.string(),
  status: z.enum(['active', 'revoked']),
  revokedAt: timestamp.exactOptional(),
  revocationReason: z.enum(REVOCATION_REASON_NAMES).exactOptional(),
  revokedBy: z.string().exactOptional(),
  certificatePem: z.string().min(1),
  tags: z.record(z.string(), z.string()),
}) satisfies z.ZodType<CertificateRecord>;

const annotationsSchema = z.object({
  owner: z.string().exactOptional(),
  purpose: z.string().exactOptional(),
  tags: z.record(z.string(), z.string()).exactOptional(),
  updatedAt: timestamp,
  updatedBy: z.string(),
}) satisfies z.ZodType<IdentityAnnotations>;

const identitySchema = z.object({
  identityId: z.string().min(1),
  type: z.enum(IDENTITY_TYPES),
  status: z.enum(IDENTITY_STATUSES),
  owner: z.string(),
  policy: z.string(),
  tags: z.record(z.string(), z.string()),
  name: z.string(),
  source: z.literal('issued'),
  currentSerialNumber: z.string(),
  expiresAt: timestamp,
  createdAt: timestamp,
  updatedAt: timestamp,
  derivedOwner: z.string().exactOptional(),
  annotations: annotationsSchema.exactOptional(),
  // Records from before versions start at 1.
  version: z.number().int().positive().default(1),
  risk: z
    .object({
      score: z.number().int().min(0).max(100),
      level: z.enum(RISK_LEVELS),
      rules: z.array(z.string()),
    })
    .exactOptional(),
  servedAt: z
    .array(
      z.object({
        location: z.string(),
        address: z.string(),
        protocol: z.string(),
        validatesTo: z.enum(['ours', 'system', 'none']),
        nameMatches: z.boolean(),
      }),
    )
    .exactOptional(),
}) satisfies z.ZodType<IdentityRecord, unknown>;

/** An audit entry as stored; the stream publisher reads the same items. */
export const auditSchema = z.object({
  eventId: z.string().min(1),
  at: timestamp,
  action: z.enum(AUDIT_ACTIONS),
  actor: z.string(),
  target: z.string(),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
}) satisfies z.ZodType<AuditRecord>;

const caChainSchema = z.object({ chainPem: z.array(z.string().min(1)).min(1) });

/** An issued identity as stored, parsed; `INVENTORY_CORRUPT` if it is not one. */
export function issuedIdentityFromItem(item: Record<string, unknown>): IdentityRecord {
  return parseItem(identitySchema, item);
}

/** The listing indexes' attributes of an issued identity (it has no account). */
function issuedIndexAttributes(identity: IdentityRecord): Record<string, string> {
  return identityIndexAttributes({ ...identity, account: undefined });
}

/**
 * A listing's item, issued (`IDN#…`) or discovered (`DID#…`): discovered ones without their facts, which
 * `GET /v1/identities/{id}` shows, so that a page stays small whatever the sources read.
 */
function listedIdentityFromItem(item: Record<string, unknown>): ListedIdentity {
  if (isDiscoveredIdentityItem(item)) {
    const { facts: _facts, observationHash: _hash, ...summary } = discoveredIdentityFromItem(item);
    return summary;
  }
  return issuedIdentityFromItem(item);
}

/** A LastEvaluatedKey: every key attribute of this table is a string. */
const storedKeySchema = z.record(z.string(), z.string());

const cursorSchema = z.strictObject({
  /** Fingerprint of the query the cursor continues. */
  f: z.string(),
  /** Which partition of the query's ordered list to continue in. */
  p: z.number().int().nonnegative(),
  /** Where in that partition; absent to start at its beginning. */
  k: storedKeySchema.optional(),
});
type Cursor = z.infer<typeof cursorSchema>;

/** One key condition of a query that walks several partitions in order. */
interface PartitionQuery {
  readonly index: KeyedIndex;
  readonly partition: string;
  readonly sort?: { readonly beginsWith: string } | { readonly between: readonly [string, string] } | undefined;
  /** Keep only items whose stored risk names this rule code. */
  readonly containsRule?: string | undefined;
}

/** Partitions of a listing read at once after one is exhausted. */
const LOOKAHEAD = 8;

/** An item's key in the table and in the queried index: where a Query resumes after it (ExclusiveStartKey). */
function keyOf(item: Record<string, unknown>, query: PartitionQuery): Record<string, string> {
  const names = new Set([TABLE_KEY.partitionKey, TABLE_KEY.sortKey, query.index.partitionKey, query.index.sortKey]);
  return storedKeySchema.parse(Object.fromEntries([...names].map((name) => [name, item[name]])));
}

function fingerprint(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 22);
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new ValidationError('INVALID_LIMIT', `The page limit must be an integer from 1 to ${MAX_PAGE_SIZE}.`);
  }
}

/** Canonical ISO form of an instant, so that it compares with stored canonical timestamps as a string. */
function canonicalInstant(timestamp: string): string {
  const date = new Date(timestamp);
  if (Number.isNaN(date.getTime())) throw new RangeError(`not a timestamp: ${timestamp}`);
  return date.toISOString();
}

/**
 * The token as it was when the spend condition failed. The document client leaves errors as DynamoDB sent them, so
 * the item is still in attribute-value form; only the two attributes that decide the answer are read.
 */
const refusedTokenSchema = z.object({
  expiresAt: z.object({ S: z.string() }),
  spentAt: z.object({ S: z.string() }).optional(),
});

/**
 * Why a token could not be spent: expired if it is still there, unspent and past its expiry; otherwise spent. A
 * missing token counts as spent: the caller loaded it before issuing, so it has been deleted since.
 */
function refusedToken(oldItem: unknown, spendAt: string, cause: unknown): AuthenticationError {
  const old = refusedTokenSchema.safeParse(oldItem);
  if (old.success && old.data.spentAt === undefined && Date.parse(old.data.expiresAt.S) <= Date.parse(spendAt)) {
    return new AuthenticationError('TOKEN_EXPIRED', 'This enrollment token has expired; ask an admin for a new one.', {
      cause,
    });
  }
  return new AuthenticationError(
    'TOKEN_SPENT',
    'This enrollment token has already been used; ask an admin for a new one.',
    { cause },
  );
}

/** A transaction that lost a race with another on the same items is worth retrying; any other cancellation is ours. */
function concurrentOrOriginal(error: TransactionCanceledException): Error {
  if (!cancellationCodes(error).includes('TransactionConflict')) return error;
  return new ConflictError(
    'CONCURRENT_UPDATE',
    'Another request changed the same inventory items at the same time. Retry the request.',
    { cause: error },
  );
}

/**
 * The inventory in one DynamoDB table (keys in `dynamodb-keys.ts`). Writes that belong together go in one
 * TransactWriteItems; every item read back is parsed, so a corrupt item fails loudly as `INVENTORY_CORRUPT` instead
 * of flowing on as a wrongly typed record. Items hold only public material: certificates, names, ids.
 */
export class DynamoDbInventory implements CertificateInventory, CaChainStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * One transaction: the certificate, the identity, the audit entry and, with `spendToken`, an update that marks the
   * token spent on condition that it exists, is unspent and expires after `spendToken.at` (ISO strings in canonical
   * form compare as instants). When that condition fails, DynamoDB hands back the token as it was, which tells an
   * expired token from a spent one.
   */
  async recordIssuance(write: {
    certificate: CertificateRecord;
    identity: IdentityRecord;
    audit: AuditRecord;
    spendToken?: TokenSpend | undefined;
  }): Promise<void> {
    const { certificate, identity, audit, spendToken } = write;
    const spendAt = spendToken === undefined ? undefined : canonicalInstant(spendToken.at);
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  ...certificate,
                  ...certificateKey(certificate.serialNumber),
                  ...(certificate.status === 'active'
                    ? expiryAttributes(certificate.notAfter, certificate.serialNumber)
                    : {}),
                },
                ...MUST_BE_NEW,
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: { ...identity, ...identityKey(identity.identityId), ...issuedIndexAttributes(identity) },
                ...MUST_BE_NEW,
              },
            },
            auditEntryPut(this.tableName, audit),
            ...(spendToken === undefined
              ? []
              : [
                  {
                    Update: {
                      TableName: this.tableName,
                      Key: enrollmentTokenKey(spendToken.tokenHash),
                      UpdateExpression: 'SET spentAt = :at, spentBySerial = :serial',
                      ConditionExpression:
                        'attribute_exists(#pk) AND attribute_not_exists(spentAt) AND expiresAt > :at',
                      ExpressionAttributeNames: { '#pk': TABLE_KEY.partitionKey },
                      ExpressionAttributeValues: { ':at': spendAt, ':serial': certificate.serialNumber },
                      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
                    },
                  },
                ]),
          ],
        }),
      );
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [certificateCode, identityCode, auditCode, tokenCode] = cancellationCodes(error);
      // A refused token comes first: retrying with a new serial cannot help then.
      if (tokenCode === 'ConditionalCheckFailed' && spendAt !== undefined) {
        throw refusedToken(error.CancellationReasons?.[3]?.Item, spendAt, error);
      }
      if (certificateCode === 'ConditionalCheckFailed') {
        throw new ConflictError(
          'SERIAL_NUMBER_EXISTS',
          `A certificate with serial number ${certificate.serialNumber} already exists. Retry the request: a new serial is drawn each time.`,
          { cause: error },
        );
      }
      if (identityCode === 'ConditionalCheckFailed' || auditCode === 'ConditionalCheckFailed') {
        throw new ConflictError('INVENTORY_CONFLICT', 'An identity or audit entry with the same id exists. Retry.', {
          cause: error,
        });
      }
      throw concurrentOrOriginal(error);
    }
  }

  async getCertificate(serialNumber: string): Promise<CertificateRecord | undefined> {
    const item = await this.getItem(certificateKey(serialNumber));
    return item === undefined ? undefined : parseItem(certificateSchema, item);
  }

  async getIdentity(identityId: string): Promise<IdentityRecord | undefined> {
    const item = await this.getItem(identityKey(identityId));
    return item === undefined ? undefined : issuedIdentityFromItem(item);
  }

  /**
   * Replaces the identity with `identity` (its next version) and writes the audit entry, atomically, on condition
   * that the stored version is the one before; a record from before versions counts as version 1.
   * @throws ConflictError `IDENTITY_VERSION_MISMATCH` when it changed since it was read; nothing is written.
   */
  async recordIdentityUpdate(identity: IdentityRecord, audit: AuditRecord): Promise<void> {
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [{ Put: this.nextVersionPut(identity) }, auditEntryPut(this.tableName, audit)],
        }),
      );
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [identityCode] = cancellationCodes(error);
      if (identityCode === 'ConditionalCheckFailed')
        throw identityVersionMismatch(identity.identityId, { cause: error });
      throw concurrentOrOriginal(error);
    }
  }

  async recordRiskUpdate(identity: IdentityRecord): Promise<boolean> {
    try {
      await this.doc.send(new PutCommand(this.nextVersionPut(identity)));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** The Put of an issued identity's next version, on condition that the stored one is the version before. */
  private nextVersionPut(identity: IdentityRecord) {
    const previous = identity.version - 1;
    return {
      TableName: this.tableName,
      Item: { ...identity, ...identityKey(identity.identityId), ...issuedIndexAttributes(identity) },
      // A record from before versions counts as version 1.
      ConditionExpression:
        previous === 1
          ? 'attribute_exists(#pk) AND (attribute_not_exists(#version) OR #version = :previous)'
          : '#version = :previous',
      ExpressionAttributeNames: {
        '#version': 'version',
        ...(previous === 1 ? { '#pk': TABLE_KEY.partitionKey } : {}),
      },
      ExpressionAttributeValues: { ':previous': previous },
    };
  }

  /**
   * Issued and discovered identities alike, from the listing indexes: byAccount with an account, byOwner with an
   * owner, else byType; type, source and status are sort key prefixes, so every item read is returned (the plan is
   * `identityListingPlan`). The cursor says which partition of the plan it stopped in.
   */
  async listIdentities(
    filter: IdentityListFilter,
    page: { limit: number; cursor?: string },
  ): Promise<Page<ListedIdentity>> {
    checkLimit(page.limit);
    const partitions: PartitionQuery[] = identityListingPlan(filter).map((query) => ({
      index: query.index,
      partition: query.partition,
      sort: query.beginsWith === undefined ? undefined : { beginsWith: query.beginsWith },
      containsRule: query.containsRule,
    }));
    const queryId = fingerprint([
      'identities',
      filter.type ?? null,
      filter.source ?? null,
      filter.status ?? null,
      filter.owner ?? null,
      filter.account ?? null,
      filter.risk ?? null,
      filter.rule ?? null,
    ]);
    return this.queryPartitions(partitions, queryId, page, listedIdentityFromItem);
  }

  async recordRevocation(write: RevocationWrite): Promise<boolean> {
    // The identity's index sort keys embed its status next to immutable fields the write does not carry.
    const identity = await this.getIdentity(write.identityId);
    if (identity === undefined) return false;
    const risk = write.risk ?? identity.risk;
    const revokedIdentity: IdentityRecord = { ...identity, status: 'revoked', ...(risk === undefined ? {} : { risk }) };
    const indexAttributes = issuedIndexAttributes(revokedIdentity);
    const atRisk = indexAttributes[BY_RISK_INDEX.partitionKey] !== undefined;
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: certificateKey(write.serialNumber),
                UpdateExpression:
                  'SET #status = :revoked, revokedAt = :at, revocationReason = :reason, revokedBy = :by REMOVE #expiryPk, #expirySk',
                ConditionExpression: '#status = :active AND identityId = :identityId',
                ExpressionAttributeNames: {
                  '#status': 'status',
                  '#expiryPk': EXPIRY_INDEX.partitionKey,
                  '#expirySk': EXPIRY_INDEX.sortKey,
                },
                ExpressionAttributeValues: {
                  ':revoked': 'revoked',
                  ':active': 'active',
                  ':at': write.revokedAt,
                  ':reason': write.reason,
                  ':by': write.revokedBy,
                  ':identityId': write.identityId,
                },
              },
            },
            {
              Update: {
                TableName: this.tableName,
                Key: identityKey(write.identityId),
                // Every listing key is rewritten (records from before sharding get their shards), and the version moves.
                UpdateExpression:
                  'SET #status = :revoked, updatedAt = :at, #typePk = :typePk, #typeSk = :typeSk, #ownerPk = :ownerPk, #ownerSk = :ownerSk, #version = if_not_exists(#version, :one) + :one' +
                  (revokedIdentity.risk === undefined ? '' : ', #risk = :risk') +
                  (atRisk ? ', #riskPk = :riskPk, #riskSk = :riskSk' : ' REMOVE #riskPk, #riskSk'),
                ConditionExpression: 'attribute_exists(#pk)',
                ExpressionAttributeNames: {
                  '#pk': TABLE_KEY.partitionKey,
                  '#status': 'status',
                  '#typePk': BY_TYPE_INDEX.partitionKey,
                  '#typeSk': BY_TYPE_INDEX.sortKey,
                  '#ownerPk': BY_OWNER_INDEX.partitionKey,
                  '#ownerSk': BY_OWNER_INDEX.sortKey,
                  '#version': 'version',
                  '#riskPk': BY_RISK_INDEX.partitionKey,
                  '#riskSk': BY_RISK_INDEX.sortKey,
                  ...(revokedIdentity.risk === undefined ? {} : { '#risk': 'risk' }),
                },
                ExpressionAttributeValues: {
                  ':revoked': 'revoked',
                  ':at': write.revokedAt,
                  ':typePk': indexAttributes[BY_TYPE_INDEX.partitionKey],
                  ':typeSk': indexAttributes[BY_TYPE_INDEX.sortKey],
                  ':ownerPk': indexAttributes[BY_OWNER_INDEX.partitionKey],
                  ':ownerSk': indexAttributes[BY_OWNER_INDEX.sortKey],
                  ':one': 1,
                  ...(revokedIdentity.risk === undefined ? {} : { ':risk': revokedIdentity.risk }),
                  ...(atRisk
                    ? {
                        ':riskPk': indexAttributes[BY_RISK_INDEX.partitionKey],
                        ':riskSk': indexAttributes[BY_RISK_INDEX.sortKey],
                      }
                    : {}),
                },
              },
            },
            auditEntryPut(this.tableName, write.audit),
          ],
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [certificateCode, identityCode] = cancellationCodes(error);
      if (certificateCode === 'ConditionalCheckFailed' || identityCode === 'ConditionalCheckFailed') return false;
      throw concurrentOrOriginal(error);
    }
  }

  /**
   * Queries the sparse expiry index one UTC day at a time, the day's shards together (merged by sort key), with the
   * sort key between the bounds. Days come in order and each day's shards merge in `<notAfter>#<serial>` order, so
   * the listing comes in notAfter order throughout the window (serial breaking ties).
   */
  async listCertificatesExpiring(
    from: Date,
    to: Date,
    page: { limit: number; cursor?: string },
  ): Promise<Page<CertificateRecord>> {
    checkLimit(page.limit);
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) {
      throw new ValidationError('INVALID_EXPIRY_WINDOW', 'The expiry window needs two valid instants.');
    }
    if (to <= from) return { items: [] };
    const firstDay = Math.floor(from.getTime() / DAY_MS);
    const lastDay = Math.floor((to.getTime() - 1) / DAY_MS);
    if (lastDay - firstDay + 1 > MAX_EXPIRY_WINDOW_DAYS) {
      throw new ValidationError(
        'INVALID_EXPIRY_WINDOW',
        `The expiry window spans more than ${MAX_EXPIRY_WINDOW_DAYS} days. Ask for a shorter window.`,
      );
    }
    const between = expirySortBounds(from, to);
    const days: ShardGroup[] = [];
    for (let day = firstDay; day <= lastDay; day++) {
      days.push(
        expiryPartitions(new Date(day * DAY_MS)).map((partition) => ({ index: EXPIRY_INDEX, partition, between })),
      );
    }
    const queryId = fingerprint(['expiring', from.toISOString(), to.toISOString()]);
    return listShardGroups({ doc: this.doc, tableName: this.tableName }, days, queryId, page, certificateSchema);
  }

  /** The day's audit shards merged by sort key (`<at>#<eventId>`): oldest first, as one partition would list them. */
  async listAuditEvents(day: string, page: { limit: number; cursor?: string }): Promise<Page<AuditRecord>> {
    checkLimit(page.limit);
    const when = new Date(`${day}T00:00:00.000Z`);
    if (Number.isNaN(when.getTime())) throw new RangeError(`not a day: ${day}`);
    const shards: ShardGroup = auditPartitions(when).map((partition) => ({ index: BASE_TABLE, partition }));
    return listShardGroups(
      { doc: this.doc, tableName: this.tableName },
      [shards],
      fingerprint(['audit', day]),
      page,
      auditSchema,
    );
  }

  async getChain(caId: string): Promise<string[] | undefined> {
    const item = await this.getItem(caChainKey(caId));
    return item === undefined ? undefined : parseItem(caChainSchema, item).chainPem;
  }

  async putChain(caId: string, chainPem: readonly string[]): Promise<void> {
    await this.doc.send(
      new PutCommand({ TableName: this.tableName, Item: { ...caChainKey(caId), chainPem: [...chainPem] } }),
    );
  }

  /** Strongly consistent, so a read right after a write (revoke after issue) sees it. */
  private async getItem(key: Record<string, string>): Promise<Record<string, unknown> | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return out.Item;
  }

  /**
   * Reads up to `limit` items from the partitions in order, continuing where the cursor stopped. The next cursor
   * names the partition and where in it to go on (DynamoDB's LastEvaluatedKey, or the key of the last item returned);
   * it is only offered while items may follow. Sharded listings have many small or empty partitions: once one is
   * exhausted the next are read a few at a time in parallel (1, 2, 4, then {@link LOOKAHEAD}), so a dense partition
   * costs one Query per page and a sparse listing few round trips; what a lookahead read beyond the page is dropped.
   */
  private async queryPartitions<T>(
    partitions: readonly PartitionQuery[],
    queryId: string,
    page: { limit: number; cursor?: string | undefined },
    parse: z.ZodType<T> | ((item: Record<string, unknown>) => T),
  ): Promise<Page<T>> {
    const read = typeof parse === 'function' ? parse : (item: Record<string, unknown>) => parseItem(parse, item);
    const start = page.cursor === undefined ? { f: queryId, p: 0 } : decodeCursor(page.cursor, queryId, partitions);
    const items: T[] = [];
    let position = start.p;
    let startKey: Record<string, string> | undefined = start.k;
    let width = 1;
    walk: while (items.length < page.limit && position < partitions.length) {
      const batch = partitions.slice(position, position + width);
      const wanted = page.limit - items.length;
      const results = await Promise.all(
        batch.map((query, i) => this.query(query, wanted, i === 0 ? startKey : undefined)),
      );
      for (const [i, out] of results.entries()) {
        const query = batch[i] as PartitionQuery;
        const room = page.limit - items.length;
        if (room === 0) break walk; // this partition starts the next page; `startKey` is already undefined
        const fetched = out.Items ?? [];
        for (const item of fetched.slice(0, room)) items.push(read(item));
        if (fetched.length > room) {
          startKey = keyOf(fetched[room - 1] as Record<string, unknown>, query);
          break walk;
        }
        if (out.LastEvaluatedKey !== undefined) {
          startKey = storedKeySchema.parse(out.LastEvaluatedKey);
          break walk;
        }
        position++;
        startKey = undefined;
      }
      width = Math.min(width * 2, LOOKAHEAD);
    }
    if (position >= partitions.length) return { items };
    return { items, nextCursor: encodeCursor({ f: queryId, p: position, ...(startKey ? { k: startKey } : {}) }) };
  }

  private async query(query: PartitionQuery, limit: number, startKey: Record<string, string> | undefined) {
    const names: Record<string, string> = { '#ipk': query.index.partitionKey };
    const values: Record<string, string> = { ':ipk': query.partition };
    let condition = '#ipk = :ipk';
    if (query.sort !== undefined) {
      names['#isk'] = query.index.sortKey;
      if ('beginsWith' in query.sort) {
        condition += ' AND begins_with(#isk, :prefix)';
        values[':prefix'] = query.sort.beginsWith;
      } else {
        condition += ' AND #isk BETWEEN :low AND :high';
        [values[':low'], values[':high']] = query.sort.between;
      }
    }
    if (query.containsRule !== undefined) {
      names['#risk'] = 'risk';
      names['#rules'] = 'rules';
      values[':rule'] = query.containsRule;
    }
    const input: QueryCommandInput = {
      TableName: this.tableName,
      ...(query.containsRule === undefined ? {} : { FilterExpression: 'contains(#risk.#rules, :rule)' }),
      ...(query.index.name === undefined ? {} : { IndexName: query.index.name }),
      KeyConditionExpression: condition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      Limit: limit,
      ...(startKey ? { ExclusiveStartKey: startKey } : {}),
    };
    try {
      return await this.doc.send(new QueryCommand(input));
    } catch (error) {
      // Only a start key we were handed back can make a well-formed query invalid.
      if (startKey !== undefined && error instanceof Error && error.name === 'ValidationException') {
        throw invalidCursor(error);
      }
      throw error;
    }
  }
}

/**
 * A cursor is only accepted for the query that produced it (same fingerprint), pointing into one of its partitions
 * with a start key of exactly that index's key attributes in that partition; anything else is `INVALID_CURSOR`.
 */
function decodeCursor(text: string, queryId: string, partitions: readonly PartitionQuery[]): Cursor {
  const cursor = decodeCursorText(text, cursorSchema);
  const query = partitions[cursor.p];
  if (cursor.f !== queryId || query === undefined) throw invalidCursor();
  if (cursor.k !== undefined) {
    const expected = [
      ...new Set([TABLE_KEY.partitionKey, TABLE_KEY.sortKey, query.index.partitionKey, query.index.sortKey]),
    ];
    const names = Object.keys(cursor.k);
    const sameNames = names.length === expected.length && expected.every((name) => names.includes(name));
    if (!sameNames || cursor.k[query.index.partitionKey] !== query.partition) throw invalidCursor();
  }
  return cursor;
}
