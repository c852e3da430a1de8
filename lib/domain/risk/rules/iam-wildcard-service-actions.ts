import { describeGrants, findingOf, grantsOf, isActiveOf, riskOf } from '../facts.ts';
import type { RiskRule } from '../rule.ts';

/**
 * A role or user allowed every action of a service (`s3:*`, `kms:*`…) on every resource. Reads
 * `risk.wildcardServiceActions`: grants shaped as `risk.adminActions` (`{ action, conditional, grantedBy }`), one per
 * service wildcard. The `aws-iam` source records them (`iam-policy-facts.ts`); `*`, `iam:*` and `sts:*` are
 * left to `IAM_ADMIN_EQUIVALENT`, so that one grant is not reported twice.
 */
export const iamWildcardServiceActions: RiskRule = {
  code: 'IAM_WILDCARD_SERVICE_ACTIONS',
  severity: 'medium',
  title: 'IAM principal allowed every action of a service (service:*)',
  control: 'AWS FSBP IAM.21',
  appliesTo: ['iam-role', 'iam-user', 'ai-agent'],
  evaluate(subject, _now) {
    if (!isActiveOf(subject, iamWildcardServiceActions.appliesTo)) return undefined;
    const grants = grantsOf(riskOf(subject.facts)?.wildcardServiceActions)?.filter(
      (grant) => !['*', 'iam:*', 'sts:*'].includes(grant.action.toLowerCase()),
    );
    if (grants === undefined || grants.length === 0) return undefined;
    return findingOf(
      iamWildcardServiceActions,
      `Its policies allow every action of a service: ${describeGrants(grants)}.`,
      'List the actions it needs instead of the service wildcard (IAM Access Analyzer can generate the list from its ' +
        'CloudTrail activity), and narrow the resources.',
    );
  },
};
