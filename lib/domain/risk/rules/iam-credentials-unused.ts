import {
  asDate,
  asObject,
  asString,
  consolePasswordOf,
  dayAndAge,
  daysSince,
  findingOf,
  isActiveOf,
} from '../facts.ts';
import type { RiskRule } from '../rule.ts';

/** Days without use after which a credential is unused (FSBP IAM.22, CIS AWS 1.12). */
const MAX_IDLE_DAYS = 45;

/**
 * A credential unused for more than 45 days: an IAM user's console password (`passwordLastUsed`, a day; a password
 * never used counts only when `consolePassword: true` says there is one: the source reads GetLoginProfile), or an active
 * access key (`iam-access-key`: `status`, `lastUsed.date`, or `lastUsed: null` and `createDate` for one never used).
 */
export const iamCredentialsUnused: RiskRule = {
  code: 'IAM_CREDENTIALS_UNUSED',
  severity: 'medium',
  title: `IAM user password or active access key unused for ${MAX_IDLE_DAYS} days`,
  control: 'AWS FSBP IAM.22',
  appliesTo: ['iam-user', 'iam-access-key'],
  evaluate(subject, now) {
    if (!isActiveOf(subject, iamCredentialsUnused.appliesTo)) return undefined;
    const { facts } = subject;
    const created = asDate(facts.createDate);

    if (subject.type === 'iam-user') {
      const password = consolePasswordOf(facts);
      if (password === undefined || !password.has) return undefined;
      let idle: string;
      if (password.lastUsed !== undefined) {
        if (daysSince(password.lastUsed, now) <= MAX_IDLE_DAYS) return undefined;
        idle = `last signed in with its console password ${dayAndAge(password.lastUsed, now)}`;
      } else {
        if (created === undefined || daysSince(created, now) <= MAX_IDLE_DAYS) return undefined;
        idle = `has a console password it has never used, and was created ${dayAndAge(created, now)}`;
      }
      return findingOf(
        iamCredentialsUnused,
        `The IAM user ${idle}: unused for more than ${MAX_IDLE_DAYS} days.`,
        'Delete its console password (delete the login profile) if nobody signs in as this user; a machine identity ' +
          'needs none. If a person still needs it, they should sign in through IAM Identity Center instead.',
      );
    }

    if (asString(facts.status) !== 'Active') return undefined;
    const user = asString(facts.user);
    const of = user === undefined ? '' : ` of IAM user ${user}`;
    let idle: string;
    if (facts.lastUsed === null) {
      if (created === undefined || daysSince(created, now) <= MAX_IDLE_DAYS) return undefined;
      idle = `has never been used since it was created ${dayAndAge(created, now)}`;
    } else {
      const lastUsed = asDate(asObject(facts.lastUsed)?.date);
      if (lastUsed === undefined || daysSince(lastUsed, now) <= MAX_IDLE_DAYS) return undefined;
      const service = asString(asObject(facts.lastUsed)?.serviceName);
      idle = `was last used ${dayAndAge(lastUsed, now)}${service === undefined ? '' : ` (${service})`}`;
    }
    return findingOf(
      iamCredentialsUnused,
      `Active access key${of} ${idle}: unused for more than ${MAX_IDLE_DAYS} days.`,
      'Deactivate the key, watch for failures for a while, then delete it. An unused key is only a liability.',
    );
  },
};
