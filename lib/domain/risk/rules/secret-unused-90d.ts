import { asDate, dayAndAge, daysSince, findingOf, isActiveOf } from '../facts.ts';
import type { RiskRule } from '../rule.ts';

/** Days without access after which a secret is unused (FSBP SecretsManager.3's default). */
const MAX_IDLE_DAYS = 90;

/**
 * A secret nobody read for more than 90 days (`lastAccessedDate`, a day), or never (`lastAccessedDate: null`) though
 * created (`createdDate`) more than 90 days ago. A secret scheduled for deletion (`deletedDate`) is left out.
 */
export const secretUnused90d: RiskRule = {
  code: 'SECRET_UNUSED_90D',
  severity: 'low',
  title: `Secrets Manager secret not accessed for ${MAX_IDLE_DAYS} days`,
  control: 'AWS FSBP SecretsManager.3',
  appliesTo: ['secret'],
  evaluate(subject, now) {
    if (!isActiveOf(subject, secretUnused90d.appliesTo)) return undefined;
    const { facts } = subject;
    if (typeof facts.deletedDate === 'string') return undefined;
    let idle: string;
    if (facts.lastAccessedDate === null) {
      const created = asDate(facts.createdDate);
      if (created === undefined || daysSince(created, now) <= MAX_IDLE_DAYS) return undefined;
      idle = `has never been accessed since it was created ${dayAndAge(created, now)}`;
    } else {
      const lastAccessed = asDate(facts.lastAccessedDate);
      if (lastAccessed === undefined || daysSince(lastAccessed, now) <= MAX_IDLE_DAYS) return undefined;
      idle = `was last accessed ${dayAndAge(lastAccessed, now)}`;
    }
    return findingOf(
      secretUnused90d,
      `The secret ${idle}: unused for more than ${MAX_IDLE_DAYS} days.`,
      'Confirm with its owner that nothing reads it, then delete it (DeleteSecret keeps it recoverable for 7 to 30 ' +
        'days), and revoke the credential it holds where it was issued.',
    );
  },
};
