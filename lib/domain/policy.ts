import { z } from 'zod';
import { discoveryConfigSchema } from './discovery-config.ts';
import { parseIpRange } from './ip-address.ts';
import { normalizeDnsName, normalizeUri } from './name-normalizer.ts';
import { parseValidity } from './validity.ts';

/**
 * The policy document format: what `mim.config.json` holds, what the CDK stack takes as props and what
 * `PUT /v1/policies/{name}` accepts. One zod schema validates all three, so they cannot differ.
 */

/** Extended key usages a policy can grant. */
export const EXTENDED_KEY_USAGES = ['serverAuth', 'clientAuth'] as const;
export type ExtendedKeyUsage = (typeof EXTENDED_KEY_USAGES)[number];

export const KEY_TYPES = ['EC_P256', 'EC_P384', 'RSA', 'ED25519'] as const;

export const ROLES = ['admin', 'operator', 'auditor', 'workload'] as const;
export type Role = (typeof ROLES)[number];

/** Variables a name, subject or tag template may use; each comes from the requester's authenticated identity. */
export const TEMPLATE_VARIABLES = ['account', 'roleName', 'userName', 'principalName'] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

const TEMPLATE_REFERENCE = /\{([^{}]*)\}/g;

/** The template with each variable replaced by a sample value, or an error naming an unknown variable. */
function sampleOf(template: string): string | { error: string } {
  let error: string | undefined;
  const sample = template.replace(TEMPLATE_REFERENCE, (_, name: string) => {
    if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name)) {
      error = `unknown template variable {${name}}; use ${TEMPLATE_VARIABLES.map((v) => `{${v}}`).join(', ')}`;
    }
    return 'sample';
  });
  if (error) return { error };
  if (/[{}]/.test(sample)) return { error: 'unbalanced "{" or "}"' };
  return sample;
}

/** A string whose sample rendering must pass `check` (which throws to refuse it). */
function template(what: string, check: (sample: string) => void) {
  return z
    .string()
    .min(1)
    .max(1024)
    .superRefine((value, ctx) => {
      const sample = sampleOf(value);
      if (typeof sample !== 'string') {
        ctx.addIssue({ code: 'custom', message: sample.error });
        return;
      }
      try {
        check(sample);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `must be ${what}: ${(error as Error).message}` });
      }
    });
}

const dnsName = template(
  'a DNS name in lower-case ASCII (IDNA A-labels), e.g. "{roleName}.svc.example.internal"',
  (s) => {
    const n = normalizeDnsName(s);
    if (n.value !== s) throw new Error('write it in lower case');
  },
);
const dnsZone = template('a DNS zone such as "payments.example.internal"', (s) => {
  const n = normalizeDnsName(s);
  if (n.wildcard) throw new Error('a zone has no "*" label: every name below it is allowed');
  if (n.value !== s) throw new Error('write it in lower case');
});
const uriPattern = template(
  'a URI, or a URI ending in "/*" for any path below it, e.g. "spiffe://example.internal/ns/{account}/sa/{roleName}"',
  (s) => {
    normalizeUri(s.endsWith('/*') ? `${s.slice(0, -2)}/x` : s);
  },
);
const ipRange = z
  .string()
  .max(64)
  .refine((s) => parseIpRange(s) !== undefined, 'must be a CIDR range with no host bits set, e.g. "10.1.0.0/16"');
const validity = z
  .string()
  .max(16)
  .superRefine((value, ctx) => {
    try {
      parseValidity(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

/**
 * Who a policy or role applies to: IAM role or user ARN patterns (`*` any run of characters, `?` one), e.g.
 * `arn:aws:iam::123456789012:role/payments-*`, or local principals `local:<name>` (bearer tokens of `npm start`).
 * Assumed-role sessions are matched by their role ARN, which carries no path: write role patterns without one.
 */
export const principalPattern = z
  .string()
  .max(512)
  .regex(
    /^(arn:aws(-[a-z]+)*:iam::(\d{12}|\*):(role|user)\/[A-Za-z0-9+=,.@_\-/*?]+|local:[a-z0-9*?._-]+)$/,
    'must be an IAM role or user ARN pattern such as "arn:aws:iam::123456789012:role/payments-*", or "local:<name>"',
  );

/** Which names a rule set covers. Every entry may use template variables. */
export const nameRulesSchema = z.strictObject({
  dnsNames: z.array(dnsName).max(1000).default([]).describe('exact DNS names; "*.zone" is a wildcard certificate'),
  dnsSuffixes: z.array(dnsZone).max(1000).default([]).describe('zones: any name below one, at any depth'),
  ipRanges: z.array(ipRange).max(1000).default([]).describe('CIDR ranges of IP address names'),
  uris: z.array(uriPattern).max(1000).default([]).describe('exact URIs, or "<prefix>/*" for SPIFFE-style paths'),
});
export type NameRulesDocument = z.output<typeof nameRulesSchema>;

const tagKey = z.string().regex(/^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/, 'tag keys are letters, digits and _ . : -');
const tagValue = template('a tag value of printable characters', (s) => {
  if (!/^[\x20-\x7e]{0,256}$/.test(s)) throw new Error('at most 256 printable ASCII characters');
});

const subjectText = template('printable text up to 64 characters', (s) => {
  if (!/^[\x20-\x7e]{1,64}$/.test(s)) throw new Error('1 to 64 printable ASCII characters');
});

export const policyNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be 1-64 lower-case letters, digits or hyphens, starting with a letter');

/** One issuance policy. */
export const policyDocumentSchema = z
  .strictObject({
    name: policyNameSchema,
    description: z.string().max(500).optional(),
    principals: z.array(principalPattern).min(1).max(100).describe('who may use this policy'),
    allow: nameRulesSchema.describe('names the principals may get'),
    deny: nameRulesSchema.optional().describe('names refused even when an allow rule of any policy matches'),
    allowWildcardCertificates: z.boolean().default(false),
    keyTypes: z.array(z.enum(KEY_TYPES)).min(1).default(['EC_P256', 'EC_P384', 'RSA', 'ED25519']),
    minRsaBits: z.number().int().min(2048).max(8192).default(2048),
    validity: z
      .strictObject({ default: validity.default('24h'), max: validity.default('30d') })
      .default({ default: '24h', max: '30d' })
      .refine((v) => notLonger(v.default, v.max), 'default must not exceed max')
      .refine((v) => notLonger(v.max, '398d'), 'max is at most 398d'),
    extendedKeyUsages: z.array(z.enum(EXTENDED_KEY_USAGES)).min(1).default(['serverAuth']),
    subject: z
      .strictObject({
        commonName: z.enum(['first-dns-name', 'none']).default('first-dns-name'),
        organization: subjectText.optional(),
        organizationalUnit: subjectText.optional(),
      })
      .default({ commonName: 'first-dns-name' }),
    renewBefore: validity.optional().describe('renew this long before expiry; default a third of the lifetime'),
    tags: z
      .record(tagKey, tagValue)
      .default({})
      .refine((t) => Object.keys(t).length <= 20, 'at most 20 tags')
      .describe('stamped on every identity this policy issues, e.g. owner and purpose'),
  })
  .refine((p) => p.keyTypes.includes('RSA') || p.minRsaBits === 2048, {
    message: 'minRsaBits only applies when keyTypes includes RSA',
    path: ['minRsaBits'],
  });
export type PolicyDocument = z.output<typeof policyDocumentSchema>;
export type PolicyDocumentInput = z.input<typeof policyDocumentSchema>;

/** Seconds of a duration, or undefined when malformed (the field's own check reports that). */
function secondsOf(text: string): number | undefined {
  try {
    return parseValidity(text);
  } catch {
    return undefined;
  }
}

/** Whether `a` ≤ `b` as durations; true when either is malformed, which the fields' own checks report. */
function notLonger(a: string, b: string): boolean {
  const [x, y] = [secondsOf(a), secondsOf(b)];
  return x === undefined || y === undefined || x <= y;
}

const uniqueNames = (policies: readonly { name: string }[], ctx: z.RefinementCtx) => {
  const seen = new Set<string>();
  for (const [index, policy] of policies.entries()) {
    if (seen.has(policy.name)) {
      ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate policy name "${policy.name}"` });
    }
    seen.add(policy.name);
  }
};

/** The whole configuration document (`mim.config.json`). */
export const mimConfigSchema = z.strictObject({
  $schema: z.string().optional(),
  version: z.literal(1),
  roles: z
    .strictObject(
      Object.fromEntries(ROLES.map((r) => [r, z.array(principalPattern).max(100).default([])])) as Record<
        Role,
        z.ZodDefault<z.ZodArray<typeof principalPattern>>
      >,
    )
    .describe('who holds each role: IAM ARN patterns in AWS, local:<name> locally'),
  deny: nameRulesSchema.optional().describe('names no policy may issue'),
  policies: z.array(policyDocumentSchema).max(500).default([]).superRefine(uniqueNames),
  enrollmentTokens: z
    .strictObject({ defaultTtl: validity.default('1h'), maxTtl: validity.default('24h') })
    .default({ defaultTtl: '1h', maxTtl: '24h' })
    .refine((t) => notLonger(t.defaultTtl, t.maxTtl), 'defaultTtl must not exceed maxTtl'),
  discovery: discoveryConfigSchema.describe('which accounts and regions discovery reads, and how often'),
  localPrincipals: z
    .array(z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lower-case letters, digits, ".", "_" or "-"'))
    .max(50)
    .default(['admin'])
    .describe('npm start only: a bearer token is created for each, acting as local:<name>; ignored in AWS'),
});
export type MimConfig = z.output<typeof mimConfigSchema>;
export type MimConfigInput = z.input<typeof mimConfigSchema>;

/** One line per problem, each naming the offending field, e.g. `policies[0].allow.dnsNames[1]: must be …`. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.reduce<string>(
      (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)),
      '',
    );
    return `${path || '(document)'}: ${issue.message}`;
  });
}

/**
 * Validates a configuration document.
 * @throws Error whose message lists every problem with the field it is in.
 */
export function parseMimConfig(input: unknown, source = 'configuration'): MimConfig {
  const parsed = mimConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new Error(`Invalid ${source}:\n  ${formatIssues(parsed.error).join('\n  ')}`);
  }
  return parsed.data;
}
