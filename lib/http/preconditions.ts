import { ControlPlaneError, ValidationError } from '#lib/domain/errors.ts';
import { identityWriteHeaders, policyWriteHeaders } from './api-schemas.ts';

/**
 * The version a policy write expects, from `If-Match: "<version>"` (replace that version) or `If-None-Match: *`
 * (create; expected version 0). A write without either is refused with 428, so no change is ever made blind.
 * @param creating whether `If-None-Match: *` is acceptable (PUT) or not (DELETE).
 */
export function expectedVersion(headers: Readonly<Record<string, string | undefined>>, creating: boolean): number {
  const parsed = policyWriteHeaders.parse({
    'if-match': headers['if-match'],
    'if-none-match': headers['if-none-match'],
  });
  if (parsed['if-match'] !== undefined && parsed['if-none-match'] !== undefined) {
    throw new ValidationError('PRECONDITION_CONFLICT', 'Send either If-Match or If-None-Match, not both.');
  }
  if (parsed['if-match'] !== undefined) return parsed['if-match'];
  if (parsed['if-none-match'] !== undefined && creating) return 0;
  throw new ControlPlaneError(
    'PRECONDITION_REQUIRED',
    428,
    creating
      ? 'Send If-Match: "<version>" (the ETag of GET /v1/policies/{name}) to replace a policy, or If-None-Match: * to create one.'
      : 'Send If-Match: "<version>" (the ETag of GET /v1/policies/{name}) to delete a policy.',
  );
}

/**
 * The version a change of another resource expects, from `If-Match: "<version>"`; 428 without it.
 * @param readWith the request that reads the resource and its ETag, for the error message.
 */
export function ifMatchVersion(headers: Readonly<Record<string, string | undefined>>, readWith: string): number {
  const parsed = identityWriteHeaders.parse({ 'if-match': headers['if-match'] });
  if (parsed['if-match'] !== undefined) return parsed['if-match'];
  throw new ControlPlaneError(
    'PRECONDITION_REQUIRED',
    428,
    `Send If-Match: "<version>" with the ETag of ${readWith}, so that a change is never made blind.`,
  );
}
