import { assessRisk } from '#lib/domain/risk/rules.ts';
import { riskSubjectOfIssued, sameRisk, storedRiskOf } from '#lib/domain/risk/subject.ts';
import { parseValidity } from '#lib/domain/validity.ts';
import type { CertificateInventory } from '#lib/ports/certificate-inventory.ts';
import type { Clock } from '#lib/ports/clock.ts';
import type { PolicyStore } from '#lib/ports/policy-store.ts';

export interface RescoreIssuedRiskDeps {
  readonly inventory: Pick<CertificateInventory, 'listCertificatesExpiring' | 'getIdentity' | 'recordRiskUpdate'>;
  readonly policyStore: Pick<PolicyStore, 'listPolicies'>;
  readonly clock: Clock;
}

/** How far back a sweep looks: it catches up on a week of missed days. */
const CATCH_UP_MS = 7 * 86_400_000;
/** The expiry index is read a page at a time. */
const PAGE = 100;
/** The longest window the expiry index is read over (one year, its bound). */
const MAX_WINDOW_MS = 365 * 86_400_000;

/**
 * The longest renewal window any current policy gives (its `renewBefore`, else a third of its longest validity): a
 * certificate whose renewal fell due since the last sweep expires within that of now.
 */
async function longestRenewalWindowMs(deps: Pick<RescoreIssuedRiskDeps, 'policyStore'>): Promise<number> {
  let longest = 0;
  for (const stored of await deps.policyStore.listPolicies()) {
    const { renewBefore, validity } = stored.document;
    const window = renewBefore === undefined ? parseValidity(validity.max) / 3 : parseValidity(renewBefore);
    longest = Math.max(longest, window * 1000);
  }
  return Math.min(longest, MAX_WINDOW_MS);
}

/**
 * The daily sweep that keeps issued identities' risk true as time passes: an issued certificate's assessment moves
 * with the clock only when its renewal falls due or it expires, so the sweep reads only the active certificates
 * expiring between a week ago and the longest renewal window ahead (the sparse expiry index: its cost grows with the
 * certificates due, not with the inventory), reassesses each one's identity, and writes those whose assessment moved
 * (each write publishes `IdentityRiskChanged` when the level moved). Discovered identities are reassessed by every
 * discovery run instead. Idempotent: a second sweep the same day writes nothing.
 * @returns how many certificates it read and identities it rewrote.
 */
export async function rescoreIssuedRisk(deps: RescoreIssuedRiskDeps): Promise<{ read: number; rescored: number }> {
  const now = deps.clock.now();
  const from = new Date(now.getTime() - CATCH_UP_MS);
  const to = new Date(now.getTime() + (await longestRenewalWindowMs(deps)) + 86_400_000);
  let read = 0;
  let rescored = 0;
  let cursor: string | undefined;
  do {
    const page = await deps.inventory.listCertificatesExpiring(from, to, {
      limit: PAGE,
      ...(cursor === undefined ? {} : { cursor }),
    });
    for (const certificate of page.items) {
      read++;
      const identity = await deps.inventory.getIdentity(certificate.identityId);
      if (identity === undefined || identity.currentSerialNumber !== certificate.serialNumber) continue;
      const risk = storedRiskOf(assessRisk(riskSubjectOfIssued(identity, certificate), now));
      if (sameRisk(identity.risk, risk)) continue;
      // A concurrent change (a PATCH, a revocation) wins: it assessed the identity itself.
      const next = { ...identity, risk, updatedAt: now.toISOString(), version: identity.version + 1 };
      if (await deps.inventory.recordRiskUpdate(next)) rescored++;
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return { read, rescored };
}
