import { adminGrantsOf, describeGrants, findingOf, isActiveOf, isAgent } from '../facts.ts';
import type { RiskRule } from '../rule.ts';

/**
 * An AI agent (a role Bedrock agents or AgentCore assume, or a role or user tagged `mim:kind=agent`) whose policies allow `*`,
 * `iam:*` or `sts:*` on every resource: whatever steers the agent (a prompt, a tool's output) can act as an
 * administrator. Reads `risk.adminActions` of the `aws-iam` source.
 */
export const agentAdminEquivalent: RiskRule = {
  code: 'AGENT_ADMIN_EQUIVALENT',
  severity: 'critical',
  title: 'AI agent with administrator-equivalent permissions',
  control: 'AWS FSBP IAM.1',
  appliesTo: ['ai-agent', 'iam-user'],
  evaluate(subject, _now) {
    if (!isActiveOf(subject, agentAdminEquivalent.appliesTo) || !isAgent(subject)) return undefined;
    const grants = adminGrantsOf(subject.facts);
    if (grants === undefined || grants.length === 0) return undefined;
    return findingOf(
      agentAdminEquivalent,
      `The agent's policies allow ${describeGrants(grants)}: anything that steers the agent (a prompt, ` +
        'a tool result) can act as an administrator of the account.',
      'Give the agent only the actions its tools need, on named resources, and a permissions boundary that denies ' +
        'IAM and STS writes; put anything administrative behind a human approval step.',
    );
  },
};
