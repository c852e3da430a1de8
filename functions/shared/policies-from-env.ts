import type { PolicySet } from '#lib/domain/policy-engine.ts';
import { systemClock } from '#lib/ports/clock.ts';
import { policySetLoader } from '#lib/use-cases/manage-policies.ts';
import { config } from './lambda-runtime.ts';
import { policyStoreFromEnv } from './stores-from-env.ts';

/**
 * A warm function reuses the compiled policies this long, so a policy change reaches every function within it; a
 * DynamoDB Query per issuance would cost more than evaluating the policies does.
 */
export const POLICY_CACHE_MS = 10_000;

/** The stored policies plus the configuration's deny rules, compiled and cached per container. */
export const policies: () => Promise<PolicySet> = policySetLoader({
  policyStore: policyStoreFromEnv(),
  clock: systemClock,
  deny: config.deny,
  maxAgeMs: POLICY_CACHE_MS,
});
