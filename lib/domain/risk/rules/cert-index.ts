import type { RiskRule } from '../rule.ts';
import { certChainInvalid } from './cert-chain-invalid.ts';
import { certExpired } from './cert-expired.ts';
import { certExpiringDeployed } from './cert-expiring-deployed.ts';
import { certNameMismatch } from './cert-name-mismatch.ts';
import { certRenewalDue } from './cert-renewal-due.ts';
import { certRevokedStillServed } from './cert-revoked-still-served.ts';
import { certSelfSignedOnEndpoint } from './cert-self-signed-on-endpoint.ts';
import { certSharedKey } from './cert-shared-key.ts';
import { certValidityTooLong } from './cert-validity-too-long.ts';
import { certWeakKey } from './cert-weak-key.ts';
import { certWeakSignature } from './cert-weak-signature.ts';
import { certWildcard } from './cert-wildcard.ts';

/** Every certificate rule, most severe first; codes are unique. */
export const CERTIFICATE_RULES: readonly RiskRule[] = [
  certExpiringDeployed,
  certRevokedStillServed,
  certExpired,
  certWeakKey,
  certWeakSignature,
  certChainInvalid,
  certNameMismatch,
  certRenewalDue,
  certSelfSignedOnEndpoint,
  certSharedKey,
  certValidityTooLong,
  certWildcard,
];
