import { z } from 'zod';
import { IDENTITY_STATUSES, IDENTITY_TYPES } from '#lib/domain/inventory.ts';
import { REQUESTABLE_REVOCATION_REASONS } from '#lib/domain/revocation-reason.ts';

/**
 * The zod schemas of every route's input, in one place: the handlers validate with them, and the API description is
 * generated from them. All objects are strict: an unknown field is an error, not something silently ignored.
 */

export const issueCertificateBody = z.strictObject({
  csr: z.string().min(1).max(60_000).describe('PEM-encoded PKCS#10 certificate signing request'),
  profile: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be a profile name such as "server" or "client"')
    .optional()
    .describe('certificate profile; defaults to "server"'),
  validity: z
    .string()
    .max(16)
    .optional()
    .describe('requested lifetime: an integer and a unit s, m, h or d, e.g. "24h"; defaults to the profile default'),
});

export const revokeCertificateBody = z.strictObject({
  reason: z.enum(REQUESTABLE_REVOCATION_REASONS).default('unspecified').describe('RFC 5280 CRLReason name'),
});

export const serialPathParams = z.strictObject({
  serial: z
    .string()
    .regex(/^[0-9a-fA-F]{1,40}$/, 'must be the certificate serial number in hex (at most 20 octets)')
    .transform((s) => s.toLowerCase()),
});

export const identityPathParams = z.strictObject({
  id: z.uuid('must be an identity id as returned by the API'),
});

export const listIdentitiesQuery = z.strictObject({
  type: z.enum(IDENTITY_TYPES).optional(),
  status: z.enum(IDENTITY_STATUSES).optional(),
  owner: z.string().min(1).max(2048).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).max(4096).optional(),
});

/**
 * What each route's input is, by the function that serves it. The handlers validate with these entries and the API
 * description is generated from them, so the two cannot differ.
 */
export const ROUTE_INPUTS = {
  'issue-certificate': { body: issueCertificateBody },
  'get-certificate': { params: serialPathParams },
  'revoke-certificate': { params: serialPathParams, body: revokeCertificateBody },
  'list-identities': { query: listIdentitiesQuery },
  'get-identity': { params: identityPathParams },
} as const satisfies Readonly<Record<string, RouteInputs>>;

export interface RouteInputs {
  readonly body?: z.ZodType;
  readonly query?: z.ZodType;
  readonly params?: z.ZodType;
}

/** The inputs of the route served by `fn`; none for routes that take no input. */
export function routeInputs(fn: string): RouteInputs {
  return (ROUTE_INPUTS as Readonly<Record<string, RouteInputs>>)[fn] ?? {};
}
