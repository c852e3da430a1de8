import { adminGrantsOf, escalationsOf, findingOf, isActiveOf, riskOf } from '../facts.ts';
import type { RiskRule } from '../rule.ts';

/** Methods named in the explanation before it says how many more. */
const NAMED = 5;

/**
 * A role, user or agent whose policies together allow a known privilege escalation path (Rhino Security Labs' methods,
 * as Cloudsplaining and Prowler name them): `risk.privilegeEscalation` of the `aws-iam` source. A principal that is
 * already unconditionally allowed `*` on `*` has nothing to escalate to: the administrator rules report it instead.
 */
export const iamPrivilegeEscalation: RiskRule = {
  code: 'IAM_PRIVILEGE_ESCALATION',
  severity: 'high',
  title: 'IAM principal can escalate its own privileges',
  appliesTo: ['iam-role', 'iam-user', 'ai-agent'],
  evaluate(subject, _now) {
    if (!isActiveOf(subject, iamPrivilegeEscalation.appliesTo)) return undefined;
    const paths = escalationsOf(riskOf(subject.facts)?.privilegeEscalation);
    if (paths === undefined || paths.length === 0) return undefined;
    if (adminGrantsOf(subject.facts)?.some((grant) => grant.action === '*' && !grant.conditional)) return undefined;
    // Paths that all come from the same policies name them once.
    const sources = new Set(paths.map((path) => path.grantedBy.join(', ')));
    const shared = sources.size === 1 ? [...sources][0] : undefined;
    const named = paths.slice(0, NAMED).map((path) => {
      const by = shared !== undefined || path.grantedBy.length === 0 ? '' : ` from ${path.grantedBy.join(', ')}`;
      return `${path.method} (${path.actions.join(' + ')}${by}${path.conditional ? ', under conditions' : ''})`;
    });
    const more = paths.length > NAMED ? ` and ${paths.length - NAMED} more` : '';
    const count = paths.length === 1 ? 'a privilege escalation path' : `${paths.length} privilege escalation paths`;
    const from = shared === undefined || shared === '' ? '' : ` (granted by ${shared})`;
    return findingOf(
      iamPrivilegeEscalation,
      `Its policies allow ${count}${from}: ${named.join('; ')}${more}.`,
      'Remove the actions that make the path, or scope them to named resources (iam:PassRole to the roles it must ' +
        'pass, with an iam:PassedToService condition; IAM write actions to nothing), or add a permissions boundary ' +
        'that denies them.',
    );
  },
};
