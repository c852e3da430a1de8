import { asDate, asString, asStrings, dayAndAge, findingOf, isActiveOf } from '../facts.ts';
import type { RiskRule } from '../rule.ts';

/**
 * A customer managed, symmetric encryption KMS key, enabled, with automatic rotation off: `keyManager: CUSTOMER`,
 * `keySpec: SYMMETRIC_DEFAULT`, `keyUsage: ENCRYPT_DECRYPT`, `keyState: Enabled` and `rotationEnabled: false` of the
 * `aws-kms` source. Keys KMS cannot rotate (`rotationEnabled: "not-applicable"`: asymmetric, HMAC, imported material,
 * custom key stores), whose rotation is unknown (`null`), AWS managed keys (KMS rotates them yearly) and keys not
 * enabled (disabled, pending deletion) do not fire.
 */
export const kmsRotationDisabled: RiskRule = {
  code: 'KMS_ROTATION_DISABLED',
  severity: 'medium',
  title: 'Customer managed KMS key without automatic rotation',
  control: 'AWS FSBP KMS.4',
  appliesTo: ['kms-key'],
  evaluate(subject, now) {
    if (!isActiveOf(subject, kmsRotationDisabled.appliesTo)) return undefined;
    const { facts } = subject;
    if (
      facts.rotationEnabled !== false ||
      asString(facts.keyManager) !== 'CUSTOMER' ||
      asString(facts.keySpec) !== 'SYMMETRIC_DEFAULT' ||
      asString(facts.keyUsage) !== 'ENCRYPT_DECRYPT' ||
      asString(facts.keyState) !== 'Enabled'
    ) {
      return undefined;
    }
    const created = asDate(facts.creationDate);
    const aliases = asStrings(facts.aliases) ?? [];
    const named = aliases.length === 0 ? '' : ` (${aliases.join(', ')})`;
    return findingOf(
      kmsRotationDisabled,
      `Automatic rotation is off for this symmetric encryption key${named}` +
        `${created === undefined ? '' : `, created ${dayAndAge(created, now)}`}: it has used the same key material since.`,
      'Turn on automatic key rotation (EnableKeyRotation; every 365 days by default, 90 to 2560 days allowed). ' +
        'Rotation keeps the key id and ARN and old ciphertext stays decryptable, so nothing that uses the key changes.',
    );
  },
};
