import { z } from 'zod';
import { TLS_ENDPOINTS_PER_UNIT } from './tls-discovery.ts';
import { assertTargetsAllowed, expandTargets, parseAllowedRanges } from './tls-targets.ts';

/** The role discovery assumes in an account when its entry names none. */
export const DEFAULT_DISCOVERY_ROLE_NAME = 'MimDiscoveryReadOnly';

const accountId = z.string().regex(/^\d{12}$/, 'an AWS account id is 12 digits');
const region = z.string().regex(/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/, 'an AWS region such as "eu-west-1"');
const roleArn = z
  .string()
  .regex(
    /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/,
    'an IAM role ARN such as "arn:aws:iam::111122223333:role/MimDiscoveryReadOnly"',
  );

/**
 * EventBridge Scheduler's `rate(...)` (at least 5 minutes: a run over many accounts takes a while, and a shorter rate
 * only makes runs overlap) or `cron(...)` with six fields.
 */
const schedule = z.string().superRefine((value, ctx) => {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(value);
  if (rate) {
    const [amount, unit] = [Number(rate[1]), rate[2] ?? ''];
    const minutes = amount * (unit.startsWith('minute') ? 1 : unit.startsWith('hour') ? 60 : 1440);
    if (amount < 1 || (amount === 1) !== !unit.endsWith('s')) {
      ctx.addIssue({
        code: 'custom',
        message: 'write "rate(1 hour)" or "rate(6 hours)": a positive number, singular for 1',
      });
    } else if (minutes < 5) {
      ctx.addIssue({ code: 'custom', message: 'runs at most every 5 minutes' });
    }
    return;
  }
  if (!/^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$/.test(value)) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be "rate(<n> <minutes|hours|days>)" or "cron(<6 fields>)", e.g. "rate(6 hours)"',
    });
  }
});

/** The period of a `rate(...)` schedule in milliseconds, or undefined for a `cron(...)` one (or anything else). */
export function rateMilliseconds(expression: string): number | undefined {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!rate) return undefined;
  const unit = rate[2] ?? '';
  const minutes = unit.startsWith('minute') ? 1 : unit.startsWith('hour') ? 60 : 1440;
  return Number(rate[1]) * minutes * 60_000;
}

/** The accounts discovery reads: a list, or every active account of the organization. */
const accounts = z.union([
  z
    .array(z.strictObject({ accountId, roleArn: roleArn.optional() }))
    .min(1)
    .max(1000)
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      for (const [index, entry] of list.entries()) {
        if (seen.has(entry.accountId)) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'accountId'],
            message: `account ${entry.accountId} is listed twice`,
          });
        }
        seen.add(entry.accountId);
        if (entry.roleArn !== undefined && !entry.roleArn.includes(`::${entry.accountId}:`)) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'roleArn'],
            message: 'the role must be in the account it reads',
          });
        }
      }
    }),
  z.strictObject({ organization: z.literal(true) }),
]);

/** The longest a TLS unit may take with every endpoint timing out, inside the worker's 300 s timeout. */
const TLS_UNIT_BUDGET_SECONDS = 240;

/** Allowed ranges of the local plane when the configuration sets none: loopback only. */
export const LOCAL_TLS_ALLOWED_RANGES: readonly string[] = ['127.0.0.0/8', '::1/128'];

/** `discovery.tls`: the endpoints every run scans, and the only addresses the scanner may ever connect to. */
const tlsConfig = z
  .strictObject({
    targets: z
      .array(z.string())
      .max(4096)
      .default([])
      .superRefine((targets, ctx) => {
        try {
          expandTargets(targets);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      })
      .describe(
        'host:port, ip:port, [ipv6]:port or a CIDR range with a port (10.0.0.0/28:443); at most 4,096 addresses',
      ),
    allowedRanges: z
      .array(z.string())
      .max(256)
      .superRefine((ranges, ctx) => {
        try {
          parseAllowedRanges(ranges);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      })
      .optional()
      .describe('CIDR ranges the scanner may connect to; default 127.0.0.0/8 and ::1/128 locally, none in AWS'),
    concurrency: z.number().int().min(1).max(256).default(32).describe('endpoints scanned at once by one unit'),
    connectTimeoutMs: z.number().int().min(100).max(30_000).default(3000),
    handshakeTimeoutMs: z.number().int().min(100).max(30_000).default(5000),
  })
  .superRefine((tls, ctx) => {
    // A unit (256 endpoints) must end well inside the worker's 5 minutes even if every endpoint hangs.
    const worstSeconds =
      (Math.ceil(TLS_ENDPOINTS_PER_UNIT / tls.concurrency) * (tls.connectTimeoutMs + tls.handshakeTimeoutMs)) / 1000;
    if (worstSeconds > TLS_UNIT_BUDGET_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['concurrency'],
        message: `a unit of ${TLS_ENDPOINTS_PER_UNIT} endpoints that all time out would take ${worstSeconds} s (at most ${TLS_UNIT_BUDGET_SECONDS}): raise concurrency or lower the timeouts`,
      });
    }
    // With ranges set here, an address or range target outside them is a mistake to report now, not at every run.
    if (tls.allowedRanges === undefined) return;
    try {
      assertTargetsAllowed(tls.targets, tls.allowedRanges);
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['targets'], message: (error as Error).message });
    }
  })
  .default({ targets: [], concurrency: 32, connectTimeoutMs: 3000, handshakeTimeoutMs: 5000 });
export type TlsDiscoveryConfig = z.output<typeof tlsConfig>;

/** The ranges the scanner may connect to: the configured ones, else loopback locally and nothing in AWS. */
export function tlsAllowedRanges(config: TlsDiscoveryConfig, where: 'local' | 'aws'): readonly string[] {
  return config.allowedRanges ?? (where === 'local' ? LOCAL_TLS_ALLOWED_RANGES : []);
}

/** `discovery` in `mim.config.json`: what is read, where, and how often. */
export const discoveryConfigSchema = z
  .strictObject({
    schedule: schedule.default('rate(6 hours)').describe('how often a run starts in AWS (off locally unless set)'),
    missingAfterRuns: z
      .number()
      .int()
      .min(1)
      .max(30)
      .default(2)
      .describe('completed runs without an identity before it is missing'),
    aws: z
      .strictObject({
        regions: z.array(region).min(1).max(40).optional().describe("default: the deployment's region"),
        accounts: accounts.optional().describe('default: the account of the credentials in use'),
        externalId: z
          .string()
          .regex(/^[\w+=,.@:/-]{2,1224}$/, '2 to 1224 letters, digits or +=,.@:/-')
          .optional()
          .describe('passed on every AssumeRole; required by the member accounts role'),
      })
      .default({})
      .superRefine((aws, ctx) => {
        const assumes =
          aws.accounts !== undefined &&
          ('organization' in aws.accounts ||
            aws.accounts.some((a) => a.roleArn !== undefined) ||
            aws.accounts.length > 1);
        if (assumes && aws.externalId === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['externalId'],
            message: 'set an externalId: every role discovery assumes in another account requires it',
          });
        }
      }),
    tls: tlsConfig,
  })
  .default({
    schedule: 'rate(6 hours)',
    missingAfterRuns: 2,
    aws: {},
    tls: { targets: [], concurrency: 32, connectTimeoutMs: 3000, handshakeTimeoutMs: 5000 },
  });
export type DiscoveryConfig = z.output<typeof discoveryConfigSchema>;
