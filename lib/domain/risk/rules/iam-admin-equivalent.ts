import { adminGrantsOf, describeGrants, findingOf, isActiveOf, isAgent } from '../facts.ts';
import type { RiskRule } from '../rule.ts';

/**
 * A role or user whose policies allow `*`, `iam:*` or `sts:*` on every resource: administrator, or able to make
 * itself one. Reads `risk.adminActions` of the `aws-iam` source (a grant under conditions still fires, and says so).
 * AI agents (agent roles, and users tagged as agents) have their own, critical, rule: `AGENT_ADMIN_EQUIVALENT`.
 */
export const iamAdminEquivalent: RiskRule = {
  code: 'IAM_ADMIN_EQUIVALENT',
  severity: 'high',
  title: 'IAM principal with administrator-equivalent permissions (* or iam:* or sts:* on *)',
  control: 'AWS FSBP IAM.1',
  appliesTo: ['iam-role', 'iam-user'],
  evaluate(subject, _now) {
    if (!isActiveOf(subject, iamAdminEquivalent.appliesTo) || isAgent(subject)) return undefined;
    const grants = adminGrantsOf(subject.facts);
    if (grants === undefined || grants.length === 0) return undefined;
    const who = subject.type === 'iam-user' ? 'IAM user' : 'role';
    return findingOf(
      iamAdminEquivalent,
      `The ${who}'s policies allow ${describeGrants(grants)}: it is, or can make itself, an administrator.`,
      'Replace these grants with policies that allow only the actions and resources it uses (IAM Access Analyzer can ' +
        'generate one from its CloudTrail activity), or add a permissions boundary. Keep administrator access for ' +
        'people, through IAM Identity Center, not for machine identities.',
    );
  },
};
