import { ConflictError } from './errors.ts';

/**
 * What people say of an identity, beside what its source says: set with `PATCH /v1/identities/{id}` and kept across
 * discovery runs. A manual `owner` wins over the one derived from tags (discovered) or from issuance (issued).
 */
export interface IdentityAnnotations {
  readonly owner?: string;
  readonly purpose?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

/**
 * 409 `IDENTITY_VERSION_MISMATCH`: the identity is no longer at the version a change named in If-Match (another
 * change, a revocation or a discovery run came first). `currentVersion` when it is known.
 */
export function identityVersionMismatch(
  identityId: string,
  known: { readonly currentVersion?: number; readonly cause?: unknown } = {},
): ConflictError {
  const now = known.currentVersion === undefined ? '' : ` (it is at version ${known.currentVersion})`;
  return new ConflictError(
    'IDENTITY_VERSION_MISMATCH',
    `Identity ${identityId} changed since you read it${now}. GET /v1/identities/${identityId} again and retry with its ETag in If-Match.`,
    {
      ...(known.currentVersion === undefined ? {} : { details: { currentVersion: known.currentVersion } }),
      ...(known.cause === undefined ? {} : { cause: known.cause }),
    },
  );
}

/** A change to an identity's annotations: a value sets the field, `null` clears it, absent leaves it. */
export interface AnnotationPatch {
  readonly owner?: string | null | undefined;
  readonly purpose?: string | null | undefined;
  readonly tags?: Readonly<Record<string, string>> | null | undefined;
}

/** The annotations after a patch, stamped with who and when. */
export function patchAnnotations(
  current: IdentityAnnotations | undefined,
  patch: AnnotationPatch,
  by: string,
  at: string,
): IdentityAnnotations {
  const pick = <K extends 'owner' | 'purpose' | 'tags'>(key: K): IdentityAnnotations[K] | undefined => {
    const value = patch[key];
    if (value === undefined) return current?.[key];
    return value === null ? undefined : (value as IdentityAnnotations[K]);
  };
  const owner = pick('owner');
  const purpose = pick('purpose');
  const tags = pick('tags');
  return {
    ...(owner === undefined ? {} : { owner }),
    ...(purpose === undefined ? {} : { purpose }),
    ...(tags === undefined ? {} : { tags }),
    updatedAt: at,
    updatedBy: by,
  };
}

/** The owner an identity has: the manual one when set, else the one its source or issuance gave it. */
export function effectiveOwner(
  annotations: IdentityAnnotations | undefined,
  derived: string | undefined,
): string | undefined {
  return annotations?.owner ?? derived;
}
