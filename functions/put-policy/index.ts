import { systemClock } from '#lib/ports/clock.ts';
import { http } from '../shared/lambda-runtime.ts';
import { policyStoreFromEnv } from '../shared/stores-from-env.ts';
import { makePutPolicyHandler } from './handler.ts';

export const handler = makePutPolicyHandler({ ...http, policyStore: policyStoreFromEnv(), clock: systemClock });
