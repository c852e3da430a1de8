import { activeAccessKeysOf, agentSignalsOf, findingOf, isActiveOf, isAgent } from '../facts.ts';
import type { RiskRule } from '../rule.ts';

/**
 * An AI agent that holds long-lived credentials: an `ai-agent`, or an IAM user with agent signals (`agentSignals`,
 * e.g. `tag:mim:kind=agent`), with active access keys (`activeAccessKeys`, the key ids). The `aws-iam` source
 * records both on users (a user tagged `mim:kind=agent` stays an `iam-user` with agent signals).
 */
export const agentLongLivedKeys: RiskRule = {
  code: 'AGENT_LONG_LIVED_KEYS',
  severity: 'high',
  title: 'AI agent with long-lived access keys',
  appliesTo: ['ai-agent', 'iam-user'],
  evaluate(subject, _now) {
    if (!isActiveOf(subject, agentLongLivedKeys.appliesTo) || !isAgent(subject)) return undefined;
    const keys = activeAccessKeysOf(subject.facts);
    if (keys === undefined || keys.length === 0) return undefined;
    const signals = agentSignalsOf(subject.facts);
    const why = signals.length === 0 ? '' : ` (${signals.join(', ')})`;
    const which =
      keys.length === 1
        ? `an active access key (${keys[0]})`
        : `${keys.length} active access keys (${keys.join(', ')})`;
    return findingOf(
      agentLongLivedKeys,
      `This AI agent${why} holds ${which}: long-lived credentials that work from anywhere until someone revokes them.`,
      'Run the agent under a role it assumes (Bedrock AgentCore, or the compute it runs on), whose credentials expire ' +
        'within hours; then deactivate and delete the access keys.',
    );
  },
};
