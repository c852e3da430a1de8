import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:tls';
import { pathToFileURL } from 'node:url';
import { createDocumentClient, createTableIfMissing } from '#lib/adapters/dynamodb-client.ts';
import { DynamoDbDiscoveredInventory } from '#lib/adapters/dynamodb-discovered-inventory.ts';
import { DynamoDbDiscoveryRuns } from '#lib/adapters/dynamodb-discovery-runs.ts';
import { DynamoDbInventory } from '#lib/adapters/dynamodb-inventory.ts';
import { createTlsScanner, scanEndpoints } from '#lib/adapters/tls/tls-scanner.ts';
import { discoverTlsEndpoints, planTlsUnits } from '#lib/use-cases/discover-tls-endpoints.ts';
import { startDynamoDbLocal } from '../infra/local/dynamodb-local.ts';
import { makeTestCertificates } from '../test/support/tls-servers.ts';
import { countWrites } from './discovery.ts';
import { fmt, percentile } from './stats.ts';

/**
 * TLS scanning (issue #10): 256 loopback TLS endpoints (Node TLS servers on 127.0.0.1 presenting an EC P-256 leaf and
 * its intermediate, made by openssl), scanned at the default concurrency (32) with chain trust and name checks, three
 * rounds. Prints endpoints per second and the per-endpoint latency. Asserts nothing.
 */

const ENDPOINTS = 256;

export async function benchTlsScan(): Promise<void> {
  const certificates = await makeTestCertificates();
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < ENDPOINTS; i++) {
      const server = createServer({
        key: certificates.good.keyPem,
        cert: certificates.good.pem + certificates.intermediate.pem,
      });
      server.on('tlsClientError', () => {});
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      ports.push(typeof address === 'object' && address ? address.port : 0);
      servers.push(server);
    }
    const endpoints = ports.map((port) => ({ address: '127.0.0.1', port }));
    const rates: number[] = [];
    let outcomes = '';
    for (let round = 0; round < 3; round++) {
      const started = performance.now();
      const results = await scanEndpoints(endpoints, {
        allowedRanges: ['127.0.0.0/8'],
        trustedCaPems: [certificates.root.pem],
      });
      const seconds = (performance.now() - started) / 1000;
      rates.push(ENDPOINTS / seconds);
      const tally = new Map<string, number>();
      for (const result of results) tally.set(result.outcome, (tally.get(result.outcome) ?? 0) + 1);
      outcomes = [...tally.entries()].map(([outcome, n]) => `${outcome} ${n}`).join(', ');
    }
    rates.sort((a, b) => a - b);
    const median = percentile(rates, 50);
    console.log(
      `tls scan: ${fmt(median)} endpoints/s (median of 3 rounds of ${ENDPOINTS} loopback endpoints, concurrency 32; ` +
        `≈ ${fmt((32 / median) * 1000, 1)} ms an endpoint); outcomes ${outcomes}`,
    );
    console.log(
      'tls scan: reference — the issue names none; a 4,096-address run at this rate takes ' +
        `${fmt(4096 / median, 1)} s on loopback (real networks add their round trips and timeouts).`,
    );
    await benchTlsDiscovery(ports, certificates.root.pem);
  } finally {
    for (const server of servers) server.close();
    await rm(certificates.dir, { recursive: true, force: true });
  }
}

/**
 * The same 256 endpoints as a `tls` discovery unit into DynamoDB Local, twice: the first run records the certificate
 * (one identity, served at 256 locations) and each location's scan; the second, over the unchanged endpoints, writes no
 * identity, only the locations' scans.
 */
async function benchTlsDiscovery(ports: readonly number[], rootPem: string): Promise<void> {
  const dynamo = await startDynamoDbLocal({});
  try {
    const { client, doc } = createDocumentClient({ endpoint: dynamo.endpoint });
    await createTableIfMissing(client, 'bench-tls');
    const counts = countWrites(client);
    const allowedRanges = ['127.0.0.0/8'];
    const [work] = await planTlsUnits(
      { allowedRanges, resolve: async () => new Map() },
      ports.map((port) => `127.0.0.1:${port}`),
    );
    if (work === undefined) throw new Error('no unit planned');
    const deps = {
      scanner: createTlsScanner({ allowedRanges, trustedCaPems: [rootPem] }),
      discovered: new DynamoDbDiscoveredInventory(doc, 'bench-tls'),
      issued: new DynamoDbInventory(doc, 'bench-tls'),
      runs: new DynamoDbDiscoveryRuns(doc, 'bench-tls'),
      clock: { now: () => new Date() },
      missingAfterRuns: 2,
    };
    for (const label of ['first run', 'unchanged run']) {
      const before = counts.writes;
      counts.byPartition.clear();
      const started = performance.now();
      const outcome = await discoverTlsEndpoints(deps, work);
      const seconds = (performance.now() - started) / 1000;
      const scans = [...counts.byPartition].filter(([key]) => key.includes('=SCOPEREAD#'));
      const scanWrites = scans.reduce((sum, [, n]) => sum + n, 0);
      console.log(
        `tls discovery ${label}: ${work.dials.length} endpoints in ${fmt(seconds, 2)} s = ` +
          `${fmt(work.dials.length / seconds)} endpoints/s; ${fmt(counts.writes - before - scanWrites)} identity writes ` +
          `(new ${outcome.counts.new}, changed ${outcome.counts.changed}) + ${fmt(scanWrites)} location scans`,
      );
    }
    console.log(
      'tls discovery: reference — an unchanged scan writes no identity; its bookkeeping is one write per location ' +
        '(when it was scanned, what it served), as an AWS source writes one per scope.',
    );
  } finally {
    await dynamo.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchTlsScan();
