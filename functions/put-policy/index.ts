import { systemClock } from '#lib/ports/clock.ts';
import { policyStoreFromEnv } from '../shared/inventory-from-env.ts';
import { http } from '../shared/lambda-runtime.ts';
import { makePutPolicyHandler } from './handler.ts';

export const handler = makePutPolicyHandler({ ...http, policyStore: policyStoreFromEnv(), clock: systemClock });
