import { systemClock } from '#lib/ports/clock.ts';
import { policyStoreFromEnv } from '../shared/inventory-from-env.ts';
import { http } from '../shared/lambda-runtime.ts';
import { makeGetPolicyHandler } from './handler.ts';

export const handler = makeGetPolicyHandler({ ...http, policyStore: policyStoreFromEnv(), clock: systemClock });
