import { asDate, asObject, asString, dayAndAge, daysSince, findingOf, isActiveOf } from '../facts.ts';
import type { RiskRule } from '../rule.ts';

/** Days without use after which a role is unused. */
const MAX_IDLE_DAYS = 90;
/** How far back IAM tracks a role's last use. */
const TRACKED_DAYS = 400;
/** Service-linked roles belong to the AWS service that made them, which alone uses and deletes them. */
const SERVICE_LINKED_PATH = '/aws-service-role/';

/**
 * A role not used for more than 90 days (`roleLastUsed.lastUsedDate`, a day), or never used (`roleLastUsed: null`)
 * and created (`createDate`) more than 90 days ago. Agents' roles too. Service-linked roles (`path`) are left out.
 */
export const iamRoleUnused: RiskRule = {
  code: 'IAM_ROLE_UNUSED',
  severity: 'low',
  title: `IAM role not used for ${MAX_IDLE_DAYS} days`,
  appliesTo: ['iam-role', 'ai-agent'],
  evaluate(subject, now) {
    if (!isActiveOf(subject, iamRoleUnused.appliesTo)) return undefined;
    const { facts } = subject;
    if (asString(facts.path)?.startsWith(SERVICE_LINKED_PATH)) return undefined;
    let idle: string;
    if (facts.roleLastUsed === null) {
      const created = asDate(facts.createDate);
      if (created === undefined || daysSince(created, now) <= MAX_IDLE_DAYS) return undefined;
      const window = daysSince(created, now) > TRACKED_DAYS ? ` (IAM tracks the last ${TRACKED_DAYS} days)` : '';
      idle = `has no recorded use${window}; it was created ${dayAndAge(created, now)}`;
    } else {
      const lastUsed = asDate(asObject(facts.roleLastUsed)?.lastUsedDate);
      if (lastUsed === undefined || daysSince(lastUsed, now) <= MAX_IDLE_DAYS) return undefined;
      const region = asString(asObject(facts.roleLastUsed)?.region);
      idle = `was last used ${dayAndAge(lastUsed, now)}${region === undefined ? '' : ` in ${region}`}`;
    }
    return findingOf(
      iamRoleUnused,
      `The role ${idle}: unused for more than ${MAX_IDLE_DAYS} days.`,
      'Confirm with its owner that nothing assumes it any more, then delete it (or first remove its trust policy ' +
        'statements to see what breaks). An unused role keeps its permissions for whoever can still assume it.',
    );
  },
};
