import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { ValidationError } from '#lib/domain/errors.ts';
import type { SubjectAltName } from '#lib/domain/inventory.ts';
import { nameKey, type PolicySet } from '#lib/domain/policy-engine.ts';
import type { Principal } from '#lib/domain/principal.ts';
import { formatDuration, parseValidity } from '#lib/domain/validity.ts';
import type { Clock } from '#lib/ports/clock.ts';
import type { EnrollmentTokenStore } from '#lib/ports/enrollment-token-store.ts';

export interface CreateEnrollmentTokenDeps {
  readonly tokens: EnrollmentTokenStore;
  readonly policies: () => Promise<PolicySet>;
  readonly clock: Clock;
  /** From the configuration's `enrollmentTokens`. */
  readonly defaultTtl: string;
  readonly maxTtl: string;
}

export interface CreateEnrollmentTokenCommand {
  readonly policy: string;
  readonly names: readonly SubjectAltName[];
  readonly ttl?: string | undefined;
  readonly owner?: string | undefined;
}

export interface EnrollmentTokenView {
  /** Shown once: only its SHA-256 is stored. */
  readonly token: string;
  readonly tokenId: string;
  readonly policy: string;
  readonly names: readonly SubjectAltName[];
  readonly expiresAt: string;
}

/**
 * Creates a one-time enrollment token for a machine that has no AWS identity. The policy must allow the names now
 * (a token that could never be used is refused up front); the token is 256 random bits, returned once and stored
 * only as its SHA-256, with the audit entry, in one transaction.
 * @throws ValidationError `TTL_TOO_LONG`, `VALIDITY_INVALID`, `POLICY_UNKNOWN`, name errors; AuthorizationError from
 *   the policy.
 */
export async function createEnrollmentToken(
  deps: CreateEnrollmentTokenDeps,
  principal: Principal,
  command: CreateEnrollmentTokenCommand,
): Promise<EnrollmentTokenView> {
  const ttlSeconds = parseValidity(command.ttl ?? deps.defaultTtl);
  const maxSeconds = parseValidity(deps.maxTtl);
  if (ttlSeconds > maxSeconds) {
    throw new ValidationError(
      'TTL_TOO_LONG',
      `Enrollment tokens live at most ${formatDuration(maxSeconds)}; ask for a shorter ttl.`,
      { details: { maxTtlSeconds: maxSeconds } },
    );
  }
  const policies = await deps.policies();
  const names = policies.checkBinding(command.policy, command.names);
  const token = `mimet_${randomBytes(32).toString('base64url')}`;
  const tokenHash = createHash('sha256').update(token, 'utf8').digest('hex');
  const tokenId = tokenHash.slice(0, 16);
  const now = deps.clock.now();
  const at = now.toISOString();
  const expiresAt = new Date(now.getTime() + ttlSeconds * 1000).toISOString();
  await deps.tokens.createToken(
    {
      tokenHash,
      tokenId,
      policy: command.policy,
      names: names.map(nameKey),
      ...(command.owner === undefined ? {} : { owner: command.owner }),
      createdAt: at,
      createdBy: principal.id,
      expiresAt,
    },
    {
      eventId: randomUUID(),
      at,
      action: 'EnrollmentTokenCreated',
      actor: principal.id,
      target: `enrollment-token/${tokenId}`,
      details: { policy: command.policy, names: names.map((n) => n.value).join(','), expiresAt },
    },
  );
  return {
    token,
    tokenId,
    policy: command.policy,
    names: names.map(({ type, value }) => ({ type, value })),
    expiresAt,
  };
}
