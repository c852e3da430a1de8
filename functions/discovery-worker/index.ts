import { createTlsScanner } from '#lib/adapters/tls/tls-scanner.ts';
import { parseFunctionEnv } from '#lib/config/function-env.ts';
import { tlsAllowedRanges } from '#lib/domain/discovery-config.ts';
import { DISCOVERY_MAX_RECEIVES } from '#lib/domain/discovery-run.ts';
import { systemClock } from '#lib/ports/clock.ts';
import type { TlsScanner } from '#lib/ports/tls-scanner.ts';
import { awsDiscovery } from '../shared/discovery-from-env.ts';
import { config, logger } from '../shared/lambda-runtime.ts';
import { discoveredInventoryFromEnv, discoveryRunsFromEnv, inventoryFromEnv } from '../shared/stores-from-env.ts';
import { makeDiscoveryWorkerHandler } from './handler.ts';

const env = parseFunctionEnv(process.env, ['caId']);
const inventory = inventoryFromEnv();
let scanner: TlsScanner | undefined;

/** The scanner, built at its first scan: a chain leading to our CA (read from the table then) is `ours`. */
const tlsScanner: TlsScanner = {
  scan: async (dials) => {
    scanner ??= createTlsScanner({
      allowedRanges: tlsAllowedRanges(config.discovery.tls, 'aws'),
      trustedCaPems: (await inventory.getChain(env.caId)) ?? [],
      concurrency: config.discovery.tls.concurrency,
      connectTimeoutMs: config.discovery.tls.connectTimeoutMs,
      handshakeTimeoutMs: config.discovery.tls.handshakeTimeoutMs,
    });
    return scanner.scan(dials);
  },
};

export const handler = makeDiscoveryWorkerHandler({
  runs: discoveryRunsFromEnv(),
  inventory: discoveredInventoryFromEnv(),
  clock: systemClock,
  sourceFor: awsDiscovery.sourceFor,
  missingAfterRuns: config.discovery.missingAfterRuns,
  tls: { scanner: tlsScanner, issued: inventory },
  maxReceives: DISCOVERY_MAX_RECEIVES,
  logger,
});
