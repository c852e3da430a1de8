import { asDate, asString, dayAndAge, findingOf, isActiveOf } from '../facts.ts';
import type { RiskRule } from '../rule.ts';

/** The root user of an account, as an ARN. */
const ROOT_ARN = /^arn:aws[\w-]*:iam::\d{12}:root$/;

/**
 * An active access key of an account's root user. Reads an `iam-access-key` whose `userArn` is the root ARN
 * (`arn:aws:iam::<account>:root`) and `status` is `Active`. The `aws-iam` source records one such identity
 * (`<root ARN>/access-keys`) when GetAccountSummary's `AccountAccessKeysPresent` says the root user has keys.
 */
export const iamRootAccessKey: RiskRule = {
  code: 'IAM_ROOT_ACCESS_KEY',
  severity: 'critical',
  title: 'Root user access key exists',
  control: 'AWS FSBP IAM.4',
  appliesTo: ['iam-access-key'],
  evaluate(subject, now) {
    if (!isActiveOf(subject, iamRootAccessKey.appliesTo)) return undefined;
    const userArn = asString(subject.facts.userArn);
    if (userArn === undefined || !ROOT_ARN.test(userArn)) return undefined;
    if (asString(subject.facts.status) !== 'Active') return undefined;
    const created = asDate(subject.facts.createDate);
    return findingOf(
      iamRootAccessKey,
      `The root user of ${userArn.split(':')[4]} has an active access key` +
        `${created === undefined ? '' : `, created ${dayAndAge(created, now)}`}: it can do anything in the account, ` +
        'and no policy can limit it.',
      'Find what uses it (CloudTrail, GetAccessKeyLastUsed), move that to a role, then deactivate and delete the key ' +
        'while signed in as root. Protect the root user with MFA and keep no access keys for it.',
    );
  },
};
