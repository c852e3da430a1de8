import { systemClock } from '#lib/ports/clock.ts';
import { http } from '../shared/lambda-runtime.ts';
import { policyStoreFromEnv } from '../shared/stores-from-env.ts';
import { makeDeletePolicyHandler } from './handler.ts';

export const handler = makeDeletePolicyHandler({ ...http, policyStore: policyStoreFromEnv(), clock: systemClock });
