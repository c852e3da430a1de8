import { asBoolean, asObject, findingOf, isActiveOf, riskOf } from '../facts.ts';
import type { RiskRule } from '../rule.ts';

/**
 * A role whose trust policy allows any principal (`Principal: "*"`, `{"AWS": "*"}`, or `NotPrincipal`) to assume it:
 * `risk.trustAnyPrincipal` of the `aws-iam` source, `{ conditional }` when so, else `null`. Under conditions it still
 * fires: only the conditions then stand between the role and every AWS account.
 */
export const iamTrustAnyPrincipal: RiskRule = {
  code: 'IAM_TRUST_ANY_PRINCIPAL',
  severity: 'critical',
  title: 'Role trust policy allows any principal (Principal "*")',
  appliesTo: ['iam-role', 'ai-agent'],
  evaluate(subject, _now) {
    if (!isActiveOf(subject, iamTrustAnyPrincipal.appliesTo)) return undefined;
    const trust = asObject(riskOf(subject.facts)?.trustAnyPrincipal);
    if (trust === undefined) return undefined;
    const conditional = asBoolean(trust.conditional) ?? false;
    return findingOf(
      iamTrustAnyPrincipal,
      conditional
        ? 'Its trust policy allows any principal of any AWS account to assume it, limited only by conditions.'
        : 'Its trust policy allows any principal of any AWS account to assume it, without conditions.',
      'Name the principals that may assume it (account roots, roles, or a service) in the trust policy instead of "*"; ' +
        'where a whole organization must, keep "*" only with an aws:PrincipalOrgID condition.',
    );
  },
};
