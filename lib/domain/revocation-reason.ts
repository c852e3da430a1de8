/**
 * RFC 5280 §5.3.1 CRLReason names and their enumerated values. Value 7 is unused by the RFC and
 * `removeFromCRL` (8) only applies to delta CRLs, so neither can be requested.
 */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

export type RevocationReason = keyof typeof REVOCATION_REASONS;

export const REVOCATION_REASON_NAMES = Object.keys(REVOCATION_REASONS) as [RevocationReason, ...RevocationReason[]];

/**
 * Reasons a caller may give. certificateHold is left out: revocation here is final, and a hold would promise that it
 * could be undone.
 */
export const REQUESTABLE_REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'privilegeWithdrawn',
  'aACompromise',
] as const satisfies readonly RevocationReason[];
