import { ALL_IDENTITY_TYPES } from '../../identity-catalog.ts';
import { asString, findingOf, isActiveOf } from '../facts.ts';
import type { RiskRule } from '../rule.ts';

/** Service-linked roles belong to the AWS service that made them, and cannot be tagged. */
const SERVICE_LINKED_PATH = '/aws-service-role/';

/**
 * An active identity of any type without an owner: no `owner` or `team` tag, and none set by hand. Two kinds are
 * owned through something else and left out: an access key that names its IAM user (`userArn`), which answers for it
 * (the user's own finding says it has no owner), and a service-linked role (`path` under `/aws-service-role/`).
 */
export const ownerMissing: RiskRule = {
  code: 'OWNER_MISSING',
  severity: 'low',
  title: 'Identity without an owner',
  appliesTo: ALL_IDENTITY_TYPES,
  evaluate(subject, _now) {
    if (!isActiveOf(subject, ownerMissing.appliesTo)) return undefined;
    if (subject.owner !== undefined && subject.owner.trim() !== '') return undefined;
    if (subject.type === 'iam-access-key' && asString(subject.facts.userArn) !== undefined) return undefined;
    if (asString(subject.facts.path)?.startsWith(SERVICE_LINKED_PATH)) return undefined;
    const issued = subject.source === 'issued';
    return findingOf(
      ownerMissing,
      issued
        ? 'Nobody owns this certificate: no owner was recorded at issuance, and none has been set since.'
        : 'Nobody owns this identity: it has no owner or team tag, and no owner has been set on it.',
      issued
        ? 'Set its owner (PATCH /v1/identities/{id} with an owner), so that someone answers for its renewal and ' +
            'revocation.'
        : 'Tag the resource with owner=<team> (or team=<team>) where it lives, or set its owner here ' +
            '(PATCH /v1/identities/{id}), so that someone answers for it; if nobody claims it, find what uses it and ' +
            'retire it.',
    );
  },
};
