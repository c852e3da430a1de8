import { asBoolean, asObject, asStrings, findingOf, isActiveOf, riskOf } from '../facts.ts';
import type { RiskRule } from '../rule.ts';

const GITHUB_OIDC = 'token.actions.githubusercontent.com';

/**
 * A role GitHub Actions may assume through OIDC without a condition on the token's `sub` claim: then any workflow of
 * any repository on GitHub can. Reads `risk.githubOidcWithoutSub` (and `trust.federated` to name the provider).
 */
export const iamGithubOidcNoSub: RiskRule = {
  code: 'IAM_GITHUB_OIDC_NO_SUB',
  severity: 'high',
  title: 'Role trusts GitHub Actions OIDC without a sub condition',
  appliesTo: ['iam-role', 'ai-agent'],
  evaluate(subject, _now) {
    if (!isActiveOf(subject, iamGithubOidcNoSub.appliesTo)) return undefined;
    if (asBoolean(riskOf(subject.facts)?.githubOidcWithoutSub) !== true) return undefined;
    const providers = (asStrings(asObject(subject.facts.trust)?.federated) ?? []).filter((p) =>
      p.includes(GITHUB_OIDC),
    );
    const provider = providers.length === 0 ? 'the GitHub Actions OIDC provider' : providers.join(', ');
    return findingOf(
      iamGithubOidcNoSub,
      `Its trust policy lets ${provider} assume it with no condition on the token's sub claim: any GitHub ` +
        "repository's workflow can assume it.",
      `Add a condition on ${GITHUB_OIDC}:sub naming the repository and branch or environment that may assume it ` +
        '(StringEquals or StringLike, e.g. "repo:my-org/my-repo:environment:prod"), beside the aud condition.',
    );
  },
};
