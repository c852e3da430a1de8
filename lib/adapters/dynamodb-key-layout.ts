import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { discoveredIdentityFromItem } from './dynamodb-discovered-inventory.ts';
import { issuedIdentityFromItem } from './dynamodb-inventory.ts';
import { MUST_BE_NEW } from './dynamodb-items.ts';
import {
  auditKey,
  expiryAttributes,
  identityIndexAttributes,
  scopeIndexAttributes,
  TABLE_KEY,
} from './dynamodb-keys.ts';

/**
 * The key layout this code writes. 2: identity listings (byType, byOwner, byAccount), audit days, expiry days and
 * idempotency records in 16 burst shards. The local plane records in its data directory the layout its table was
 * written with, and upgrades an older one once (`infra/local/upgrade-local-keys.ts`).
 */
export const KEY_LAYOUT = 2;

const LEGACY_AUDIT = /^AUDIT#\d{4}-\d{2}-\d{2}$/;
const LEGACY_EXPIRY = /^EXP#\d{4}-\d{2}-\d{2}$/;
const LEGACY_IDEMPOTENCY = 'IDEMPOTENCY';

/** The attributes of `wanted` whose values `item` does not have: what an update must set. */
function differing(item: Record<string, unknown>, wanted: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(wanted).filter(([name, value]) => item[name] !== value));
}

/**
 * Rewrites the items of a local table written with an older key layout so that today's queries find them: identity
 * index attributes (issued and discovered), certificates' expiry index attributes, audit entries moved to their
 * shard (put under the new key and deleted from the old in one transaction: the stream then shows an INSERT, whose
 * event has the entry's id as before, so consumers deduplicate it), and idempotency records dropped (they last 24
 * hours). A Scan is fine here: a local table, once. Idempotent: run again, it changes nothing.
 * @returns how many items it rewrote (0 when the data directory already has this layout).
 */

async function upgradeItem(
  doc: DynamoDBDocumentClient,
  tableName: string,
  item: Record<string, unknown>,
): Promise<boolean> {
  const pk = String(item[TABLE_KEY.partitionKey]);
  const key = { [TABLE_KEY.partitionKey]: item[TABLE_KEY.partitionKey], [TABLE_KEY.sortKey]: item[TABLE_KEY.sortKey] };
  let set: Record<string, string> = {};
  if (pk.startsWith('IDN#')) {
    set = differing(item, identityIndexAttributes({ ...issuedIdentityFromItem(item), account: undefined }));
  } else if (pk.startsWith('DID#')) {
    const identity = discoveredIdentityFromItem(item);
    set = differing(item, {
      ...identityIndexAttributes({ ...identity, createdAt: identity.firstSeenAt }),
      ...scopeIndexAttributes(identity),
    });
  } else if (pk.startsWith('CERT#') && LEGACY_EXPIRY.test(String(item.expiryDay))) {
    set = differing(item, expiryAttributes(String(item.notAfter), String(item.serialNumber)));
  } else if (LEGACY_AUDIT.test(pk)) {
    const moved = { ...item, ...auditKey(String(item.at), String(item.eventId)) };
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: tableName, Item: moved, ...MUST_BE_NEW } },
          { Delete: { TableName: tableName, Key: key } },
        ],
      }),
    );
    return true;
  } else if (pk === LEGACY_IDEMPOTENCY) {
    await doc.send(new DeleteCommand({ TableName: tableName, Key: key }));
    return true;
  }
  const names = Object.keys(set);
  if (names.length === 0) return false;
  await doc.send(
    new UpdateCommand({
      TableName: tableName,
      Key: key,
      UpdateExpression: `SET ${names.map((_, i) => `#a${i} = :v${i}`).join(', ')}`,
      ExpressionAttributeNames: Object.fromEntries(names.map((name, i) => [`#a${i}`, name])),
      ExpressionAttributeValues: Object.fromEntries(names.map((name, i) => [`:v${i}`, set[name]])),
    }),
  );
  return true;
}

/**
 * Rewrites the items of a table written with an older key layout so that today's queries find them: identity index
 * attributes (issued and discovered), certificates' expiry index attributes, audit entries moved to their shard (put
 * under the new key and deleted from the old in one transaction: the stream then shows an INSERT, whose event has the
 * entry's id as before, so consumers deduplicate it), and idempotency records dropped (they last 24 hours). It scans:
 * for a local table, once. Idempotent: run again, it changes nothing.
 * @returns how many items it rewrote.
 */
export async function upgradeKeyLayout(doc: DynamoDBDocumentClient, tableName: string): Promise<number> {
  let rewritten = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({ TableName: tableName, Limit: 500, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }),
    );
    for (const item of page.Items ?? []) {
      if (await upgradeItem(doc, tableName, item)) rewritten++;
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return rewritten;
}
