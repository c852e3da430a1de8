import { http } from '../shared/lambda-runtime.ts';
import { discoveryRunsFromEnv } from '../shared/stores-from-env.ts';
import { makeGetDiscoveryRunHandler } from './handler.ts';

export const handler = makeGetDiscoveryRunHandler({ ...http, runs: discoveryRunsFromEnv() });
