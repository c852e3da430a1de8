import { systemClock } from '#lib/ports/clock.ts';
import { policyStoreFromEnv } from '../shared/inventory-from-env.ts';
import { http } from '../shared/lambda-runtime.ts';
import { makeDeletePolicyHandler } from './handler.ts';

export const handler = makeDeletePolicyHandler({ ...http, policyStore: policyStoreFromEnv(), clock: systemClock });
