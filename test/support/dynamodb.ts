import { randomUUID } from 'node:crypto';
import { type DynamoDBClient, ScanCommand, type ScanCommandOutput } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { createDocumentClient, createTableIfMissing } from '#lib/adapters/dynamodb-client.ts';
import { INVENTORY_TABLE, partitionPrefix, TABLE_PARTITIONS } from '#lib/config/inventory-table.ts';

export interface FreshTable {
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
}

/** The endpoint of the run's DynamoDB Local (see `dynamodb-global-setup.ts`). */
export function dynamoDbEndpoint(): string {
  const endpoint = inject('dynamoDbEndpoint');
  if (!endpoint) throw new Error('No DynamoDB Local: run with the default vitest config, whose globalSetup starts it.');
  return endpoint;
}

/** A new, empty inventory table with a unique name in the shared DynamoDB Local, and clients for it. */
export async function freshTable(): Promise<FreshTable> {
  const { client, doc } = createDocumentClient({ endpoint: dynamoDbEndpoint() });
  const tableName = `inventory-${randomUUID()}`;
  await createTableIfMissing(client, tableName);
  return { client, doc, tableName };
}

/**
 * Number of items in the table, by a full Scan: for assertions only (the adapter never scans). With `requestsOnly`,
 * the inventory summary's items are left out: its stream consumer writes them in its own time, after the writes it
 * counts, so a request's "nothing written" is judged on the rest.
 */
export async function countItems(
  client: DynamoDBClient,
  tableName: string,
  options: { readonly requestsOnly?: boolean } = {},
): Promise<number> {
  const derived = [TABLE_PARTITIONS.summaryContribution, TABLE_PARTITIONS.summaryCounters].map(partitionPrefix);
  const filter = options.requestsOnly
    ? {
        FilterExpression: derived.map((_, i) => `NOT begins_with(#pk, :d${i})`).join(' AND '),
        ExpressionAttributeNames: { '#pk': INVENTORY_TABLE.partitionKey },
        ExpressionAttributeValues: Object.fromEntries(derived.map((prefix, i) => [`:d${i}`, { S: prefix }])),
      }
    : {};
  let count = 0;
  let startKey: ScanCommandOutput['LastEvaluatedKey'];
  do {
    const out = await client.send(
      new ScanCommand({
        TableName: tableName,
        Select: 'COUNT',
        ...filter,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    count += out.Count ?? 0;
    startKey = out.LastEvaluatedKey;
  } while (startKey !== undefined);
  return count;
}
