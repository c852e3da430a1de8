import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { createDocumentClient, createTableIfMissing } from '#lib/adapters/dynamodb-client.ts';
import { loadOrCreateDynamoDbAccessKey } from '../../infra/local/dynamodb-access-key.ts';
import { startDynamoDbLocal } from '../../infra/local/dynamodb-local.ts';

/**
 * DynamoDB Local listens on every interface; the local plane's database is kept under a random access key id, so a
 * client with any other key (anyone else on the network) sees an empty DynamoDB. Checked against a real DynamoDB
 * Local with a database file on disk, including the move of a data directory from before.
 */

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function dataDir(): Promise<{ data: string; db: string }> {
  const data = await mkdtemp(join(tmpdir(), 'mim-access-key-'));
  dirs.push(data);
  return { data, db: join(data, 'dynamodb') };
}

describe('the local DynamoDB access key', () => {
  it("is random, 0600, reused, and keeps an older data directory's inventory while hiding it from other keys", async () => {
    const { data, db } = await dataDir();
    // A data directory as earlier versions left it: one database shared by every key.
    const before = await startDynamoDbLocal({ dbPath: db });
    try {
      const legacy = createDocumentClient({ endpoint: before.endpoint });
      await createTableIfMissing(legacy.client, 'mim-inventory');
      await legacy.doc.send(
        new PutCommand({ TableName: 'mim-inventory', Item: { pk: 'CERT#01', sk: 'CERT', kept: true } }),
      );
    } finally {
      await before.stop();
    }
    expect(await readdir(db)).toContain('shared-local-instance.db');

    const first = await loadOrCreateDynamoDbAccessKey(data, db);
    expect(first).toMatchObject({ created: true, migrated: true });
    expect(first.credentials.accessKeyId).toMatch(/^mim[0-9a-f]{40}$/);
    const keyFile = join(data, 'dynamodb-access-key');
    expect(((await stat(keyFile)).mode & 0o777).toString(8)).toBe('600');
    expect((await readFile(keyFile, 'utf8')).trim()).toBe(first.credentials.accessKeyId);
    expect(await readdir(db)).toEqual(expect.arrayContaining([`${first.credentials.accessKeyId}_local.db`]));
    expect(await readdir(db)).not.toContain('shared-local-instance.db');

    const again = await loadOrCreateDynamoDbAccessKey(data, db);
    expect(again).toMatchObject({ created: false, migrated: false, credentials: first.credentials });

    const after = await startDynamoDbLocal({ dbPath: db, perAccessKey: true });
    try {
      const ours = createDocumentClient({ endpoint: after.endpoint, credentials: first.credentials });
      const item = await ours.doc.send(
        new GetCommand({ TableName: 'mim-inventory', Key: { pk: 'CERT#01', sk: 'CERT' } }),
      );
      expect(item.Item?.kept).toBe(true);
      // Anyone else, with the old well-known key or any other, finds nothing.
      for (const accessKeyId of ['local', 'AKIAIOSFODNN7EXAMPLE']) {
        const stranger = createDocumentClient({
          endpoint: after.endpoint,
          credentials: { accessKeyId, secretAccessKey: 'x' },
        });
        expect((await stranger.client.send(new ListTablesCommand({}))).TableNames).toEqual([]);
      }
    } finally {
      await after.stop();
    }

    // Another data directory gets another key.
    const other = await dataDir();
    const otherKey = await loadOrCreateDynamoDbAccessKey(other.data, other.db);
    expect(otherKey).toMatchObject({ created: true, migrated: false });
    expect(otherKey.credentials.accessKeyId).not.toBe(first.credentials.accessKeyId);
  }, 60_000);
});
