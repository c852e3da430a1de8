import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynamoDbLocal } from '#infra/local/dynamodb-local.ts';
import { createDocumentClient, createTableIfMissing } from '#lib/adapters/dynamodb-client.ts';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startDynamoDbLocal', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ddb-local-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps data in dbPath across restarts, refuses browsers, and is gone once stopped', async () => {
    const dbPath = join(dir, 'db');
    const first = await startDynamoDbLocal({ dbPath });
    expect((await stat(dbPath)).mode & 0o777).toBe(0o700);
    try {
      const cors = await fetch(first.endpoint, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      });
      expect(cors.headers.get('access-control-allow-origin')).toBeNull();

      const { client, doc } = createDocumentClient({ endpoint: first.endpoint });
      await createTableIfMissing(client, 'kept');
      await createTableIfMissing(client, 'kept');
      await doc.send(new PutCommand({ TableName: 'kept', Item: { pk: 'A', sk: 'B', value: 42 } }));
      client.destroy();
    } finally {
      await first.stop();
    }
    expect(isRunning(first.pid)).toBe(false);
    await first.stop();

    const second = await startDynamoDbLocal({ dbPath });
    try {
      const { client, doc } = createDocumentClient({ endpoint: second.endpoint });
      const out = await doc.send(new GetCommand({ TableName: 'kept', Key: { pk: 'A', sk: 'B' } }));
      expect(out.Item).toEqual({ pk: 'A', sk: 'B', value: 42 });
      client.destroy();
    } finally {
      await second.stop();
    }
  });

  it('explains a missing Java, an early exit and a taken port', async () => {
    await expect(startDynamoDbLocal({ java: join(dir, 'no-java-here') })).rejects.toThrow(/needs Java 17/);

    const fakeJava = join(dir, 'fake-java');
    await writeFile(fakeJava, '#!/bin/sh\necho "UnsupportedClassVersionError: class file version 61.0" >&2\nexit 3\n');
    await chmod(fakeJava, 0o755);
    await expect(startDynamoDbLocal({ java: fakeJava })).rejects.toThrow(
      /exited before it was ready \(exit code 3\)[\s\S]*UnsupportedClassVersionError/,
    );

    const running = await startDynamoDbLocal();
    try {
      await expect(startDynamoDbLocal({ port: running.port })).rejects.toThrow(/already in use/);
    } finally {
      await running.stop();
    }
  });

  it('kills DynamoDB Local when the Node process that started it exits', async () => {
    const moduleUrl = pathToFileURL(resolve('infra/local/dynamodb-local.ts')).href;
    const script = `const { startDynamoDbLocal } = await import(${JSON.stringify(moduleUrl)});
      const d = await startDynamoDbLocal(); console.log(d.pid); process.exit(0);`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '--eval', script],
      { cwd: process.cwd() },
    );
    const pid = Number(stdout.trim());
    expect(Number.isInteger(pid) && pid > 0).toBe(true);
    // The Java process was reparented when Node exited; give it a bounded time to finish its SIGTERM shutdown.
    for (let attempt = 0; attempt < 200 && isRunning(pid); attempt++) await sleep(100);
    expect(isRunning(pid)).toBe(false);
  });
});
