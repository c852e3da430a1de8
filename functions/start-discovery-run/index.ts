import { randomBytes } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { createSqsDiscoveryQueue } from '#lib/adapters/sqs-discovery-queue.ts';
import { parseFunctionEnv } from '#lib/config/function-env.ts';
import type { HttpApiEvent } from '#lib/http/http-types.ts';
import { systemClock } from '#lib/ports/clock.ts';
import { awsDiscovery, tlsPlan } from '../shared/discovery-from-env.ts';
import { http } from '../shared/lambda-runtime.ts';
import { discoveryRunsFromEnv } from '../shared/stores-from-env.ts';
import { makeScheduledDiscoveryRunHandler, makeStartDiscoveryRunHandler } from './handler.ts';

const env = parseFunctionEnv(process.env, ['discoveryQueueUrl']);
const deps = {
  runs: discoveryRunsFromEnv(),
  queue: createSqsDiscoveryQueue(env.discoveryQueueUrl),
  clock: systemClock,
  plan: awsDiscovery.plan,
  randomId: () => randomBytes(6).toString('hex'),
  tls: tlsPlan,
};
const api = makeStartDiscoveryRunHandler({ ...http, ...deps });
const scheduled = makeScheduledDiscoveryRunHandler(deps);

/** `POST /v1/discovery/runs` through API Gateway, or the schedule's EventBridge event: one function, one privilege set. */
export const handler = (event: HttpApiEvent | { readonly source?: string }, context: Context) =>
  'requestContext' in event ? api(event, context) : scheduled();
