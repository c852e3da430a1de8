import { activeAccessKeysOf, ago, consolePasswordOf, findingOf, isActiveOf, utcDayOf } from '../facts.ts';
import type { RiskRule } from '../rule.ts';

/**
 * An IAM user with both a console password and active access keys: a person's and a machine's credentials in one
 * identity. Reads `consolePassword` / `passwordLastUsed` (see {@link consolePasswordOf}) and `activeAccessKeys`, the
 * ids of the user's active keys, which the `aws-iam` source records on the user.
 */
export const iamUserConsoleAndKeys: RiskRule = {
  code: 'IAM_USER_CONSOLE_AND_KEYS',
  severity: 'medium',
  title: 'IAM user with both a console password and active access keys',
  appliesTo: ['iam-user'],
  evaluate(subject, now) {
    if (!isActiveOf(subject, iamUserConsoleAndKeys.appliesTo)) return undefined;
    const password = consolePasswordOf(subject.facts);
    const keys = activeAccessKeysOf(subject.facts);
    if (password === undefined || !password.has || keys === undefined || keys.length === 0) return undefined;
    const signIn =
      password.lastUsed === undefined
        ? 'has a console password'
        : `signs in to the console (last on ${utcDayOf(password.lastUsed)}, ${ago(password.lastUsed, now)})`;
    const which =
      keys.length === 1
        ? `an active access key (${keys[0]})`
        : `${keys.length} active access keys (${keys.join(', ')})`;
    return findingOf(
      iamUserConsoleAndKeys,
      `The IAM user ${signIn} and has ${which}.`,
      'Split it: people sign in through IAM Identity Center, and the machine keeps its own identity (a role, or a user ' +
        "without a console password). Then delete this user's login profile or its access keys.",
    );
  },
};
