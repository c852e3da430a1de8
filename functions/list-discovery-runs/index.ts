import { http } from '../shared/lambda-runtime.ts';
import { discoveryRunsFromEnv } from '../shared/stores-from-env.ts';
import { makeListDiscoveryRunsHandler } from './handler.ts';

export const handler = makeListDiscoveryRunsHandler({ ...http, runs: discoveryRunsFromEnv() });
