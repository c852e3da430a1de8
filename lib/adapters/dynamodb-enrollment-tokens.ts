import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ConflictError } from '#lib/domain/errors.ts';
import type { AuditRecord } from '#lib/domain/inventory.ts';
import type { EnrollmentTokenRecord, EnrollmentTokenStore } from '#lib/ports/enrollment-token-store.ts';
import { auditEntryPut, cancellationCodes, MUST_BE_NEW, parseItem } from './dynamodb-items.ts';
import { enrollmentTokenKey, TTL_ATTRIBUTE } from './dynamodb-keys.ts';

/** How long a token item outlives its expiry before DynamoDB's TTL may delete it: long enough to investigate a use. */
export const TOKEN_RETENTION_SECONDS = 7 * 86_400;

const timestamp = z.iso.datetime();

const tokenSchema = z.object({
  tokenHash: z.string().regex(/^[0-9a-f]{64}$/),
  tokenId: z.string().regex(/^[0-9a-f]{16}$/),
  policy: z.string().min(1),
  names: z.array(z.string().min(1)),
  owner: z.string().exactOptional(),
  createdAt: timestamp,
  createdBy: z.string().min(1),
  expiresAt: timestamp,
  spentAt: timestamp.exactOptional(),
  spentBySerial: z
    .string()
    .regex(/^[0-9a-f]+$/)
    .exactOptional(),
}) satisfies z.ZodType<EnrollmentTokenRecord>;

/**
 * One-time enrollment tokens in the inventory table, under `ETOKEN#<tokenHash> / ETOKEN` (keys in
 * `dynamodb-keys.ts`). Only the token's SHA-256 is stored. Spending happens in the issuance's own transaction
 * (`DynamoDbInventory.recordIssuance` with `spendToken`), so this store only creates and reads.
 *
 * Each item carries `ttl` (epoch seconds): its expiry plus {@link TOKEN_RETENTION_SECONDS}, so that the table's TTL
 * clears old tokens, spent or not, without a sweep. TTL deletion is lazy and DynamoDB Local ignores it, which is
 * harmless: expiry is checked by the spend condition, never inferred from the item's absence.
 */
export class DynamoDbEnrollmentTokens implements EnrollmentTokenStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Writes the token and its audit entry in one transaction; neither may exist yet. `expiresAt` is stored in
   * canonical ISO form (`toISOString`), because the spend condition compares it with the spending instant as a string.
   * @throws ConflictError `ENROLLMENT_TOKEN_EXISTS` when a token with that hash is already stored (nothing is written).
   */
  async createToken(token: EnrollmentTokenRecord, audit: AuditRecord): Promise<void> {
    const expiresAt = new Date(token.expiresAt);
    if (Number.isNaN(expiresAt.getTime())) throw new RangeError(`not a timestamp: ${token.expiresAt}`);
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  ...token,
                  names: [...token.names],
                  expiresAt: expiresAt.toISOString(),
                  [TTL_ATTRIBUTE]: Math.floor(expiresAt.getTime() / 1000) + TOKEN_RETENTION_SECONDS,
                  ...enrollmentTokenKey(token.tokenHash),
                },
                ...MUST_BE_NEW,
              },
            },
            auditEntryPut(this.tableName, audit),
          ],
        }),
      );
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [tokenCode, auditCode] = cancellationCodes(error);
      if (tokenCode === 'ConditionalCheckFailed') {
        throw new ConflictError('ENROLLMENT_TOKEN_EXISTS', 'This enrollment token exists already. Create another.', {
          cause: error,
        });
      }
      if (auditCode === 'ConditionalCheckFailed') {
        throw new ConflictError('INVENTORY_CONFLICT', 'An audit entry with the same id exists. Retry.', {
          cause: error,
        });
      }
      throw error;
    }
  }

  /** Strongly consistent, so that a token is seen spent as soon as the issuance that spent it returned. */
  async getToken(tokenHash: string): Promise<EnrollmentTokenRecord | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: enrollmentTokenKey(tokenHash), ConsistentRead: true }),
    );
    if (out.Item === undefined) return undefined;
    return parseItem(tokenSchema, out.Item);
  }
}
