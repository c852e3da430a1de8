import type { Logger } from '@aws-lambda-powertools/logger';
import { type RescoreIssuedRiskDeps, rescoreIssuedRisk } from '#lib/use-cases/rescore-issued-risk.ts';

/**
 * The daily risk sweep (an EventBridge schedule; a timer locally): reassesses the issued identities whose certificate
 * fell due for renewal or expired since the last days, and logs what it read and rewrote. A failure throws, so the
 * schedule's retry policy runs it again; a second run the same day writes nothing.
 */
export function makeRescoreRiskHandler(deps: RescoreIssuedRiskDeps & { readonly logger: Logger }) {
  return async (): Promise<{ read: number; rescored: number }> => {
    const outcome = await rescoreIssuedRisk(deps);
    deps.logger.info('risk sweep done', outcome);
    return outcome;
  };
}
