import { asBoolean, asDate, asNumber, asObject, dayAndAge, daysSince, findingOf, isActiveOf } from '../facts.ts';
import type { RiskRule } from '../rule.ts';

/** Days after which a secret with rotation on should have rotated (FSBP SecretsManager.4's default). */
const MAX_DAYS = 90;

/**
 * A secret whose rotation is on but which has not rotated for more than 90 days (`lastRotatedDate`, a day), or never
 * (`lastRotatedDate: null`) though created (`createdDate`) more than 90 days ago: its rotation is failing, or its
 * schedule is too long. A secret scheduled for deletion (`deletedDate`) is left out.
 */
export const secretNotRotated90d: RiskRule = {
  code: 'SECRET_NOT_ROTATED_90D',
  severity: 'medium',
  title: `Secrets Manager secret with rotation on, not rotated for ${MAX_DAYS} days`,
  control: 'AWS FSBP SecretsManager.4',
  appliesTo: ['secret'],
  evaluate(subject, now) {
    if (!isActiveOf(subject, secretNotRotated90d.appliesTo)) return undefined;
    const { facts } = subject;
    if (asBoolean(facts.rotationEnabled) !== true || typeof facts.deletedDate === 'string') return undefined;
    let stale: string;
    if (facts.lastRotatedDate === null) {
      const created = asDate(facts.createdDate);
      if (created === undefined || daysSince(created, now) <= MAX_DAYS) return undefined;
      stale = `has never rotated since it was created ${dayAndAge(created, now)}`;
    } else {
      const lastRotated = asDate(facts.lastRotatedDate);
      if (lastRotated === undefined || daysSince(lastRotated, now) <= MAX_DAYS) return undefined;
      stale = `last rotated ${dayAndAge(lastRotated, now)}`;
    }
    const every = asNumber(asObject(facts.rotationRules)?.automaticallyAfterDays);
    const schedule = every === undefined ? '' : ` Its schedule: every ${every} days.`;
    return findingOf(
      secretNotRotated90d,
      `Rotation is on, but the secret ${stale}: more than ${MAX_DAYS} days.${schedule}`,
      every !== undefined && every > MAX_DAYS
        ? `Shorten its rotation schedule to ${MAX_DAYS} days or less, and rotate it now (RotateSecret).`
        : "Rotation is failing: read the rotation function's logs (and the secret's AWSPENDING version), fix it, then " +
            'rotate it now (RotateSecret).',
    );
  },
};
