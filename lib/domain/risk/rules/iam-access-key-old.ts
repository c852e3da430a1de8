import { asDate, asObject, asString, dayAndAge, daysSince, findingOf, isActiveOf } from '../facts.ts';
import type { RiskRule } from '../rule.ts';

/** The age past which an active access key is due for rotation (FSBP IAM.3, CIS AWS 1.14). */
const MAX_AGE_DAYS = 90;

/**
 * An active access key created more than 90 days ago. Reads the `iam-access-key` facts of the `aws-iam` source:
 * `status` (`Active`), `createDate`, and `lastUsed.date`, `user` for the explanation.
 */
export const iamAccessKeyOld: RiskRule = {
  code: 'IAM_ACCESS_KEY_OLD',
  severity: 'medium',
  title: `Active access key older than ${MAX_AGE_DAYS} days`,
  control: 'AWS FSBP IAM.3',
  appliesTo: ['iam-access-key'],
  evaluate(subject, now) {
    if (!isActiveOf(subject, iamAccessKeyOld.appliesTo)) return undefined;
    const { facts } = subject;
    if (asString(facts.status) !== 'Active') return undefined;
    const created = asDate(facts.createDate);
    if (created === undefined || daysSince(created, now) <= MAX_AGE_DAYS) return undefined;
    const user = asString(facts.user);
    const lastUsed = asDate(asObject(facts.lastUsed)?.date);
    const use =
      lastUsed !== undefined ? `last used ${dayAndAge(lastUsed, now)}` : facts.lastUsed === null ? 'never used' : '';
    return findingOf(
      iamAccessKeyOld,
      `Active access key${user === undefined ? '' : ` of IAM user ${user}`}, created ${dayAndAge(created, now)}: ` +
        `older than ${MAX_AGE_DAYS} days.${use === '' ? '' : ` It was ${use}.`}`,
      'Rotate it: create a second access key, move its users to the new one, deactivate this one, then delete it once ' +
        'nothing fails. Better, replace the long-lived key with a role (IAM Roles Anywhere, OIDC federation, or an ' +
        'instance or task role) so that no key needs rotating.',
    );
  },
};
