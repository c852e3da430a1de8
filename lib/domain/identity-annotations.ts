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
