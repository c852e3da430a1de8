import { ListAccountsCommand, type OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { z } from 'zod';
import { DEFAULT_DISCOVERY_ROLE_NAME, type DiscoveryConfig } from '#lib/domain/discovery-config.ts';
import { InternalError } from '#lib/domain/errors.ts';
import { type Clock, systemClock } from '#lib/ports/clock.ts';

/** One account discovery reads, and the role named for it in the configuration (none: the default role, if any). */
export interface DiscoveryAccount {
  readonly accountId: string;
  readonly roleArn: string | undefined;
}

/** The session name every AssumeRole carries unless told otherwise: it shows in the member account's CloudTrail. */
export const DISCOVERY_SESSION_NAME = 'mim-discovery';
/**
 * The session length asked for. Discovery runs with a Lambda role's credentials, so every AssumeRole here is role
 * chaining, which STS caps at one hour whatever the role's MaxSessionDuration.
 */
export const DISCOVERY_SESSION_SECONDS = 3600;
/**
 * Credentials are renewed this long before they expire, so that a call signed just before the deadline still arrives
 * in time. The SDK's clients treat credentials as expired from the same point (five minutes before), so a client asks
 * again exactly when this cache would renew.
 */
export const DISCOVERY_REFRESH_BEFORE_MS = 5 * 60_000;

/** The largest page ListAccounts returns. */
const ORGANIZATION_PAGE_SIZE = 20;
/**
 * Upper bound on ListAccounts pages. Organizations may answer short (even empty) pages with a NextToken; even at one
 * account a page this is above any organization's account quota, and it stops a service that never finishes.
 */
const MAX_ORGANIZATION_PAGES = 20_000;
/**
 * Consecutive pages that hand back the token they were given, before the listing is given up. Tokens are opaque and
 * the service may answer empty pages, so one repeat is not proof of a loop; twenty in a row are.
 */
const MAX_STALLED_PAGES = 20;
/** The partition the default role ARN is built in when the caller names none. */
const DEFAULT_PARTITION = 'aws';
/** What STS accepts as a RoleSessionName. */
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/**
 * Discovery could not learn which accounts to read, or could not get credentials for one of them. The message says
 * what failed and what to check; it names account ids and role ARNs only (never a credential) and becomes the reason
 * of the failed part of a run. `details` carries `account`, `roleArn` and `reason` (the AWS error name) where known.
 */
export class DiscoveryAccountError extends InternalError {
  readonly account: string | undefined;
  readonly roleArn: string | undefined;
  readonly reason: string;

  constructor(
    code: string,
    message: string,
    fields: { account?: string; roleArn?: string; reason: string },
    cause?: unknown,
  ) {
    super(code, message, { details: { ...fields }, cause });
    this.account = fields.account;
    this.roleArn = fields.roleArn;
    this.reason = fields.reason;
  }
}

const callerIdentitySchema = z.object({
  Account: z.string().regex(/^\d{12}$/),
  Arn: z.string().regex(/^arn:[\w-]+:/),
});

/** Who the credentials in use belong to: account id, ARN, and the partition (`aws`, `aws-us-gov`, `aws-cn`…). */
export interface CallerIdentity {
  readonly account: string;
  readonly arn: string;
  readonly partition: string;
}

/**
 * STS `GetCallerIdentity` with the client's own credentials, parsed. A composition root calls it once to learn the
 * account it runs in (for {@link discoveryCredentials}) and its partition. Fails with a {@link DiscoveryAccountError}
 * (code `DISCOVERY_CALLER_UNKNOWN`).
 */
export async function callerIdentity(sts: STSClient): Promise<CallerIdentity> {
  let output: unknown;
  try {
    output = await sts.send(new GetCallerIdentityCommand({}));
  } catch (error) {
    throw new DiscoveryAccountError(
      'DISCOVERY_CALLER_UNKNOWN',
      `Discovery could not tell which account its credentials belong to: sts:GetCallerIdentity failed with ${errorName(error)}.`,
      { reason: errorName(error) },
      error,
    );
  }
  const parsed = callerIdentitySchema.safeParse(output);
  if (!parsed.success) {
    throw new DiscoveryAccountError(
      'DISCOVERY_CALLER_UNKNOWN',
      'Discovery could not tell which account its credentials belong to: sts:GetCallerIdentity answered an unexpected shape.',
      { reason: 'InvalidResponse' },
      parsed.error,
    );
  }
  const { Account, Arn } = parsed.data;
  return { account: Account, arn: Arn, partition: Arn.split(':')[1] ?? DEFAULT_PARTITION };
}

/**
 * The accounts a discovery run reads, from `discovery.aws` of the configuration:
 * - a list of accounts: that list, in its order, each with the role it names (if any);
 * - `{ organization: true }`: every active account of the organization (Organizations `ListAccounts`, all pages),
 *   sorted by account id, none with a role (each gets the default role, or the caller's own credentials for its own
 *   account). Needs the management account or a delegated administrator: elsewhere this fails with a
 *   {@link DiscoveryAccountError} (`DISCOVERY_ORGANIZATION_UNREADABLE`) saying so;
 * - absent: the account of the credentials in use (STS `GetCallerIdentity`), with no role.
 */
export async function resolveDiscoveryAccounts(
  config: DiscoveryConfig['aws'],
  clients: { readonly sts: STSClient; readonly organizations: OrganizationsClient },
): Promise<DiscoveryAccount[]> {
  const accounts = config.accounts;
  if (accounts === undefined) {
    const caller = await callerIdentity(clients.sts);
    return [{ accountId: caller.account, roleArn: undefined }];
  }
  if ('organization' in accounts) return organizationAccounts(clients.organizations);
  return accounts.map((entry) => ({ accountId: entry.accountId, roleArn: entry.roleArn }));
}

const organizationPageSchema = z.object({
  Accounts: z
    .array(
      z.object({
        Id: z.string().regex(/^\d{12}$/),
        // `Status` is being retired in favour of `State`; while both may come, `State` is the one that stays.
        Status: z.string().optional(),
        State: z.string().optional(),
      }),
    )
    .default([]),
  NextToken: z.string().min(1).optional(),
});

async function organizationAccounts(organizations: OrganizationsClient): Promise<DiscoveryAccount[]> {
  const active = new Set<string>();
  let nextToken: string | undefined;
  let stalled = 0;
  for (let page = 0; page < MAX_ORGANIZATION_PAGES; page++) {
    const output = await listAccountsPage(organizations, nextToken);
    for (const account of output.Accounts) {
      if ((account.State ?? account.Status) === 'ACTIVE') active.add(account.Id);
    }
    if (output.NextToken === undefined) {
      return [...active].sort().map((accountId) => ({ accountId, roleArn: undefined }));
    }
    stalled = output.NextToken === nextToken ? stalled + 1 : 0;
    if (stalled >= MAX_STALLED_PAGES) {
      throw organizationError('InvalidResponse', 'Organizations keeps handing back the page token it was given.');
    }
    nextToken = output.NextToken;
  }
  throw organizationError(
    'TooManyPages',
    `Organizations did not finish listing accounts in ${MAX_ORGANIZATION_PAGES} pages.`,
  );
}

async function listAccountsPage(
  organizations: OrganizationsClient,
  nextToken: string | undefined,
): Promise<z.infer<typeof organizationPageSchema>> {
  let output: unknown;
  try {
    output = await organizations.send(
      new ListAccountsCommand({
        MaxResults: ORGANIZATION_PAGE_SIZE,
        ...(nextToken === undefined ? {} : { NextToken: nextToken }),
      }),
    );
  } catch (error) {
    const name = errorName(error);
    if (name === 'AccessDeniedException') {
      throw organizationError(
        name,
        'discovery.aws.accounts is { "organization": true }, but the credentials in use may not list the ' +
          "organization's accounts (organizations:ListAccounts was denied): only the management account or a " +
          'delegated administrator account can. Run discovery from one of those, or list the accounts in ' +
          'discovery.aws.accounts instead.',
        error,
      );
    }
    if (name === 'AWSOrganizationsNotInUseException') {
      throw organizationError(
        name,
        'discovery.aws.accounts is { "organization": true }, but the account of the credentials in use is not in ' +
          'an organization. List the accounts in discovery.aws.accounts instead.',
        error,
      );
    }
    throw organizationError(name, `organizations:ListAccounts failed with ${name}.`, error);
  }
  const parsed = organizationPageSchema.safeParse(output);
  if (!parsed.success) {
    throw organizationError(
      'InvalidResponse',
      'organizations:ListAccounts answered an unexpected shape.',
      parsed.error,
    );
  }
  return parsed.data;
}

function organizationError(reason: string, message: string, cause?: unknown): DiscoveryAccountError {
  return new DiscoveryAccountError(
    'DISCOVERY_ORGANIZATION_UNREADABLE',
    `Discovery could not list the organization's accounts: ${message}`,
    { reason },
    cause,
  );
}

/**
 * How to reach one account:
 * - `default`: with the credentials the function already has (the SDK's default chain). Build the clients without a
 *   `credentials` option.
 * - `assumed`: through AssumeRole of `roleArn`. Pass `provider` as the clients' `credentials`. It caches and renews
 *   the session and shares it between clients; it rejects with a {@link DiscoveryAccountError}
 *   (`DISCOVERY_ASSUME_ROLE_FAILED`) when the role cannot be assumed. The SDK hands that error on unchanged, but a
 *   source wraps what its calls throw, so await `provider()` once before reading an account: a failure then reaches
 *   the run with its own message.
 */
export type DiscoveryCredentials =
  | { readonly kind: 'default' }
  | { readonly kind: 'assumed'; readonly roleArn: string; readonly provider: AwsCredentialIdentityProvider };

/** The role discovery assumes in `accountId` when the configuration names none. */
export function defaultDiscoveryRoleArn(accountId: string, partition = DEFAULT_PARTITION): string {
  return `arn:${partition}:iam::${accountId}:role/${DEFAULT_DISCOVERY_ROLE_NAME}`;
}

const assumeRoleSchema = z.object({
  Credentials: z.object({
    AccessKeyId: z.string().min(16),
    SecretAccessKey: z.string().min(1),
    SessionToken: z.string().min(1),
    Expiration: z.date(),
  }),
});

/** Temporary credentials: STS always gives them an expiry. */
type SessionCredentials = AwsCredentialIdentity & { readonly expiration: Date };

interface CachedSession {
  credentials?: SessionCredentials;
  inFlight?: Promise<SessionCredentials>;
}

/**
 * Chooses the credentials for each account of a run. The caller's own account, when its entry names no role, is read
 * with the caller's credentials (`{ kind: 'default' }`). Every other account, and any entry that names a role, is read
 * through AssumeRole of `roleArn ?? arn:<partition>:iam::<account>:role/MimDiscoveryReadOnly`, with `externalId`,
 * RoleSessionName `sessionName` (default `mim-discovery`) and one hour.
 *
 * Sessions are cached per role for the life of the returned function and renewed 5 minutes before they expire (by
 * `clock`); concurrent callers of one role share the AssumeRole in flight. A failed AssumeRole is not cached: the next
 * call tries again. Throws a {@link DiscoveryAccountError} (`DISCOVERY_EXTERNAL_ID_MISSING`) for an account that
 * needs a role when no external id is configured, since the member role refuses every AssumeRole without one.
 */
export function discoveryCredentials(options: {
  readonly sts: STSClient;
  readonly callerAccount: string;
  readonly externalId: string | undefined;
  readonly sessionName?: string;
  /** The partition of the default role ARN (see {@link callerIdentity}); default `aws`. */
  readonly partition?: string;
  readonly clock?: Clock;
}): (account: DiscoveryAccount) => DiscoveryCredentials {
  const { sts, callerAccount, externalId } = options;
  const sessionName = options.sessionName ?? DISCOVERY_SESSION_NAME;
  const partition = options.partition ?? DEFAULT_PARTITION;
  const clock = options.clock ?? systemClock;
  if (!SESSION_NAME.test(sessionName)) {
    throw new Error(`The session name "${sessionName}" is not 2 to 64 letters, digits or +=,.@-.`);
  }
  const sessions = new Map<string, CachedSession>();

  async function assume(account: string, roleArn: string, external: string): Promise<SessionCredentials> {
    let output: unknown;
    try {
      output = await sts.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: sessionName,
          ExternalId: external,
          DurationSeconds: DISCOVERY_SESSION_SECONDS,
        }),
      );
    } catch (error) {
      throw assumeRoleError(account, roleArn, error);
    }
    const parsed = assumeRoleSchema.safeParse(output);
    if (!parsed.success) {
      throw new DiscoveryAccountError(
        'DISCOVERY_ASSUME_ROLE_FAILED',
        `Discovery could not assume ${roleArn} for account ${account}: sts:AssumeRole answered an unexpected shape.`,
        { account, roleArn, reason: 'InvalidResponse' },
        parsed.error,
      );
    }
    const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = parsed.data.Credentials;
    return {
      accessKeyId: AccessKeyId,
      secretAccessKey: SecretAccessKey,
      sessionToken: SessionToken,
      expiration: Expiration,
    };
  }

  function provider(account: string, roleArn: string, external: string): AwsCredentialIdentityProvider {
    return async () => {
      let session = sessions.get(roleArn);
      if (session === undefined) {
        session = {};
        sessions.set(roleArn, session);
      }
      const cached = session.credentials;
      if (cached && clock.now().getTime() < cached.expiration.getTime() - DISCOVERY_REFRESH_BEFORE_MS) return cached;
      if (session.inFlight) return session.inFlight;
      const entry = session;
      const inFlight = assume(account, roleArn, external).then(
        (credentials) => {
          entry.credentials = credentials;
          delete entry.inFlight;
          return credentials;
        },
        (error: unknown) => {
          delete entry.inFlight;
          throw error;
        },
      );
      entry.inFlight = inFlight;
      return inFlight;
    };
  }

  return (account) => {
    if (account.accountId === callerAccount && account.roleArn === undefined) return { kind: 'default' };
    const roleArn = account.roleArn ?? defaultDiscoveryRoleArn(account.accountId, partition);
    if (externalId === undefined) {
      throw new DiscoveryAccountError(
        'DISCOVERY_EXTERNAL_ID_MISSING',
        `Discovery must assume ${roleArn} to read account ${account.accountId}, but no external id is configured: ` +
          'set discovery.aws.externalId to the one the MimDiscoveryMember stack was deployed with.',
        { account: account.accountId, roleArn, reason: 'ExternalIdMissing' },
      );
    }
    return { kind: 'assumed', roleArn, provider: provider(account.accountId, roleArn, externalId) };
  };
}

function assumeRoleError(account: string, roleArn: string, error: unknown): DiscoveryAccountError {
  const reason = errorName(error);
  // STS answers AccessDenied alike for a missing role, a trust policy that does not name us and a wrong external id
  // (it does not tell a caller which roles exist), so the message lists all three.
  const advice =
    reason === 'AccessDenied'
      ? ` Check that the role exists in account ${account} (deploy the MimDiscoveryMember stack there), that it trusts ` +
        "the control plane's discovery role, and that the stack's external id is discovery.aws.externalId."
      : reason === 'RegionDisabledException'
        ? ' STS is not activated in the region the control plane calls it in: activate it for that region.'
        : '';
  return new DiscoveryAccountError(
    'DISCOVERY_ASSUME_ROLE_FAILED',
    `Discovery could not assume ${roleArn} to read account ${account}: sts:AssumeRole failed with ${reason}.${advice}`,
    { account, roleArn, reason },
    error,
  );
}

/** The SDK's service errors carry the AWS error code as `name`; network errors carry a `code` such as ECONNREFUSED. */
function errorName(error: unknown): string {
  if (error instanceof Error) {
    if (error.name !== 'Error' && error.name !== '') return error.name;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
  }
  return 'UnknownError';
}
