import { asStrings, findingOf, isActiveOf, riskOf } from '../facts.ts';
import type { RiskRule } from '../rule.ts';

/**
 * A role that other AWS accounts may assume without an `sts:ExternalId` condition (the confused deputy problem):
 * `risk.crossAccountTrustWithoutExternalId` of the `aws-iam` source, the account ids so trusted.
 */
export const iamCrossAccountNoExternalId: RiskRule = {
  code: 'IAM_CROSS_ACCOUNT_NO_EXTERNAL_ID',
  severity: 'medium',
  title: 'Role trusts another AWS account without an external id',
  appliesTo: ['iam-role', 'ai-agent'],
  evaluate(subject, _now) {
    if (!isActiveOf(subject, iamCrossAccountNoExternalId.appliesTo)) return undefined;
    const accounts = asStrings(riskOf(subject.facts)?.crossAccountTrustWithoutExternalId);
    if (accounts === undefined || accounts.length === 0) return undefined;
    const which = accounts.length === 1 ? `account ${accounts[0]}` : `accounts ${accounts.join(', ')}`;
    return findingOf(
      iamCrossAccountNoExternalId,
      `Its trust policy lets ${which} assume it without an sts:ExternalId condition.`,
      'For a third party, require the external id it gave you (a StringEquals condition on sts:ExternalId). For ' +
        "your own organization's accounts, name the role that may assume it, or add an aws:PrincipalOrgID condition.",
    );
  },
};
