import { asBoolean, asDate, asString, dayAndAge, findingOf, isActiveOf } from '../facts.ts';
import type { RiskRule } from '../rule.ts';

/**
 * A secret without automatic rotation: `rotationEnabled: false` of the `aws-secrets-manager` source. A secret
 * scheduled for deletion (`deletedDate`) is left out.
 */
export const secretRotationDisabled: RiskRule = {
  code: 'SECRET_ROTATION_DISABLED',
  severity: 'medium',
  title: 'Secrets Manager secret without automatic rotation',
  control: 'AWS FSBP SecretsManager.1',
  appliesTo: ['secret'],
  evaluate(subject, now) {
    if (!isActiveOf(subject, secretRotationDisabled.appliesTo)) return undefined;
    const { facts } = subject;
    if (asBoolean(facts.rotationEnabled) !== false || typeof facts.deletedDate === 'string') return undefined;
    const lastRotated = asDate(facts.lastRotatedDate);
    const created = asDate(facts.createdDate);
    const history =
      lastRotated !== undefined
        ? `last rotated ${dayAndAge(lastRotated, now)}`
        : `never rotated${created === undefined ? '' : ` since it was created ${dayAndAge(created, now)}`}`;
    const service = asString(facts.owningService);
    return findingOf(
      secretRotationDisabled,
      `Automatic rotation is off for this secret: ${history}.`,
      service === undefined
        ? 'Turn on automatic rotation with a rotation function (Secrets Manager provides them for RDS, Redshift, ' +
            'DocumentDB and others) and a schedule of 90 days or less; if the credential cannot be rotated, replace ' +
            'it with one that can, or with a role.'
        : `The secret is managed by ${service}: turn on rotation in ${service}'s own settings for it.`,
    );
  },
};
