import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_TABLE_ACCESS, type FunctionName } from '#functions/function-access.ts';
import { guardTableAccess, TableAccessDeniedError, tableRequestsOf } from '#lib/adapters/dynamodb-access-guard.ts';
import { createDocumentClient } from '#lib/adapters/dynamodb-client.ts';
import { createDynamoDbIdempotencyStore } from '#lib/adapters/dynamodb-idempotency.ts';
import { DynamoDbInventory } from '#lib/adapters/dynamodb-inventory.ts';
import { auditEntryPut } from '#lib/adapters/dynamodb-items.ts';
import { caChainKey, certificateKey, enrollmentTokenKey, idempotencyRecordKey } from '#lib/adapters/dynamodb-keys.ts';
import { resolveTableGrants } from '#lib/config/table-grants.ts';
import { createIdempotencyGuard } from '#lib/http/idempotency.ts';
import { countItems, dynamoDbEndpoint, type FreshTable, freshTable } from '../support/dynamodb.ts';

/**
 * The local stand-in for the functions' IAM statements: a client guarded with a function's grants sends what they
 * allow to DynamoDB Local and refuses the rest before it leaves the process.
 */

const CA_ID = 'guard-test';
let table: FreshTable;

function guardedAs(name: FunctionName) {
  const clients = createDocumentClient({ endpoint: dynamoDbEndpoint() });
  guardTableAccess(clients.client, name, resolveTableGrants(FUNCTION_TABLE_ACCESS[name], CA_ID));
  return clients;
}

beforeAll(async () => {
  table = await freshTable();
  await new DynamoDbInventory(table.doc, table.tableName).putChain(CA_ID, ['-----BEGIN CERTIFICATE-----']);
});

describe('table access guard', () => {
  it('lets the public CA chain function read its chain and nothing else, and never scan', async () => {
    const { doc, client } = guardedAs('get-ca-chain');
    const chain = await doc.send(new GetCommand({ TableName: table.tableName, Key: caChainKey(CA_ID) }));
    expect(chain.Item?.chainPem).toEqual(['-----BEGIN CERTIFICATE-----']);
    await expect(
      doc.send(new GetCommand({ TableName: table.tableName, Key: enrollmentTokenKey('ab'.repeat(32)) })),
    ).rejects.toThrow(/get-ca-chain may not GetItem in partition "ETOKEN#/);
    await expect(doc.send(new GetCommand({ TableName: table.tableName, Key: caChainKey('other') }))).rejects.toThrow(
      TableAccessDeniedError,
    );
    await expect(client.send(new ScanCommand({ TableName: table.tableName }))).rejects.toThrow(/may not Scan/);
    await expect(
      doc.send(new PutCommand({ TableName: table.tableName, Item: { ...caChainKey(CA_ID), chainPem: ['x'] } })),
    ).rejects.toThrow(/may not PutItem/);
    const after = await table.doc.send(new GetCommand({ TableName: table.tableName, Key: caChainKey(CA_ID) }));
    expect(after.Item?.chainPem).toEqual(['-----BEGIN CERTIFICATE-----']);
  });

  it('refuses a whole transaction when one item is outside the grants, so nothing of it is written', async () => {
    const { doc } = guardedAs('revoke-certificate');
    const before = await countItems(table.client, table.tableName);
    const serial = randomUUID().replaceAll('-', '');
    await expect(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: table.tableName, Item: { ...certificateKey(serial), status: 'x' } } },
            { Put: { TableName: table.tableName, Item: { ...caChainKey(CA_ID), chainPem: ['forged'] } } },
          ],
        }),
      ),
    ).rejects.toThrow(/revoke-certificate may not PutItem in partition "CERT#/);
    expect(await countItems(table.client, table.tableName)).toBe(before);
  });

  it('checks index queries against the index partitions, and table queries against the table partitions', async () => {
    const { doc } = guardedAs('list-identities');
    const byType = await doc.send(
      new QueryCommand({
        TableName: table.tableName,
        IndexName: 'byType',
        KeyConditionExpression: '#p = :p',
        ExpressionAttributeNames: { '#p': 'typePk' },
        ExpressionAttributeValues: { ':p': 'TYPE#x509-certificate' },
      }),
    );
    expect(byType.Items).toEqual([]);
    await expect(
      doc.send(
        new QueryCommand({
          TableName: table.tableName,
          KeyConditionExpression: 'pk = :p',
          ExpressionAttributeValues: { ':p': 'AUDIT#2030-01-01#0' },
        }),
      ),
    ).rejects.toThrow(/list-identities may not Query in partition "AUDIT#2030-01-01#0"/);
    await expect(
      doc.send(
        new QueryCommand({
          TableName: table.tableName,
          IndexName: 'expiry',
          KeyConditionExpression: 'expiryDay = :p',
          ExpressionAttributeValues: { ':p': 'EXP#2030-01-01#0' },
        }),
      ),
    ).rejects.toThrow(/may not Query on index expiry/);
  });

  it('admits the burst shards of audit days and idempotency records through the partition patterns', async () => {
    const { doc, client } = guardedAs('issue-certificate');
    const at = '2030-02-02T10:00:00.000Z';
    const entries = Array.from({ length: 12 }, (_, i) => ({
      eventId: randomUUID(),
      at: new Date(Date.parse(at) + i * 1000).toISOString(),
      action: 'CertificateIssued' as const,
      actor: 'guard-test',
      target: `serial-${i}`,
      details: {},
    }));
    await doc.send(new TransactWriteCommand({ TransactItems: entries.map((e) => auditEntryPut(table.tableName, e)) }));
    const reader = guardedAs('list-audit-events');
    const listed = await new DynamoDbInventory(reader.doc, table.tableName).listAuditEvents('2030-02-02', { limit: 5 });
    expect(listed.items).toEqual(entries.slice(0, 5));

    const guard = createIdempotencyGuard(createDynamoDbIdempotencyStore({ client, tableName: table.tableName }));
    const run = async () => ({ status: 201, body: { serial: randomUUID() } });
    for (let i = 0; i < 6; i++) {
      const request = { route: 'issue-certificate', principalId: 'p', key: randomUUID(), payload: { i } };
      const first = await guard(request, run);
      expect(await guard(request, run)).toEqual(first);
    }
    const { doc: other } = guardedAs('get-certificate');
    await expect(
      other.send(new GetCommand({ TableName: table.tableName, Key: idempotencyRecordKey('http#00') })),
    ).rejects.toThrow(/get-certificate may not GetItem in partition "IDEMPOTENCY#[0-9a-f]"/);
  });

  it('reads the operations of a request as IAM authorizes them, one per transaction item', () => {
    expect(
      tableRequestsOf('TransactWriteItems', {
        TransactItems: [
          { Put: { Item: { pk: { S: 'CERT#1' } } } },
          { Update: { Key: { pk: { S: 'IDN#1' } } } },
          { Delete: { Key: { pk: { S: 'POLICY' } } } },
          { ConditionCheck: { Key: { pk: { S: 'ETOKEN#1' } } } },
        ],
      }),
    ).toEqual([
      { action: 'PutItem', index: undefined, partition: 'CERT#1' },
      { action: 'UpdateItem', index: undefined, partition: 'IDN#1' },
      { action: 'DeleteItem', index: undefined, partition: 'POLICY' },
      { action: 'ConditionCheckItem', index: undefined, partition: 'ETOKEN#1' },
    ]);
    expect(
      tableRequestsOf('Query', {
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ExpressionAttributeValues: { ':pk': { S: 'POLICY' }, ':prefix': { S: 'CUR#' } },
      }),
    ).toEqual([{ action: 'Query', index: undefined, partition: 'POLICY' }]);
    expect(tableRequestsOf('BatchWriteItem', {})).toEqual([
      { action: 'BatchWriteItem', index: undefined, partition: '' },
    ]);
    expect(() => tableRequestsOf('Query', { KeyConditionExpression: 'sk = :s' })).toThrow(/partition key/);
  });
});
