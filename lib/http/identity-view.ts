import type { DiscoveredIdentity } from '#lib/domain/discovery.ts';
import type { IdentityRecord } from '#lib/domain/inventory.ts';
import type { IdentityDetail } from '#lib/use-cases/read-inventory.ts';

/**
 * How the API shows one identity: the record (a discovered one with its facts, first seen, last change and when it
 * was last seen), with `source` saying which kind it is, the certificates linked to it, and its risk as of now:
 * `risk` (score, level) and `findings` (rule, severity, explanation, remediation, control).
 */
export function identityDetailView(detail: IdentityDetail): Record<string, unknown> {
  const risk = { risk: { score: detail.risk.score, level: detail.risk.level }, findings: detail.risk.findings };
  if (detail.kind === 'issued') return { ...detail.identity, certificates: detail.certificates, ...risk };
  return {
    ...detail.identity,
    ...(detail.lastSeenAt === undefined ? {} : { lastSeenAt: detail.lastSeenAt }),
    certificates: detail.certificates,
    ...risk,
  };
}

/** The ETag of an identity: its version, quoted; `PATCH /v1/identities/{id}` names it in If-Match. */
export function identityETag(identity: Pick<IdentityRecord | DiscoveredIdentity, 'version'>): string {
  return `"${identity.version}"`;
}
