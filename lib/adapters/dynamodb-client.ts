import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  ResourceInUseException,
  ResourceNotFoundException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { INVENTORY_TABLE } from '#lib/config/inventory-table.ts';

export interface DocumentClientOptions {
  readonly region?: string | undefined;
  /** Set only for DynamoDB Local (e.g. `http://127.0.0.1:8000`); in AWS the SDK resolves the endpoint. */
  readonly endpoint?: string | undefined;
}

export interface DynamoDbClients {
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
}

/**
 * The DynamoDB client and its document wrapper, built once per process by a composition root.
 *
 * With an `endpoint` (DynamoDB Local) the requests are signed with fixed placeholder credentials: DynamoDB Local
 * accepts any, the default provider chain would fail on a machine without AWS credentials, and a developer's real
 * access key id has no business in a local process's logs.
 */
export function createDocumentClient(options: DocumentClientOptions = {}): DynamoDbClients {
  const config: DynamoDBClientConfig = {};
  if (options.endpoint !== undefined) {
    config.endpoint = options.endpoint;
    config.region = options.region ?? 'local';
    config.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  } else if (options.region !== undefined) {
    config.region = options.region;
  }
  const client = new DynamoDBClient(config);
  // Optional record fields are absent rather than undefined, but a stray undefined must not fail a whole write.
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return { client, doc };
}

/** The CreateTable input for the inventory table, from the same declaration the CDK stack uses. */
export function inventoryTableInput(tableName: string): CreateTableCommandInput {
  const keyAttributes = new Set<string>([INVENTORY_TABLE.partitionKey, INVENTORY_TABLE.sortKey]);
  for (const index of INVENTORY_TABLE.indexes) {
    keyAttributes.add(index.partitionKey);
    keyAttributes.add(index.sortKey);
  }
  const attributeDefinitions: AttributeDefinition[] = [...keyAttributes].map((name) => ({
    AttributeName: name,
    AttributeType: 'S',
  }));
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: attributeDefinitions,
    KeySchema: [
      { AttributeName: INVENTORY_TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: INVENTORY_TABLE.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: INVENTORY_TABLE.indexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
  };
}

/**
 * Creates the inventory table unless it exists, and resolves once it is ACTIVE. For DynamoDB Local and tests: in AWS
 * the CDK stack owns the table.
 */
export async function createTableIfMissing(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    try {
      await client.send(new CreateTableCommand(inventoryTableInput(tableName)));
    } catch (createError) {
      // Another process created it in between: fine, wait for it like for our own.
      if (!(createError instanceof ResourceInUseException)) throw createError;
    }
  }
  await waitUntilTableExists({ client, minDelay: 1, maxDelay: 5, maxWaitTime: 120 }, { TableName: tableName });
}
