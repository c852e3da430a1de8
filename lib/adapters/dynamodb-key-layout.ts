import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { DiscoveredIdentity } from '#lib/domain/discovery.ts';
import type { IdentityRecord } from '#lib/domain/inventory.ts';
import { summaryContributionOf } from '#lib/domain/inventory-summary.ts';
import { discoveredIdentityFromItem } from './dynamodb-discovered-inventory.ts';
import { DynamoDbDiscoveryRuns, runPartFromItem } from './dynamodb-discovery-runs.ts';
import { issuedIdentityFromItem } from './dynamodb-inventory.ts';
import { DynamoDbInventorySummary } from './dynamodb-inventory-summary.ts';
import { MUST_BE_NEW } from './dynamodb-items.ts';
import {
  auditKey,
  DISCOVERY_RUN_PARTITION,
  expiryAttributes,
  identityIndexAttributes,
  keyHolderKey,
  scopeIndexAttributes,
  TABLE_KEY,
} from './dynamodb-keys.ts';

/**
 * The key layout this code writes. 2: identity listings (byType, byOwner, byAccount), audit days, expiry days and
 * idempotency records in 16 burst shards. 3: each part of a discovery run an item of its own, the run's record a tally.
 * 4: every identity counted in the inventory summary, and every certificate identity filed under its public key. The
 * local plane records in its data directory the layout its table was
 * written with, and upgrades an older one once (`infra/local/upgrade-local-keys.ts`).
 */
export const KEY_LAYOUT = 4;

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

/**
 * Counts an identity written before the summary existed (the summary's consumer only sees writes from then on): the
 * summary applies an identity's version once, so this is a no-op for one it counted already.
 */
async function countInSummary(
  doc: DynamoDBDocumentClient,
  tableName: string,
  identity: IdentityRecord | DiscoveredIdentity,
): Promise<void> {
  await new DynamoDbInventorySummary(doc, tableName).apply({
    identityId: identity.identityId,
    version: identity.version,
    contribution: summaryContributionOf(identity),
  });
}

async function upgradeItem(
  doc: DynamoDBDocumentClient,
  tableName: string,
  item: Record<string, unknown>,
): Promise<boolean> {
  const pk = String(item[TABLE_KEY.partitionKey]);
  const key = { [TABLE_KEY.partitionKey]: item[TABLE_KEY.partitionKey], [TABLE_KEY.sortKey]: item[TABLE_KEY.sortKey] };
  let set: Record<string, string> = {};
  if (pk.startsWith('IDN#')) {
    const identity = issuedIdentityFromItem(item);
    set = differing(item, identityIndexAttributes({ ...identity, account: undefined }));
    await countInSummary(doc, tableName, identity);
  } else if (pk.startsWith('DID#')) {
    const identity = discoveredIdentityFromItem(item);
    set = differing(item, {
      ...identityIndexAttributes({ ...identity, createdAt: identity.firstSeenAt }),
      ...scopeIndexAttributes(identity),
    });
    await countInSummary(doc, tableName, identity);
    const spki = identity.type === 'x509-certificate' ? identity.facts.spkiSha256 : undefined;
    if (typeof spki === 'string' && /^[0-9a-f]{64}$/.test(spki)) {
      await doc.send(new PutCommand({ TableName: tableName, Item: keyHolderKey(spki, identity.identityId) }));
    }
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
  } else if (pk === DISCOVERY_RUN_PARTITION && typeof item.parts === 'object' && item.partCount === undefined) {
    // A run whose parts were a map in its record: the record goes (a REMOVE publishes nothing), and the run is
    // written again, parts first (its INSERT publishes DiscoveryRunCompleted again under the same event id).
    const run = z
      .object({ runId: z.string(), startedAt: z.string(), startedBy: z.string(), trigger: z.enum(['api', 'schedule']) })
      .parse(item);
    const parts = Object.values(item.parts as Record<string, Record<string, unknown>>).map(runPartFromItem);
    await doc.send(new DeleteCommand({ TableName: tableName, Key: key }));
    await new DynamoDbDiscoveryRuns(doc, tableName).createRun({ ...run, parts });
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
 * entry's id as before, so consumers deduplicate it), discovery runs split into a record and an item per part, and
 * idempotency records dropped (they last 24 hours). It scans:
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
