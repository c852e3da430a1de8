import type { StoredPolicy } from '#lib/ports/policy-store.ts';

/** How the API shows a stored policy: its metadata beside the document it would accept back in a PUT. */
export function policyView(stored: StoredPolicy): Record<string, unknown> {
  return {
    name: stored.document.name,
    version: stored.version,
    updatedAt: stored.updatedAt,
    updatedBy: stored.updatedBy,
    source: stored.source,
    policy: stored.document,
  };
}

/** The ETag of a stored policy: its version, quoted. */
export function policyETag(stored: Pick<StoredPolicy, 'version'>): string {
  return `"${stored.version}"`;
}
