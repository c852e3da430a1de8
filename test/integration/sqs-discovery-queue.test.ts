import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsDiscoveryQueue } from '#lib/adapters/sqs-discovery-queue.ts';
import type { DiscoveryUnit } from '#lib/ports/discovery-runs.ts';

/**
 * The discovery queue adapter with the real SQS client against a loopback server speaking SQS's JSON protocol
 * (`X-Amz-Target: AmazonSQS.SendMessageBatch`, `application/x-amz-json-1.0`).
 */

const received: Array<{
  target: string;
  body: { QueueUrl: string; Entries: Array<{ Id: string; MessageBody: string }> };
}> = [];
let refuseOnce = new Set<string>();
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString('utf8');
    });
    req.on('end', () => {
      const target = String(req.headers['x-amz-target']);
      const body = JSON.parse(text);
      received.push({ target, body });
      const failed = body.Entries.filter((e: { MessageBody: string }) =>
        refuseOnce.has(JSON.parse(e.MessageBody).account),
      );
      for (const f of failed) refuseOnce.delete(JSON.parse(f.MessageBody).account);
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(
        JSON.stringify({
          // The SDK checks each body's MD5, as SQS computes it.
          Successful: body.Entries.filter((e: { Id: string }) => !failed.includes(e)).map(
            (e: { Id: string; MessageBody: string }) => ({
              Id: e.Id,
              MessageId: `m-${e.Id}`,
              MD5OfMessageBody: createHash('md5').update(e.MessageBody).digest('hex'),
            }),
          ),
          Failed: failed.map((e: { Id: string }) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })),
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const unit = (i: number): DiscoveryUnit => ({
  runId: '20261129T120000Z-a',
  source: 'aws-kms',
  account: String(100000000000 + i),
  region: 'eu-west-1',
});

describe('SQS discovery queue', () => {
  it('sends units 10 per SendMessageBatch, as JSON bodies, and sends again what SQS refused', async () => {
    const client = new SQSClient({
      endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIAFAKESQS000000000', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    refuseOnce = new Set([unit(3).account]);
    const queueUrl = `${endpoint}/123456789012/mim-discovery`;
    await new SqsDiscoveryQueue(client, queueUrl).enqueue(Array.from({ length: 23 }, (_, i) => unit(i)));
    expect(received.map((r) => [r.target, r.body.Entries.length])).toEqual([
      ['AmazonSQS.SendMessageBatch', 10],
      ['AmazonSQS.SendMessageBatch', 1],
      ['AmazonSQS.SendMessageBatch', 10],
      ['AmazonSQS.SendMessageBatch', 3],
    ]);
    expect(received.every((r) => r.body.QueueUrl === queueUrl)).toBe(true);
    const sent = received.flatMap((r) => r.body.Entries.map((e) => JSON.parse(e.MessageBody).account));
    expect(new Set(sent).size).toBe(23);
    expect(JSON.parse(received[0]?.body.Entries[0]?.MessageBody ?? '{}')).toEqual(unit(0));
  });
});
