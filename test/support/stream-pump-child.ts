import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { startStreamPump } from '#infra/local/stream-pump.ts';
import { createDocumentClient, createTableIfMissing } from '#lib/adapters/dynamodb-client.ts';
import { createDynamoDbStreamReader, createStreamsClient } from '#lib/adapters/dynamodb-stream-reader.ts';

/**
 * Run as its own process by the stream pump's test (`node --import tsx`, DynamoDB Local's endpoint as the only
 * argument): runs a pump through a delivery, a drain, and a stop in the middle of a retry's pause, then reports the
 * resources still alive after `stop()`. It never calls `process.exit`: the test checks that the process ends by
 * itself, which it does only when nothing (timer, socket) is left behind.
 */
const endpoint = process.argv[2];
if (endpoint === undefined || !endpoint.startsWith('http://127.0.0.1:')) {
  throw new Error('usage: stream-pump-child.ts http://127.0.0.1:<port>');
}

const { client } = createDocumentClient({ endpoint });
const streams = createStreamsClient({ endpoint });
const tableName = `inventory-${randomUUID()}`;
await createTableIfMissing(client, tableName);
const reader = createDynamoDbStreamReader({ dynamodb: client, streams, tableName });
const noCheckpoints = { load: async () => ({}), save: async () => undefined };
const put = (pk: string) =>
  client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: pk }, sk: { S: 'child' } } }));

let delivered = 0;
const idle = await startStreamPump({
  reader,
  deliver: async (event) => {
    delivered += event.Records.length;
  },
  onDeadLetter: () => undefined,
  onError: () => undefined,
  checkpoints: noCheckpoints,
});
await put('A');
await idle.drain();
await idle.stop();
const afterIdleStop = process.getActiveResourcesInfo().filter((name) => name === 'Timeout');

// A pump stopped while it waits before a retry: its pause timer must go with it.
let attempts = 0;
const failing = await startStreamPump({
  reader: createDynamoDbStreamReader({ dynamodb: client, streams, tableName }),
  deliver: async () => {
    attempts += 1;
    throw new Error('always fails');
  },
  onDeadLetter: () => undefined,
  onError: () => undefined,
  checkpoints: noCheckpoints,
  retryDelayMs: 5_000,
  maxRetries: 1,
});
for (let wait = 0; wait < 400 && attempts === 0; wait++) await sleep(25);
// stop() must cut the retry's pause short rather than sit it out: it has to win this race by far.
const sentinel = new AbortController();
const stoppedFirst = await Promise.race([
  failing.stop().then(() => true),
  sleep(4_000, false, { signal: sentinel.signal }).catch(() => false),
]);
sentinel.abort();
await failing.stop();
const afterRetryStop = process.getActiveResourcesInfo().filter((name) => name === 'Timeout');

client.destroy();
streams.destroy();
process.stdout.write(`${JSON.stringify({ delivered, attempts, stoppedFirst, afterIdleStop, afterRetryStop })}\n`);
