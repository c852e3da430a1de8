import type { IdentityListFilter } from '#lib/domain/identity-catalog.ts';
import type { CertificateInventory, ListedIdentity } from '#lib/ports/certificate-inventory.ts';
import type { DiscoveredInventory } from '#lib/ports/discovered-inventory.ts';

/** One identity in a consolidation group: enough to find it and act on it. */
export interface ConsolidationMember {
  readonly identityId: string;
  readonly type: string;
  readonly source: string;
  readonly name: string;
  readonly account?: string;
  readonly owner?: string;
  /** A certificate in the duplicate-certificates group: who issued it. */
  readonly issuer?: string;
}

/** Candidates to merge or retire, with why and what to do. */
export interface ConsolidationGroup {
  readonly kind: string;
  readonly why: string;
  readonly action: string;
  /** How many were read (at most the cap); `truncated` when there are more. */
  readonly count: number;
  readonly truncated: boolean;
  /** The members, by AWS account (`-` for identities with none, such as issued certificates). */
  readonly byAccount: Readonly<Record<string, readonly ConsolidationMember[]>>;
}

export interface ConsolidationReport {
  readonly groups: readonly ConsolidationGroup[];
}

/** At most this many identities are read for one group: the report is a starting point, each group a listing. */
export const CONSOLIDATION_CAP = 1_000;
const PAGE = 100;

function member(identity: ListedIdentity): ConsolidationMember {
  const account = 'account' in identity ? identity.account : undefined;
  return {
    identityId: identity.identityId,
    type: identity.type,
    source: identity.source,
    name: identity.name,
    ...(account === undefined ? {} : { account }),
    ...(identity.owner === undefined ? {} : { owner: identity.owner }),
  };
}

/** Up to `cap` identities of a listing, and whether there were more. */
async function read(
  inventory: Pick<CertificateInventory, 'listIdentities'>,
  filter: IdentityListFilter,
  cap: number,
): Promise<{ items: ListedIdentity[]; truncated: boolean }> {
  const items: ListedIdentity[] = [];
  let cursor: string | undefined;
  do {
    const page = await inventory.listIdentities(filter, {
      limit: Math.min(PAGE, cap - items.length),
      ...(cursor === undefined ? {} : { cursor }),
    });
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== undefined && items.length < cap);
  return { items, truncated: cursor !== undefined };
}

function byAccount(members: readonly ConsolidationMember[]): Record<string, ConsolidationMember[]> {
  const groups: Record<string, ConsolidationMember[]> = {};
  for (const m of members) {
    const key = m.account ?? '-';
    groups[key] ??= [];
    groups[key].push(m);
  }
  return groups;
}

/** The groups read from a risk rule's listing: every identity it fires for is a candidate. */
const RULE_GROUPS: ReadonlyArray<{ kind: string; filter: IdentityListFilter; why: string; action: string }> = [
  {
    kind: 'unused-roles',
    filter: { rule: 'IAM_ROLE_UNUSED', status: 'active' },
    why: 'IAM roles not used for 90 days (or never, and created over 90 days ago): standing access nobody exercises.',
    action: 'Confirm with the owner, then delete the role (or remove its policies first and watch for breakage).',
  },
  {
    kind: 'unused-credentials',
    filter: { rule: 'IAM_CREDENTIALS_UNUSED', status: 'active' },
    why: 'Passwords and access keys unused for 45 days: credentials that can leak without anyone noticing.',
    action: 'Deactivate them, wait a cycle, then delete; remove console passwords from machine users.',
  },
  {
    kind: 'unused-secrets',
    filter: { rule: 'SECRET_UNUSED_90D', status: 'active' },
    why: 'Secrets not read for 90 days: values still valid somewhere, with no consumer left.',
    action: 'Schedule the secret for deletion (with a recovery window) after revoking what it grants.',
  },
  {
    kind: 'users-with-access-keys',
    filter: { type: 'iam-access-key', status: 'active' },
    why: 'Long-lived access keys of IAM users, where a role would give short-lived credentials.',
    action:
      'Move each workload to a role (instance profile, task role, IRSA, IAM Roles Anywhere or OIDC federation) and delete the key.',
  },
  {
    kind: 'shared-keys',
    filter: { rule: 'CERT_SHARED_KEY', status: 'active' },
    why: 'Certificates carrying the same key pair: one compromise is several, and none can be rotated alone.',
    action: 'Give each certificate its own key at its next renewal, then revoke the others.',
  },
  {
    kind: 'unowned',
    filter: { rule: 'OWNER_MISSING', status: 'active' },
    why: 'Identities without an owner: nobody to ask before rotating or retiring them.',
    action: 'Tag them with owner (or team), or set the owner with PATCH /v1/identities/{id}.',
  },
];

/**
 * What to consolidate: candidate groups to merge or retire, each read from a bounded listing (a risk rule's, or a
 * type's) capped at {@link CONSOLIDATION_CAP}, so the report costs what its groups hold, not the inventory; and
 * certificates for the same name from different sources (several live certificates where one would do).
 */
export async function consolidationReport(
  deps: {
    readonly inventory: Pick<CertificateInventory, 'listIdentities'>;
    readonly discovered: Pick<DiscoveredInventory, 'getMany'>;
  },
  cap: number = CONSOLIDATION_CAP,
): Promise<ConsolidationReport> {
  const groups: ConsolidationGroup[] = [];
  for (const group of RULE_GROUPS) {
    const { items, truncated } = await read(deps.inventory, group.filter, cap);
    const members = items.map(member);
    groups.push({
      kind: group.kind,
      why: group.why,
      action: group.action,
      count: members.length,
      truncated,
      byAccount: byAccount(members),
    });
  }
  // Several live certificates for one name from different issuers (our CA, Amazon's, a public or private CA): the
  // issuer of a discovered one is in its facts (read in batches); ours are this plane's.
  const certificates = await read(deps.inventory, { type: 'x509-certificate', status: 'active' }, cap);
  const discoveredIds = certificates.items.filter((c) => c.source !== 'issued').map((c) => c.identityId);
  const facts = discoveredIds.length === 0 ? new Map() : await deps.discovered.getMany(discoveredIds);
  const issuerOf = (certificate: ListedIdentity): string => {
    if (certificate.source === 'issued') return 'this control plane';
    const issuer = facts.get(certificate.identityId)?.facts.issuer;
    return typeof issuer === 'string' && issuer !== '' ? issuer : `unknown (${certificate.source})`;
  };
  const byName = new Map<string, Array<{ certificate: ListedIdentity; issuer: string }>>();
  for (const certificate of certificates.items) {
    const list = byName.get(certificate.name) ?? [];
    list.push({ certificate, issuer: issuerOf(certificate) });
    byName.set(certificate.name, list);
  }
  const duplicates = [...byName.values()]
    .filter((list) => new Set(list.map((c) => c.issuer)).size > 1)
    .flat()
    .map(({ certificate, issuer }) => ({ ...member(certificate), issuer }));
  groups.push({
    kind: 'duplicate-certificates',
    why: 'Several live certificates for the same name from different issuers (this plane, ACM, another CA; each member says which): more to renew, revoke and track than the service needs.',
    action: 'Keep one issuer per name (the plane issues and renews; ACM imports what it must), and retire the others.',
    count: duplicates.length,
    truncated: certificates.truncated,
    byAccount: byAccount(duplicates),
  });
  return { groups };
}
