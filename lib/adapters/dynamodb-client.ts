import {
  type AttributeDefinition,
  type CreateGlobalSecondaryIndexAction,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  ResourceInUseException,
  ResourceNotFoundException,
  type TableDescription,
  UpdateTableCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { INVENTORY_TABLE } from '#lib/config/inventory-table.ts';

export interface DocumentClientOptions {
  readonly region?: string | undefined;
  /** Set only for DynamoDB Local (e.g. `http://127.0.0.1:8000`); in AWS the SDK resolves the endpoint. */
  readonly endpoint?: string | undefined;
  /**
   * With `endpoint` only: what to sign with. DynamoDB Local keeps one database per access key id and region, so the
   * local plane uses a key id of its own; tests share the default placeholder.
   */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
}

export interface DynamoDbClients {
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
}

/**
 * The DynamoDB client and its document wrapper, built once per process by a composition root.
 *
 * With an `endpoint` (DynamoDB Local) the requests are signed with the given credentials, else fixed placeholders:
 * DynamoDB Local accepts any, the default provider chain would fail on a machine without AWS credentials, and a
 * developer's real access key id has no business in a local process's logs.
 */
export function createDocumentClient(options: DocumentClientOptions = {}): DynamoDbClients {
  const client = new DynamoDBClient(clientConfig(options));
  // Optional record fields are absent rather than undefined, but a stray undefined must not fail a whole write.
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return { client, doc };
}

/**
 * Endpoint, region and credentials of a DynamoDB (or DynamoDB Streams) client: for DynamoDB Local, its endpoint, the
 * given credentials or fixed placeholders; in AWS, only a region when given (the SDK resolves the rest).
 */
export function clientConfig(
  options: DocumentClientOptions,
): Pick<DynamoDBClientConfig, 'endpoint' | 'region' | 'credentials'> {
  if (options.endpoint !== undefined) {
    return {
      endpoint: options.endpoint,
      region: options.region ?? 'local',
      credentials: options.credentials ?? { accessKeyId: 'local', secretAccessKey: 'local' },
    };
  }
  return options.region === undefined ? {} : { region: options.region };
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
    StreamSpecification: { StreamEnabled: true, StreamViewType: INVENTORY_TABLE.streamViewType },
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
 * Creates the inventory table unless it exists, and resolves once it is ACTIVE with its stream on. For DynamoDB Local
 * and tests: in AWS the CDK stack owns the table. A table created before its stream or an index was part of the schema
 * (an older data directory) gets them here.
 */
export async function createTableIfMissing(client: DynamoDBClient, tableName: string): Promise<void> {
  let existing: TableDescription | undefined;
  try {
    existing = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
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
  // Indexes added to the schema since the table was created (one per UpdateTable, as DynamoDB requires).
  const present = new Set((existing?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  for (const index of existing ? INVENTORY_TABLE.indexes.filter((i) => !present.has(i.name)) : []) {
    const input = inventoryTableInput(tableName);
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: input.AttributeDefinitions,
        GlobalSecondaryIndexUpdates: [
          {
            Create: input.GlobalSecondaryIndexes?.find(
              (g) => g.IndexName === index.name,
            ) as CreateGlobalSecondaryIndexAction,
          },
        ],
      }),
    );
    await waitUntilTableExists({ client, minDelay: 1, maxDelay: 5, maxWaitTime: 120 }, { TableName: tableName });
  }
  if (existing && !existing.StreamSpecification?.StreamEnabled) {
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        StreamSpecification: { StreamEnabled: true, StreamViewType: INVENTORY_TABLE.streamViewType },
      }),
    );
    await waitUntilTableExists({ client, minDelay: 1, maxDelay: 5, maxWaitTime: 120 }, { TableName: tableName });
  }
}
