import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ConflictError, NotFoundError, ValidationError } from '#lib/domain/errors.ts';
import type { AuditRecord } from '#lib/domain/inventory.ts';
import { policyDocumentSchema } from '#lib/domain/policy.ts';
import type { PolicyStore, PolicyWrite, StoredPolicy } from '#lib/ports/policy-store.ts';
import { auditEntryPut, cancellationCodes, MUST_BE_NEW, parseItem } from './dynamodb-items.ts';
import {
  CURRENT_POLICY_PARTITION,
  CURRENT_POLICY_SORT_PREFIX,
  currentPolicyKey,
  policyHistoryPartition,
  policyVersionKey,
  TABLE_KEY,
} from './dynamodb-keys.ts';

const timestamp = z.iso.datetime();

const storedPolicySchema = z.object({
  document: policyDocumentSchema,
  version: z.number().int().positive(),
  updatedAt: timestamp,
  updatedBy: z.string().min(1),
  source: z.enum(['config', 'api']),
}) satisfies z.ZodType<StoredPolicy>;

/** One entry of a policy's history: a version as written, or the tombstone its deletion left. */
export interface StoredPolicyVersion extends StoredPolicy {
  /** Present (and true) only on a deletion's tombstone. */
  readonly deleted?: true;
}

const policyVersionSchema = storedPolicySchema.extend({
  deleted: z.literal(true).exactOptional(),
}) satisfies z.ZodType<StoredPolicyVersion>;

/** Only the version of a current item, to report it in a conflict (the rest of the item may be anything then). */
const currentVersionSchema = z.object({ version: z.number().int().positive() });

function concurrentUpdate(name: string, cause: unknown): ConflictError {
  return new ConflictError(
    'CONCURRENT_UPDATE',
    `Another request changed policy "${name}" at the same time. Re-read it with GET /v1/policies/${name} and retry.`,
    { cause },
  );
}

function versionMismatch(name: string, currentVersion: number, cause?: unknown): ConflictError {
  const message =
    currentVersion === 0
      ? `Policy "${name}" does not exist. To create it, send the PUT with If-None-Match: * instead of If-Match.`
      : `Policy "${name}" is at version ${currentVersion}, not the one your request names. ` +
        `Re-read it with GET /v1/policies/${name}, then retry with If-Match: "${currentVersion}".`;
  return new ConflictError('POLICY_VERSION_MISMATCH', message, {
    details: { currentVersion },
    ...(cause === undefined ? {} : { cause }),
  });
}

function checkExpectedVersion(expectedVersion: number | undefined): void {
  if (expectedVersion === undefined) return;
  if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
    throw new ValidationError(
      'INVALID_POLICY_VERSION',
      'If-Match must name a policy version: a whole number such as "3", as GET returned it in ETag.',
    );
  }
}

/** DynamoDB refuses an item over 400 KB before running the transaction; a policy that large is the caller's to split. */
function tooLarge(error: unknown): ValidationError | undefined {
  if (!(error instanceof Error) || error.name !== 'ValidationException' || !/item size/i.test(error.message)) {
    return undefined;
  }
  return new ValidationError(
    'POLICY_TOO_LARGE',
    'The policy document is larger than the store can hold (400 KB per version). Split it into several policies.',
    { cause: error },
  );
}

/**
 * Issuance policies in the inventory table (keys in `dynamodb-keys.ts`): the current version of each under
 * `POLICY / CUR#<name>`, and every version ever written under `POLICYV#<name> / V#<version>`. A write puts the
 * current item, the history item and the audit entry in one TransactWriteItems, so the history and the audit trail
 * cannot miss a change. Optimistic concurrency: the current item's condition names the version the caller read, and
 * the history item must be new, so two writers that read the same version cannot both succeed.
 *
 * Version numbers never repeat for a name: a policy created again after its deletion continues after the tombstone's
 * version (it starts at 1 only for a name never used). So an `If-Match` that a client kept from before the deletion
 * can never match the new policy, and the history stays one ordered sequence.
 */
export class DynamoDbPolicyStore implements PolicyStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** One Query on the current policies' partition (followed to its end: policies are few), sorted by name. */
  async listPolicies(): Promise<StoredPolicy[]> {
    const items = await this.queryAll({
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': TABLE_KEY.partitionKey, '#sk': TABLE_KEY.sortKey },
      ExpressionAttributeValues: { ':pk': CURRENT_POLICY_PARTITION, ':prefix': CURRENT_POLICY_SORT_PREFIX },
    });
    const policies = items.map((item) => parseItem(storedPolicySchema, item));
    return policies.sort((a, b) => compare(a.document.name, b.document.name));
  }

  async getPolicy(name: string): Promise<StoredPolicy | undefined> {
    const item = await this.getItem(currentPolicyKey(name));
    return item === undefined ? undefined : parseItem(storedPolicySchema, item);
  }

  /**
   * Without `expectedVersion` (configuration seeding) the current item is written unconditionally; the history item's
   * condition still refuses the write when another one got in between the read of the latest version and this write
   * (it would take the same version number), and that surfaces as `CONCURRENT_UPDATE`.
   */
  async putPolicy(write: PolicyWrite): Promise<StoredPolicy> {
    checkExpectedVersion(write.expectedVersion);
    const name = write.document.name;
    const expected = write.expectedVersion;
    // A current version n is always the latest in the history too; otherwise the history tells where to continue.
    const version = expected !== undefined && expected > 0 ? expected + 1 : (await this.latestVersion(name)) + 1;
    const stored: StoredPolicy = {
      document: write.document,
      version,
      updatedAt: write.at,
      updatedBy: write.by,
      source: write.source,
    };
    const condition =
      expected === undefined
        ? {}
        : expected === 0
          ? MUST_BE_NEW
          : {
              ConditionExpression: '#version = :expected',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':expected': expected },
            };
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: this.tableName, Item: { ...stored, ...currentPolicyKey(name) }, ...condition } },
            this.putNew({ ...stored, ...policyVersionKey(name, version) }),
            auditEntryPut(this.tableName, write.audit),
          ],
        }),
      );
    } catch (error) {
      throw (await this.writeFailure(error, name, expected)) ?? error;
    }
    return stored;
  }

  /**
   * Deletes the current item on condition that it is still the version read (which must be `expectedVersion` when
   * given), and leaves a tombstone in the history: the next version number, the deleted document, `deleted: true`,
   * and the deletion's time and actor (`source` is `config` when the actor is `config`, else `api`).
   */
  async deletePolicy(write: {
    readonly name: string;
    readonly expectedVersion: number | undefined;
    readonly audit: AuditRecord;
  }): Promise<void> {
    checkExpectedVersion(write.expectedVersion);
    const { name, audit } = write;
    const current = await this.getPolicy(name);
    if (current === undefined) throw notFound(name);
    if (write.expectedVersion !== undefined && write.expectedVersion !== current.version) {
      throw versionMismatch(name, current.version);
    }
    const tombstone: StoredPolicyVersion = {
      document: current.document,
      version: current.version + 1,
      updatedAt: audit.at,
      updatedBy: audit.actor,
      source: audit.actor === 'config' ? 'config' : 'api',
      deleted: true,
    };
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: this.tableName,
                Key: currentPolicyKey(name),
                ConditionExpression: '#version = :read',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':read': current.version },
              },
            },
            this.putNew({ ...tombstone, ...policyVersionKey(name, tombstone.version) }),
            auditEntryPut(this.tableName, audit),
          ],
        }),
      );
    } catch (error) {
      throw (await this.writeFailure(error, name, write.expectedVersion, { absentIsNotFound: true })) ?? error;
    }
  }

  /**
   * Every version oldest first, by one Query on the policy's history partition. A deletion appears as a version of
   * its own, carrying the document it deleted and `deleted: true`, so the history shows when a policy stopped
   * applying and what it was; a policy created again continues after it.
   */
  async policyHistory(name: string): Promise<StoredPolicyVersion[]> {
    const items = await this.queryAll({
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': TABLE_KEY.partitionKey },
      ExpressionAttributeValues: { ':pk': policyHistoryPartition(name) },
    });
    return items.map((item) => parseItem(policyVersionSchema, item));
  }

  /** The highest version in the policy's history (a tombstone's included), 0 for a name never used. */
  private async latestVersion(name: string): Promise<number> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': TABLE_KEY.partitionKey },
        ExpressionAttributeValues: { ':pk': policyHistoryPartition(name) },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const [latest] = out.Items ?? [];
    return latest === undefined ? 0 : parseItem(policyVersionSchema, latest).version;
  }

  /**
   * The error a failed write means for the caller, or undefined when it is not one of ours. Items in order: the
   * current item, the history item, the audit entry.
   */
  private async writeFailure(
    error: unknown,
    name: string,
    expectedVersion: number | undefined,
    options: { absentIsNotFound?: boolean } = {},
  ): Promise<Error | undefined> {
    if (!(error instanceof TransactionCanceledException)) return tooLarge(error);
    const [currentCode, historyCode, auditCode] = cancellationCodes(error);
    if (currentCode === 'ConditionalCheckFailed') {
      const item = await this.getItem(currentPolicyKey(name));
      const currentVersion = item === undefined ? 0 : parseItem(currentVersionSchema, item).version;
      if (currentVersion === 0 && options.absentIsNotFound) return notFound(name, error);
      if (expectedVersion === undefined) return concurrentUpdate(name, error);
      return versionMismatch(name, currentVersion, error);
    }
    if (historyCode === 'ConditionalCheckFailed' || cancellationCodes(error).includes('TransactionConflict')) {
      return concurrentUpdate(name, error);
    }
    if (auditCode === 'ConditionalCheckFailed') {
      return new ConflictError('INVENTORY_CONFLICT', 'An audit entry with the same id exists. Retry.', {
        cause: error,
      });
    }
    return undefined;
  }

  private putNew(item: Record<string, unknown>) {
    return {
      Put: {
        TableName: this.tableName,
        Item: item,
        ...MUST_BE_NEW,
      },
    };
  }

  /** Strongly consistent, so a read right after a write (GET after PUT) sees it. */
  private async getItem(key: Record<string, string>): Promise<Record<string, unknown> | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return out.Item;
  }

  /** Every item of a Query, following LastEvaluatedKey to the end: only for partitions known to stay small. */
  private async queryAll(
    query: Pick<QueryCommandInput, 'KeyConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'>,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          ...query,
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      items.push(...(out.Items ?? []));
      startKey = out.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }
}

function notFound(name: string, cause?: unknown): NotFoundError {
  return new NotFoundError(
    'POLICY_NOT_FOUND',
    `There is no policy named "${name}". GET /v1/policies lists the policies.`,
    cause === undefined ? undefined : { cause },
  );
}

/** Code-unit order, as DynamoDB sorts the sort keys of ASCII names; independent of the locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
