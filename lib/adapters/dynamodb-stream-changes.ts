import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { z } from 'zod';
import { partitionPrefix, TABLE_PARTITIONS } from '#lib/config/inventory-table.ts';
import type { StreamedChange } from '#lib/ports/event-publisher.ts';
import { discoveredIdentityFromItem } from './dynamodb-discovered-inventory.ts';
import { discoveryRunSummaryFromItem } from './dynamodb-discovery-runs.ts';
import { auditSchema, issuedIdentityFromItem } from './dynamodb-inventory.ts';
import { TABLE_KEY } from './dynamodb-keys.ts';

const AUDIT_PREFIX = partitionPrefix(TABLE_PARTITIONS.audit);
const DISCOVERED_PREFIX = partitionPrefix(TABLE_PARTITIONS.discoveredIdentity);
const DISCOVERY_RUNS = TABLE_PARTITIONS.discoveryRuns;
const ISSUED_PREFIX = partitionPrefix(TABLE_PARTITIONS.identity);

const streamRecord = z.object({
  eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
  dynamodb: z.object({
    SequenceNumber: z.string().min(1),
    Keys: z.record(z.string(), z.unknown()),
    NewImage: z.record(z.string(), z.unknown()).optional(),
    OldImage: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** The sequence number of a stream record, or undefined when it has none (a record not from a DynamoDB stream). */
export function streamPosition(record: DynamoDBRecord): string | undefined {
  return record.dynamodb?.SequenceNumber;
}

/**
 * What a stream record (as Lambda delivers it, attribute values in their JSON form) committed, as the publisher needs
 * it: the audit entry an INSERT into an audit partition wrote, a discovered identity's item or a discovery run's item
 * with its image before (all parsed like any item read back); every other record (issued inventory items, policies,
 * tokens, idempotency records, TTL deletions) carries no event of its own.
 * @throws Error when the record is malformed or its item does not parse: a poison record.
 */
export function streamedChangeOf(record: DynamoDBRecord): StreamedChange {
  const parsed = streamRecord.parse(record);
  const position = parsed.dynamodb.SequenceNumber;
  const keys = unmarshall(parsed.dynamodb.Keys as Record<string, AttributeValue>);
  const pk = z.string().parse(keys[TABLE_KEY.partitionKey]);
  const plain = (image: Record<string, unknown> | undefined) =>
    unmarshall(z.record(z.string(), z.unknown()).parse(image) as Record<string, AttributeValue>);
  if (parsed.eventName === 'INSERT' && pk.startsWith(AUDIT_PREFIX)) {
    return { position, audit: auditSchema.parse(plain(parsed.dynamodb.NewImage)) };
  }
  if (parsed.eventName !== 'REMOVE' && pk.startsWith(DISCOVERED_PREFIX)) {
    const old = parsed.dynamodb.OldImage;
    return {
      position,
      discovered: {
        before: old === undefined ? undefined : discoveredIdentityFromItem(plain(old)),
        after: discoveredIdentityFromItem(plain(parsed.dynamodb.NewImage)),
      },
    };
  }
  if (parsed.eventName !== 'REMOVE' && pk.startsWith(ISSUED_PREFIX)) {
    const old = parsed.dynamodb.OldImage;
    return {
      position,
      issued: {
        before: old === undefined ? undefined : issuedIdentityFromItem(plain(old)),
        after: issuedIdentityFromItem(plain(parsed.dynamodb.NewImage)),
      },
    };
  }
  if (parsed.eventName !== 'REMOVE' && pk === DISCOVERY_RUNS) {
    const old = parsed.dynamodb.OldImage;
    return {
      position,
      discoveryRun: {
        before: old === undefined ? undefined : discoveryRunSummaryFromItem(plain(old)),
        after: discoveryRunSummaryFromItem(plain(parsed.dynamodb.NewImage)),
      },
    };
  }
  return { position };
}
