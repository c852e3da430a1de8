import type { DiscoveredIdentity } from '#lib/domain/discovery.ts';
import type { IdentityRecord } from '#lib/domain/inventory.ts';
import type { IdentityDetail } from '#lib/use-cases/read-inventory.ts';

/**
 * How the API shows one identity: the record (a discovered one with its facts, first seen, last change and when it
 * was last seen), with `source` saying which kind it is, and the certificates linked to it.
 */
export function identityDetailView(detail: IdentityDetail): Record<string, unknown> {
  if (detail.kind === 'issued') return { ...detail.identity, certificates: detail.certificates };
  return {
    ...detail.identity,
    ...(detail.lastSeenAt === undefined ? {} : { lastSeenAt: detail.lastSeenAt }),
    certificates: detail.certificates,
  };
}

/** The ETag of an identity: its version, quoted; `PATCH /v1/identities/{id}` names it in If-Match. */
export function identityETag(identity: Pick<IdentityRecord | DiscoveredIdentity, 'version'>): string {
  return `"${identity.version}"`;
}
