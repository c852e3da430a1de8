import { DISCOVERY_MAX_RECEIVES } from '#lib/domain/discovery-run.ts';
import { systemClock } from '#lib/ports/clock.ts';
import { awsDiscovery } from '../shared/discovery-from-env.ts';
import { config, logger } from '../shared/lambda-runtime.ts';
import { discoveredInventoryFromEnv, discoveryRunsFromEnv } from '../shared/stores-from-env.ts';
import { makeDiscoveryWorkerHandler } from './handler.ts';

export const handler = makeDiscoveryWorkerHandler({
  runs: discoveryRunsFromEnv(),
  inventory: discoveredInventoryFromEnv(),
  clock: systemClock,
  sourceFor: awsDiscovery.sourceFor,
  missingAfterRuns: config.discovery.missingAfterRuns,
  maxReceives: DISCOVERY_MAX_RECEIVES,
  logger,
});
