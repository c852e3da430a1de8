import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { opensslCsr } from '../test/support/pki-fixtures.ts';
import { startLocalPlane } from '../test/support/processes.ts';
import { fmt, percentile } from './stats.ts';

export interface HttpRunResult {
  concurrency: number;
  requests: number;
  errors: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Issuance through the local HTTP server as a user runs it (`npm start`, DynamoDB Local, software CA key):
 * POST /v1/certificates in a closed loop at each concurrency for `seconds`, CSRs made beforehand by openssl.
 */
export async function benchHttpIssuance(
  options: { seconds?: number; concurrencies?: number[] } = {},
): Promise<HttpRunResult[]> {
  const seconds = options.seconds ?? 10;
  const concurrencies = options.concurrencies ?? [1, 16];
  const dir = await mkdtemp(join(tmpdir(), 'mim-bench-'));
  console.log('http: starting the local control plane (npm start)…');
  const { plane, base } = await startLocalPlane(join(dir, 'data'));
  try {
    const token = (await readFile(join(dir, 'data', 'admin-token'), 'utf8')).trim();
    const csrs: string[] = [];
    for (let i = 0; i < 32; i++) {
      const { csrPem } = await opensslCsr(dir, 'ec-p256', {
        subject: `/CN=svc${i}.local.test`,
        addext: [`subjectAltName=DNS:svc${i}.local.test`],
      });
      csrs.push(JSON.stringify({ csr: csrPem }));
    }
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const results: HttpRunResult[] = [];
    for (const concurrency of concurrencies) {
      // Warm up: JIT, connection pool, DynamoDB Local's first writes.
      for (let i = 0; i < 20; i++)
        await fetch(`${base}/v1/certificates`, { method: 'POST', headers, body: csrs[i % csrs.length] ?? '' });
      const latencies: number[] = [];
      let errors = 0;
      let next = 0;
      const started = performance.now();
      const deadline = started + seconds * 1000;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (performance.now() < deadline) {
            const body = csrs[next++ % csrs.length] ?? '';
            const t0 = performance.now();
            const res = await fetch(`${base}/v1/certificates`, { method: 'POST', headers, body });
            await res.arrayBuffer();
            latencies.push(performance.now() - t0);
            if (res.status !== 201) errors++;
          }
        }),
      );
      const elapsed = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      const result = {
        concurrency,
        requests: latencies.length,
        errors,
        requestsPerSecond: latencies.length / elapsed,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
      };
      results.push(result);
      console.log(
        `http: concurrency ${String(concurrency).padStart(2)}: ${fmt(result.requestsPerSecond, 1)} req/s, p50 ${fmt(result.p50Ms, 1)} ms, p99 ${fmt(result.p99Ms, 1)} ms (${result.requests} requests, ${errors} errors)`,
      );
    }
    return results;
  } finally {
    await plane.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchHttpIssuance();
}
