import { z } from 'zod';
import { DISCOVERED_IDENTITY_ID, DISCOVERY_SOURCES } from '#lib/domain/discovery.ts';
import { ALL_IDENTITY_STATUSES, ALL_IDENTITY_TYPES, IDENTITY_SOURCES } from '#lib/domain/identity-catalog.ts';
import { EXTENDED_KEY_USAGES, policyDocumentSchema, policyNameSchema } from '#lib/domain/policy.ts';
import { REQUESTABLE_REVOCATION_REASONS } from '#lib/domain/revocation-reason.ts';
import { RISK_RULE_CODES } from '#lib/domain/risk/rules.ts';
import { MAX_SCAN_ADDRESSES } from '#lib/domain/tls-targets.ts';

/**
 * The zod schemas of every route's input, in one place: the handlers validate with them, and the API description is
 * generated from them. All objects are strict: an unknown field is an error, not something silently ignored.
 */

export const issueCertificateBody = z.strictObject({
  csr: z.string().min(1).max(60_000).describe('PEM-encoded PKCS#10 certificate signing request'),
  policy: policyNameSchema
    .optional()
    .describe(
      'the policy to issue under; by default the first policy that applies to the caller and allows the request',
    ),
  validity: z
    .string()
    .max(16)
    .optional()
    .describe('requested lifetime: an integer and a unit s, m, h or d, e.g. "24h"; defaults to the policy default'),
  extendedKeyUsages: z
    .array(z.enum(EXTENDED_KEY_USAGES))
    .min(1)
    .max(EXTENDED_KEY_USAGES.length)
    .optional()
    .describe("a subset of the policy's extended key usages; all of them by default"),
});

/** `Idempotency-Key`: a retry with the same key and body gets the first answer, never a second effect. */
export const idempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .optional()
    .describe('1-255 characters of A-Z a-z 0-9 . _ : - (a UUID is a good choice); kept 24 hours'),
});

const versionTag = z
  .string()
  .regex(/^(W\/)?"?\d{1,10}"?$/, 'must be the version from the ETag, e.g. "3"')
  .transform((v) => Number(v.replace(/\D/g, '')));

/** Optimistic concurrency of policy writes: `If-Match` names the version replaced, `If-None-Match: *` creates. */
export const policyWriteHeaders = z.object({
  'if-match': versionTag.optional().describe('the version (ETag) this write replaces'),
  'if-none-match': z.literal('*').optional().describe('"*" to create a policy that must not exist yet'),
});

export const policyPathParams = z.strictObject({ name: policyNameSchema });

export const putPolicyBody = policyDocumentSchema;

const requestedName = z.strictObject({
  type: z.enum(['dns', 'ip', 'uri']),
  value: z.string().min(1).max(2048),
});

export const createEnrollmentTokenBody = z.strictObject({
  policy: policyNameSchema.describe('the policy the certificate will be issued under'),
  names: z.array(requestedName).min(1).max(100).describe('the exact names the token may be used for'),
  ttl: z.string().max(16).optional().describe('how long the token stays valid, e.g. "15m"; default from config'),
  owner: z.string().min(1).max(256).optional().describe('stamped as owner on the identity issued with the token'),
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
  id: z.union([z.uuid(), z.string().regex(DISCOVERED_IDENTITY_ID)], {
    error: 'must be an identity id as returned by the API (a UUID, or d-… for a discovered identity)',
  }),
});

const accountId = z.string().regex(/^\d{12}$/, 'an AWS account id is 12 digits');

export const listIdentitiesQuery = z.strictObject({
  type: z.enum(ALL_IDENTITY_TYPES).optional().describe('the kind of identity'),
  source: z.enum(IDENTITY_SOURCES).optional().describe('issued by this plane, or the discovery source that found it'),
  status: z.enum(ALL_IDENTITY_STATUSES).optional(),
  owner: z.string().min(1).max(2048).optional().describe('its owner (not with account or risk)'),
  account: accountId.optional().describe('the AWS account a discovered identity is in (not with owner or risk)'),
  risk: z
    .enum(['low', 'medium', 'high', 'critical'])
    .optional()
    .describe('that risk level or worse (not with owner or account)'),
  rule: z
    .enum(RISK_RULE_CODES as [string, ...string[]], { error: 'must be the code of a risk rule (see the README)' })
    .optional()
    .describe('identities this risk rule fires for, by its code (not with owner or account)'),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).max(4096).optional(),
});

export const consolidationQuery = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(1000)
    .describe('at most this many identities read for each group (1..1000); a group says when it has more'),
});

export const listAuditEventsQuery = z.strictObject({
  day: z.iso.date('must be a UTC day, YYYY-MM-DD').describe('the UTC day whose audit entries to list'),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).max(4096).optional(),
});

export const startDiscoveryRunBody = z.strictObject({
  sources: z
    .array(z.enum(DISCOVERY_SOURCES))
    .min(1)
    .max(DISCOVERY_SOURCES.length)
    .refine((list) => new Set(list).size === list.length, 'list each source once')
    .optional()
    .describe('the sources to read; all by default'),
  accounts: z
    .array(accountId)
    .min(1)
    .max(1000)
    .refine((list) => new Set(list).size === list.length, 'list each account once')
    .optional()
    .describe('the accounts to read, among those configured; all by default'),
  tls: z
    .strictObject({
      targets: z
        .array(z.string().min(1).max(300))
        .min(1)
        .max(MAX_SCAN_ADDRESSES)
        .describe('host:port, ip:port, [ipv6]:port or a CIDR range with a port (127.0.0.0/30:8443)'),
    })
    .optional()
    .describe('endpoints this run scans instead of discovery.tls.targets (with "tls" among the sources)'),
});

/** `If-Match` on an identity: the version (its ETag) the change applies to. */
export const identityWriteHeaders = z.object({
  'if-match': versionTag.optional().describe('the version (ETag of GET /v1/identities/{id}) this change applies to'),
});

const annotationTags = z
  .record(
    z.string().regex(/^[\w.:/=+@-]{1,128}$/, 'a tag key is 1-128 letters, digits or _ . : / = + @ -'),
    z.string().max(256, 'a tag value is at most 256 characters'),
  )
  .refine((tags) => Object.keys(tags).length <= 50, 'at most 50 tags');

/** `PATCH /v1/identities/{id}`: a value sets the field, `null` clears it, an absent field is left as it is. */
export const updateIdentityBody = z
  .strictObject({
    owner: z.string().trim().min(1).max(256).nullable().optional().describe('who owns it; wins over tags'),
    purpose: z.string().trim().min(1).max(1024).nullable().optional().describe('what it is for'),
    tags: annotationTags.nullable().optional().describe("the control plane's tags for it (replaced as a whole)"),
  })
  .refine((body) => Object.values(body).some((v) => v !== undefined), 'send at least one of owner, purpose, tags');

export const discoveryRunPathParams = z.strictObject({
  id: z.string().regex(/^\d{8}T\d{6}Z-[A-Za-z0-9]{1,32}$/, 'must be a run id as returned by POST /v1/discovery/runs'),
});

export const listDiscoveryRunsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/**
 * What each route's input is, by the function that serves it. The handlers validate with these entries and the API
 * description is generated from them, so the two cannot differ.
 */
export const ROUTE_INPUTS = {
  'issue-certificate': { body: issueCertificateBody, headers: idempotencyHeaders },
  'get-certificate': { params: serialPathParams },
  'revoke-certificate': { params: serialPathParams, body: revokeCertificateBody, headers: idempotencyHeaders },
  'list-identities': { query: listIdentitiesQuery },
  'get-identity': { params: identityPathParams },
  'update-identity': { params: identityPathParams, body: updateIdentityBody, headers: identityWriteHeaders },
  'get-consolidation': { query: consolidationQuery },
  // Its body is NDJSON, validated line by line (lib/domain/identity-import.ts), not a JSON document.
  'import-identities': {},
  'list-policies': {},
  'get-policy': { params: policyPathParams },
  'put-policy': { params: policyPathParams, body: putPolicyBody, headers: policyWriteHeaders },
  'delete-policy': { params: policyPathParams, headers: policyWriteHeaders },
  'create-enrollment-token': { body: createEnrollmentTokenBody, headers: idempotencyHeaders },
  'list-audit-events': { query: listAuditEventsQuery },
  'start-discovery-run': { body: startDiscoveryRunBody },
  'get-discovery-run': { params: discoveryRunPathParams },
  'list-discovery-runs': { query: listDiscoveryRunsQuery },
} as const satisfies Readonly<Record<string, RouteInputs>>;

export interface RouteInputs {
  readonly body?: z.ZodType;
  readonly query?: z.ZodType;
  readonly params?: z.ZodType;
  /** Headers the route reads (documented; unknown headers are of course allowed). */
  readonly headers?: z.ZodType;
}

/** The inputs of the route served by `fn`; none for routes that take no input. */
export function routeInputs(fn: string): RouteInputs {
  return (ROUTE_INPUTS as Readonly<Record<string, RouteInputs>>)[fn] ?? {};
}
