import { pathToFileURL } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createAwsIamSource } from '#lib/adapters/discovery/aws-iam-source.ts';
import { createAwsSecretsManagerSource } from '#lib/adapters/discovery/aws-secrets-manager-source.ts';
import { createDocumentClient, createTableIfMissing } from '#lib/adapters/dynamodb-client.ts';
import { DynamoDbDiscoveredInventory } from '#lib/adapters/dynamodb-discovered-inventory.ts';
import { DynamoDbDiscoveryRuns } from '#lib/adapters/dynamodb-discovery-runs.ts';
import { DISCOVERY_RUN_PARTITION } from '#lib/adapters/dynamodb-keys.ts';
import { INVENTORY_TABLE } from '#lib/config/inventory-table.ts';
import type { DiscoveryUnit } from '#lib/ports/discovery-runs.ts';
import type { DiscoverySource } from '#lib/ports/discovery-source.ts';
import { runDiscoveryUnit, startDiscoveryRun } from '#lib/use-cases/run-discovery.ts';
import { startDynamoDbLocal } from '../infra/local/dynamodb-local.ts';
import { fakeIamClient, startFakeIam } from '../test/support/fake-iam-server.ts';
import { fakeSecretsManagerClient, startFakeSecretsManager } from '../test/support/fake-secrets-manager-server.ts';
import { fmt } from './stats.ts';

/**
 * Discovery (issue #9): a synthetic estate of 10,000 identities across 5 accounts (per account 1,200 IAM roles and
 * 800 secrets), served by loopback servers speaking IAM's and Secrets Manager's protocols, discovered into DynamoDB
 * Local twice, each as a run the API starts (run record, one unit per account and source): a first run (everything
 * new) and a second over the unchanged estate. Prints identities per second, the identity writes and run record writes
 * of each run, and the most writes any one partition of the table or its indexes took. Asserts nothing.
 */

const ACCOUNTS = ['100000000001', '100000000002', '100000000003', '100000000004', '100000000005'];
const ROLES_PER_ACCOUNT = 1_200;
const SECRETS_PER_ACCOUNT = 800;
const REGION = 'us-east-1';
/** This bench reads AWS sources only: no TLS targets. */
const NO_TLS = { targets: [], allowedRanges: [], resolve: async () => new Map() };

/** The attributes of the table key and of every index key: a write lands on one partition of each it carries. */
const PARTITION_ATTRIBUTES = [INVENTORY_TABLE.partitionKey, ...INVENTORY_TABLE.indexes.map((i) => i.partitionKey)];

/** Counts the writes reaching DynamoDB, and those per partition of the table and of each index. */
export function countWrites(client: DynamoDBClient) {
  const counts = { writes: 0, byPartition: new Map<string, number>() };
  const bump = (key: string | undefined) => {
    if (key !== undefined) counts.byPartition.set(key, (counts.byPartition.get(key) ?? 0) + 1);
  };
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers: Record<string, string>; body: unknown };
      const target = request.headers['x-amz-target'] ?? '';
      const body = () =>
        JSON.parse(
          typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body as Uint8Array),
        );
      // PutItem carries the item; UpdateItem and DeleteItem its key; a transaction several of them.
      const written: Array<Record<string, { S?: string }>> = [];
      if (/\.(PutItem|UpdateItem|DeleteItem)$/.test(target)) {
        const parsed = body();
        written.push(parsed.Item ?? parsed.Key ?? {});
      } else if (/\.TransactWriteItems$/.test(target)) {
        for (const entry of body().TransactItems ?? []) {
          const op = entry.Put ?? entry.Update ?? entry.Delete;
          if (op) written.push(op.Item ?? op.Key ?? {});
        }
      }
      for (const item of written) {
        counts.writes++;
        for (const attribute of PARTITION_ATTRIBUTES) bump(item[attribute]?.S && `${attribute}=${item[attribute].S}`);
      }
      return next(args);
    },
    { step: 'build', name: 'countWrites' },
  );
  return counts;
}

export async function benchDiscovery(): Promise<void> {
  const dynamo = await startDynamoDbLocal({});
  const stops: Array<() => Promise<void>> = [() => dynamo.stop()];
  try {
    const { client, doc } = createDocumentClient({ endpoint: dynamo.endpoint });
    await createTableIfMissing(client, 'bench-discovery');
    const counts = countWrites(client);
    const inventory = new DynamoDbDiscoveredInventory(doc, 'bench-discovery');
    const runs = new DynamoDbDiscoveryRuns(doc, 'bench-discovery');
    const scopes: Array<{ source: DiscoverySource; account: string; region: string }> = [];
    for (const account of ACCOUNTS) {
      const iam = await startFakeIam({
        account,
        users: [],
        groups: [],
        policies: [],
        roles: Array.from({ length: ROLES_PER_ACCOUNT }, (_, i) => ({
          name: `service-${i}`,
          createDate: new Date('2026-01-01T00:00:00.000Z'),
          trust: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
          },
          tags: { owner: `team-${i % 20}` },
        })),
      });
      const secrets = await startFakeSecretsManager({
        secrets: Array.from({ length: SECRETS_PER_ACCOUNT }, (_, i) => ({
          arn: `arn:aws:secretsmanager:${REGION}:${account}:secret:app-${i}-AbCdEf`,
          name: `app-${i}`,
          rotationEnabled: i % 2 === 0,
          secretString: 'x',
        })),
      });
      stops.push(iam.close, secrets.close);
      scopes.push({ source: createAwsIamSource({ client: fakeIamClient(iam.endpoint) }), account, region: 'global' });
      scopes.push({
        source: createAwsSecretsManagerSource({ client: fakeSecretsManagerClient(secrets.endpoint) }),
        account,
        region: REGION,
      });
    }

    const run = async (label: string) => {
      const before = counts.writes;
      counts.byPartition.clear();
      const started = performance.now();
      // A run as the API starts it: its record with one part per unit, then each unit as a worker runs it (two at a
      // time, as the local queue does), recording its part; so the run record's writes are counted too.
      const units: DiscoveryUnit[] = [];
      const clock = { now: () => new Date() };
      const record = await startDiscoveryRun(
        {
          runs,
          clock,
          queue: { enqueue: async (more) => void units.push(...more) },
          plan: async () => ({
            accounts: ACCOUNTS.map((accountId) => ({ accountId, roleArn: undefined })),
            regions: [REGION],
          }),
          randomId: () => Math.random().toString(36).slice(2, 10),
          tls: NO_TLS,
        },
        { by: 'bench', trigger: 'api', sources: ['aws-iam', 'aws-secrets-manager'] },
      );
      const sourceFor = async (unit: DiscoveryUnit) => {
        const scope = scopes.find((s) => s.source.name === unit.source && s.account === unit.account);
        if (!scope) throw new Error(`no scope for ${unit.source} ${unit.account}`);
        return scope.source;
      };
      let seen = 0;
      for (let i = 0; i < units.length; i += 2) {
        const parts = await Promise.all(
          units
            .slice(i, i + 2)
            .map((unit) => runDiscoveryUnit({ runs, inventory, clock, sourceFor, missingAfterRuns: 2 }, unit)),
        );
        seen += parts.reduce((sum, part) => sum + part.counts.seen, 0);
      }
      const seconds = (performance.now() - started) / 1000;
      const isRunRecord = (key: string) =>
        key === `${INVENTORY_TABLE.partitionKey}=${DISCOVERY_RUN_PARTITION}` ||
        key.startsWith(`${INVENTORY_TABLE.partitionKey}=DRUNP#`) ||
        key.startsWith(`${INVENTORY_TABLE.partitionKey}=SCOPEREAD#`);
      const runRecordWrites = [...counts.byPartition.entries()]
        .filter(([key]) => isRunRecord(key))
        .reduce((sum, [, n]) => sum + n, 0);
      const identityWrites = counts.writes - before - runRecordWrites;
      const worst = [...counts.byPartition.entries()]
        .filter(([key]) => !isRunRecord(key))
        .sort((a, b) => b[1] - a[1])[0];
      const status = (await runs.getRun(record.runId))?.parts.every((p) => p.status === 'succeeded')
        ? 'completed'
        : 'NOT completed';
      console.log(
        `discovery ${label}: ${fmt(seen)} identities in ${fmt(seconds, 1)} s = ${fmt(seen / seconds)} identities/s (run ${status}); ` +
          `${fmt(identityWrites)} identity writes + the run's bookkeeping (${fmt(runRecordWrites)} writes: its record, ${units.length} part items each started and finished with the record's tally, the scopes' last reads); ` +
          `worst partition ${worst ? `${worst[0].replace(/#[^#]*$/, '#…')} ${fmt(worst[1])} writes` : 'none (no writes)'}`,
      );
    };
    await run('first run (all new)');
    await run('second run (unchanged)');
    console.log(
      'discovery: reference — the issue: an unchanged estate writes nothing but its run record (1). Here: 0 identity ' +
        "writes; the run's own bookkeeping is 1 + 5 writes per part (record; part created, started, finished with " +
        "the record's tally; the scope's last read), whatever the estate's size. Worst partition: at most ~1,000 " +
        'writes/s at the design load; every partition an identity write lands on (table key, byScope, byType, byOwner, ' +
        'byAccount) is one of 16 burst shards.',
    );
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchDiscovery();
