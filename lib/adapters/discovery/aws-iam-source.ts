import {
  GetAccessKeyLastUsedCommand,
  GetAccountAuthorizationDetailsCommand,
  GetAccountSummaryCommand,
  GetLoginProfileCommand,
  IAMClient,
  type IAMClientConfig,
  ListAccessKeysCommand,
  ListMFADevicesCommand,
  ListRolesCommand,
  ListUsersCommand,
} from '@aws-sdk/client-iam';
import { z } from 'zod';
import { type Facts, type FactValue, GLOBAL_REGION, type Observation } from '#lib/domain/discovery.ts';
import { InternalError, ValidationError } from '#lib/domain/errors.ts';
import type { DiscoveryScope, DiscoverySource, ObservationPage } from '#lib/ports/discovery-source.ts';
import { mapWithConcurrency } from '../map-with-concurrency.ts';
import { DiscoveryReadError, INVALID_RESPONSE, readAws } from './discovery-read-error.ts';
import {
  adminActionFacts,
  analyseTrust,
  byCodeUnit,
  type NamedPolicy,
  type PolicyDocument,
  parsePolicyDocument,
  privilegeEscalationFacts,
  unreadablePolicies,
  wildcardServiceActionFacts,
} from './iam-policy-facts.ts';
import { utcDay } from './utc-day.ts';

const SOURCE = 'aws-iam' as const;

/** Observations per yielded page. */
export const AWS_IAM_PAGE_SIZE = 100;
/**
 * IAM calls in flight at once for the per-user reads (MFA devices, login profile, access keys), and for the
 * account-wide reads: IAM's throttling cannot be raised.
 */
export const AWS_IAM_CONCURRENCY = 4;
/** Attempts per IAM call in {@link createIamDiscoveryClient}: the SDK default is 3; IAM throttles bursts readily. */
export const AWS_IAM_MAX_ATTEMPTS = 8;

/** The largest page the list APIs return. */
const MAX_ITEMS = 1000;
/**
 * Upper bound on the pages one listing may take. GetAccountAuthorizationDetails may answer short or empty pages while
 * `IsTruncated` is true; an account holds at most 5,000 roles, 5,000 users, 300 groups and 1,500 customer managed
 * policies (IAM quotas), so this is far above any honest listing and stops a service that never finishes.
 */
const MAX_PAGES = 10_000;
/** Consecutive truncated pages that hand back the marker they were given, before the listing is given up. */
const MAX_STALLED_PAGES = 20;
/** Users whose per-user reads are made together, before their observations are handed on. */
const USER_BATCH = 20;

/**
 * The `IAMClient` this source wants: adaptive retry (client-side rate limiting once IAM throttles: its limits cannot be
 * raised) and {@link AWS_IAM_MAX_ATTEMPTS} attempts. A composition root passes the account's credentials; the SDK
 * resolves the rest (IAM is global: any region signs for its partition's endpoint, and `AWS_ENDPOINT_URL_IAM` points it
 * at an emulator).
 */
export function createIamDiscoveryClient(
  config: { readonly region?: string; readonly credentials?: NonNullable<IAMClientConfig['credentials']> } = {},
): IAMClient {
  return new IAMClient({
    ...(config.region === undefined ? {} : { region: config.region }),
    ...(config.credentials === undefined ? {} : { credentials: config.credentials }),
    retryMode: 'adaptive',
    maxAttempts: AWS_IAM_MAX_ATTEMPTS,
  });
}

/** Builds the `aws-iam` source over a client built for one account (see {@link createIamDiscoveryClient}). */
export function createAwsIamSource(deps: { readonly client: IAMClient }): AwsIamSource {
  return new AwsIamSource(deps.client);
}

// What IAM returns, parsed: the SDK's types make every member optional, and we rely on some of them.
const tagsSchema = z.array(z.object({ Key: z.string(), Value: z.string() })).default([]);
const inlinePoliciesSchema = z.array(z.object({ PolicyName: z.string(), PolicyDocument: z.string() })).default([]);
const attachedPoliciesSchema = z.array(z.object({ PolicyArn: z.string() })).default([]);
const boundarySchema = z.object({ PermissionsBoundaryArn: z.string().optional() }).optional();
const userDetailSchema = z.object({
  Path: z.string(),
  UserName: z.string(),
  UserId: z.string(),
  Arn: z.string(),
  CreateDate: z.date(),
  UserPolicyList: inlinePoliciesSchema,
  GroupList: z.array(z.string()).default([]),
  AttachedManagedPolicies: attachedPoliciesSchema,
  PermissionsBoundary: boundarySchema,
  Tags: tagsSchema,
});
const roleDetailSchema = z.object({
  Path: z.string(),
  RoleName: z.string(),
  RoleId: z.string(),
  Arn: z.string(),
  CreateDate: z.date(),
  AssumeRolePolicyDocument: z.string().optional(),
  InstanceProfileList: z.array(z.object({ InstanceProfileName: z.string() })).default([]),
  RolePolicyList: inlinePoliciesSchema,
  AttachedManagedPolicies: attachedPoliciesSchema,
  PermissionsBoundary: boundarySchema,
  Tags: tagsSchema,
  RoleLastUsed: z.object({ LastUsedDate: z.date().optional(), Region: z.string().optional() }).optional(),
});
const groupDetailSchema = z.object({
  GroupName: z.string(),
  GroupPolicyList: inlinePoliciesSchema,
  AttachedManagedPolicies: attachedPoliciesSchema,
});
const managedPolicySchema = z.object({
  Arn: z.string(),
  DefaultVersionId: z.string().optional(),
  PolicyVersionList: z
    .array(
      z.object({
        Document: z.string().optional(),
        VersionId: z.string().optional(),
        IsDefaultVersion: z.boolean().optional(),
      }),
    )
    .default([]),
});
const pagingSchema = { IsTruncated: z.boolean().optional(), Marker: z.string().optional() };
const authorizationDetailsSchema = z.object({
  UserDetailList: z.array(userDetailSchema).default([]),
  GroupDetailList: z.array(groupDetailSchema).default([]),
  RoleDetailList: z.array(roleDetailSchema).default([]),
  Policies: z.array(managedPolicySchema).default([]),
  ...pagingSchema,
});
const listRolesSchema = z.object({
  Roles: z.array(z.object({ Arn: z.string(), MaxSessionDuration: z.number().int().optional() })).default([]),
  ...pagingSchema,
});
const listUsersSchema = z.object({
  Users: z.array(z.object({ Arn: z.string(), PasswordLastUsed: z.date().optional() })).default([]),
  ...pagingSchema,
});
const listAccessKeysSchema = z.object({
  AccessKeyMetadata: z
    .array(
      z.object({ AccessKeyId: z.string(), Status: z.enum(['Active', 'Inactive', 'Expired']), CreateDate: z.date() }),
    )
    .default([]),
  ...pagingSchema,
});
const accessKeyLastUsedSchema = z.object({
  AccessKeyLastUsed: z
    .object({ LastUsedDate: z.date().optional(), ServiceName: z.string().optional(), Region: z.string().optional() })
    .optional(),
});
const listMfaDevicesSchema = z.object({
  MFADevices: z.array(z.object({ SerialNumber: z.string() })).default([]),
  ...pagingSchema,
});
const loginProfileSchema = z.object({ LoginProfile: z.object({ UserName: z.string(), CreateDate: z.date() }) });
// IAM always sends AccountAccessKeysPresent: a summary without it is not read as "no root keys".
const accountSummarySchema = z.object({
  SummaryMap: z.object({ AccountAccessKeysPresent: z.number().int().nonnegative() }),
});

type UserDetail = z.infer<typeof userDetailSchema>;
type RoleDetail = z.infer<typeof roleDetailSchema>;
type AccessKey = z.infer<typeof listAccessKeysSchema>['AccessKeyMetadata'][number];

/** A group's policies, named as seen from its members. */
interface GroupPolicies {
  readonly inline: readonly NamedPolicy[];
  readonly attached: readonly string[];
}

/**
 * What GetAccountAuthorizationDetails said, kept compact while pages arrive: documents are parsed at once, and of a
 * managed policy only its default version is kept (IAM returns every version).
 */
interface AuthorizationDetails {
  readonly users: UserDetail[];
  readonly roles: RoleDetail[];
  readonly groups: Map<string, GroupPolicies>;
  readonly managedPolicies: Map<string, PolicyDocument | undefined>;
}

interface Keyed {
  /** Where this observation sits in the order the source yields them; the page marker is the last one's. */
  readonly key: string;
  readonly observation: Observation;
}

const MARKER_PREFIX = 'v1.';

/**
 * The `aws-iam` discovery source: the roles, users and access keys of one account, global to it.
 *
 * Reads `GetAccountAuthorizationDetails` (users, roles, groups, local and AWS managed policies) to its end before
 * analysing anything: a user's groups and the managed policies attached to a principal may arrive on later pages than
 * the principal, and the risk facts need the principal's effective policies. Memory is bounded by the account's IAM
 * size, which IAM itself bounds (5,000 roles and 5,000 users at most, documents of a few KB, and only the default
 * version of each managed policy is kept). It also lists roles and users (`ListRoles`, `ListUsers`), because
 * GetAccountAuthorizationDetails does not give a role's maximum session duration nor a user's last password use, and
 * reads `GetAccountSummary`, whose `AccountAccessKeysPresent` says whether the root user has access keys (the root
 * user is not an IAM user: nothing else tells of its keys without its own credentials, but the credential report).
 * Then, per user, with at most {@link AWS_IAM_CONCURRENCY} calls in flight: `ListMFADevices`, `GetLoginProfile`
 * (whether it has a console password: GetAccountAuthorizationDetails does not say, and the credential report is up to
 * 4 hours old and must be generated, then polled for), `ListAccessKeys` and `GetAccessKeyLastUsed` for each key.
 *
 * Observations come in a fixed order (roles by ARN, then the root user's access keys when it has any, then users by
 * ARN, each followed by its access keys), in pages of at most {@link AWS_IAM_PAGE_SIZE}. A page's marker is not IAM's
 * `Marker` (which cannot resume an analysis that needs every page) but the position of its last observation in that
 * order: resuming reads IAM's account-wide details again (a few calls) and skips what was already yielded, including
 * the per-user calls of skipped users (and the account summary once past the root user's keys). Identities created
 * meanwhile before that position are found by the next run.
 */
export class AwsIamSource implements DiscoverySource {
  readonly name = SOURCE;
  readonly global = true;
  readonly #client: IAMClient;

  constructor(client: IAMClient) {
    this.#client = client;
  }

  async *pages(
    scope: DiscoveryScope,
    options?: { readonly resumeFrom?: string | undefined },
  ): AsyncIterable<ObservationPage> {
    const after = options?.resumeFrom === undefined ? undefined : decodeMarker(options.resumeFrom);
    yield* toPages(this.#observations(scope.account, after));
  }

  async *#observations(account: string, after: string | undefined): AsyncGenerator<Keyed> {
    // The four account-wide reads run together: within the concurrency the per-user reads keep to. The account summary
    // serves only the root user's keys, which come before the users: a run resumed among the users needs it no more.
    const [details, roles, users, rootAccessKeys] = await Promise.all([
      this.#authorizationDetails(),
      this.#list('ListRoles', listRolesSchema, (Marker) =>
        this.#client.send(new ListRolesCommand({ MaxItems: MAX_ITEMS, Marker })),
      ),
      this.#list('ListUsers', listUsersSchema, (Marker) =>
        this.#client.send(new ListUsersCommand({ MaxItems: MAX_ITEMS, Marker })),
      ),
      after === undefined || after.startsWith('role ') ? this.#rootAccessKeysPresent() : Promise.resolve(false),
    ]);
    const maxSessionDurations = new Map<string, number>();
    for (const role of roles.flatMap((page) => page.Roles)) {
      if (role.MaxSessionDuration !== undefined) maxSessionDurations.set(role.Arn, role.MaxSessionDuration);
    }
    const passwordLastUsed = new Map<string, Date>();
    for (const user of users.flatMap((page) => page.Users)) {
      if (user.PasswordLastUsed !== undefined) passwordLastUsed.set(user.Arn, user.PasswordLastUsed);
    }

    for (const role of [...details.roles].sort((a, b) => byCodeUnit(a.Arn, b.Arn))) {
      const key = `role ${role.Arn}`;
      if (after !== undefined && key <= after) continue;
      yield { key, observation: roleObservation(role, account, details, maxSessionDurations.get(role.Arn)) };
    }

    if (rootAccessKeys) {
      const observation = rootAccessKeysObservation(account, partitionOf(details));
      const key = `root ${observation.arn}`;
      if (after === undefined || key > after) yield { key, observation };
    }

    const sortedUsers = [...details.users].sort((a, b) => byCodeUnit(a.Arn, b.Arn));
    for (let start = 0; start < sortedUsers.length; start += USER_BATCH) {
      const batch = sortedUsers.slice(start, start + USER_BATCH);
      const results = await mapWithConcurrency(batch, AWS_IAM_CONCURRENCY, (user) =>
        this.#userObservations(user, account, details, passwordLastUsed.get(user.Arn), after),
      );
      for (const keyed of results.flat()) yield keyed;
    }
  }

  /** The user's observation and its access keys', each read only when it comes after `after`. */
  async #userObservations(
    user: UserDetail,
    account: string,
    details: AuthorizationDetails,
    passwordLastUsed: Date | undefined,
    after: string | undefined,
  ): Promise<Keyed[]> {
    checkAccount(user.Arn, account);
    const userKey = `user ${user.Arn}`;
    // Every key of this user sorts after `${userKey} `: when `after` is past all of them, their reads are skipped too.
    const keyPrefix = `${userKey} `;
    const wantUser = after === undefined || userKey > after;
    if (!wantUser && keyPrefix < after && !after.startsWith(keyPrefix)) return [];
    let userReads: { mfaDevices: number; consolePassword: boolean } | undefined;
    if (wantUser) {
      const mfaPages = await unlessGone(
        this.#list('ListMFADevices', listMfaDevicesSchema, (Marker) =>
          this.#client.send(new ListMFADevicesCommand({ UserName: user.UserName, Marker })),
        ),
      );
      if (mfaPages === undefined) return [];
      // IAM answers NoSuchEntity for a user without a login profile (and for a user deleted meanwhile, which the
      // access key listing below then leaves out).
      const loginProfile = await unlessGone(
        readAws(SOURCE, 'iam:GetLoginProfile', loginProfileSchema, () =>
          this.#client.send(new GetLoginProfileCommand({ UserName: user.UserName })),
        ),
      );
      userReads = {
        mfaDevices: mfaPages.flatMap((page) => page.MFADevices).length,
        consolePassword: loginProfile !== undefined,
      };
    }
    const keyPages = await unlessGone(
      this.#list('ListAccessKeys', listAccessKeysSchema, (Marker) =>
        this.#client.send(new ListAccessKeysCommand({ UserName: user.UserName, Marker })),
      ),
    );
    if (keyPages === undefined) return [];
    const keys = keyPages
      .flatMap((page) => page.AccessKeyMetadata)
      .sort((a, b) => byCodeUnit(a.AccessKeyId, b.AccessKeyId));
    const out: Keyed[] = [];
    if (userReads !== undefined) {
      const activeAccessKeys = keys.filter((key) => key.Status === 'Active').map((key) => key.AccessKeyId);
      out.push({
        key: userKey,
        observation: userObservation(user, account, details, passwordLastUsed, { ...userReads, activeAccessKeys }),
      });
    }
    for (const accessKey of keys) {
      const key = `${keyPrefix}${accessKey.AccessKeyId}`;
      if (after !== undefined && key <= after) continue;
      const lastUsed = await unlessGone(
        readAws(SOURCE, 'iam:GetAccessKeyLastUsed', accessKeyLastUsedSchema, () =>
          this.#client.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: accessKey.AccessKeyId })),
        ),
      );
      if (lastUsed === undefined) continue;
      out.push({ key, observation: accessKeyObservation(user, account, accessKey, lastUsed.AccessKeyLastUsed) });
    }
    return out;
  }

  /** Whether the account's root user has access keys: GetAccountSummary's `AccountAccessKeysPresent` (0 or 1). */
  async #rootAccessKeysPresent(): Promise<boolean> {
    const summary = await readAws(SOURCE, 'iam:GetAccountSummary', accountSummarySchema, () =>
      this.#client.send(new GetAccountSummaryCommand({})),
    );
    return summary.SummaryMap.AccountAccessKeysPresent > 0;
  }

  async #authorizationDetails(): Promise<AuthorizationDetails> {
    const details: AuthorizationDetails = { users: [], roles: [], groups: new Map(), managedPolicies: new Map() };
    await this.#list(
      'GetAccountAuthorizationDetails',
      authorizationDetailsSchema,
      (Marker) =>
        this.#client.send(
          new GetAccountAuthorizationDetailsCommand({
            Filter: ['User', 'Role', 'Group', 'LocalManagedPolicy', 'AWSManagedPolicy'],
            MaxItems: MAX_ITEMS,
            Marker,
          }),
        ),
      (page) => {
        details.users.push(...page.UserDetailList);
        details.roles.push(...page.RoleDetailList);
        for (const group of page.GroupDetailList) {
          const ref = `group:${group.GroupName}:inline:`;
          details.groups.set(group.GroupName, {
            inline: group.GroupPolicyList.map((policy) => inlinePolicy(policy, ref)),
            attached: group.AttachedManagedPolicies.map((policy) => policy.PolicyArn),
          });
        }
        for (const policy of page.Policies) {
          const version =
            policy.PolicyVersionList.find((v) => v.IsDefaultVersion === true) ??
            policy.PolicyVersionList.find((v) => v.VersionId !== undefined && v.VersionId === policy.DefaultVersionId);
          details.managedPolicies.set(
            policy.Arn,
            version?.Document === undefined ? undefined : parsePolicyDocument(version.Document),
          );
        }
      },
    );
    return details;
  }

  /**
   * Reads every page of a listing. IAM may answer short or even empty pages while `IsTruncated` is true: only
   * `IsTruncated: false` ends it. `onPage` sees each page as it comes (to keep only what is needed); the pages are
   * also returned, for small listings.
   */
  async #list<T extends { IsTruncated?: boolean | undefined; Marker?: string | undefined }>(
    action: string,
    schema: z.ZodType<T>,
    send: (marker: string | undefined) => Promise<unknown>,
    onPage?: (page: T) => void,
  ): Promise<T[]> {
    const pages: T[] = [];
    let marker: string | undefined;
    let stalled = 0;
    for (let count = 0; count < MAX_PAGES; count++) {
      const page = await readAws(SOURCE, `iam:${action}`, schema, () => send(marker));
      if (onPage) onPage(page);
      else pages.push(page);
      if (page.IsTruncated !== true) return pages;
      if (page.Marker === undefined) throw new DiscoveryReadError(SOURCE, `iam:${action}`, INVALID_RESPONSE);
      // IAM cuts pages short when its own time runs out, so an empty page may hand back the marker it was given and
      // the same request may then get further; only a long run of them means it never will.
      stalled = page.Marker === marker ? stalled + 1 : 0;
      if (stalled > MAX_STALLED_PAGES) throw new DiscoveryReadError(SOURCE, `iam:${action}`, INVALID_RESPONSE);
      marker = page.Marker;
    }
    throw new DiscoveryReadError(SOURCE, `iam:${action}`, INVALID_RESPONSE);
  }
}

/** The SDK names IAM's `NoSuchEntity` error so (a client without the model would keep the wire code). */
const GONE = new Set(['NoSuchEntityException', 'NoSuchEntity']);

/**
 * A user or key deleted between the account-wide read and its own reads is left out: it no longer exists, and the
 * next run records it gone. Any other failure still fails the source.
 */
async function unlessGone<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof DiscoveryReadError && GONE.has(error.reason)) return undefined;
    throw error;
  }
}

function inlinePolicy(policy: { PolicyName: string; PolicyDocument: string }, refPrefix: string): NamedPolicy {
  return { ref: `${refPrefix}${policy.PolicyName}`, document: parsePolicyDocument(policy.PolicyDocument) };
}

function managed(arns: readonly string[], details: AuthorizationDetails): NamedPolicy[] {
  return arns.map((arn) => ({ ref: arn, document: details.managedPolicies.get(arn) }));
}

/** Risk facts over a principal's effective policies. */
function policyRisk(policies: readonly NamedPolicy[]): Record<string, FactValue> {
  return {
    adminActions: adminActionFacts(policies),
    wildcardServiceActions: wildcardServiceActionFacts(policies),
    privilegeEscalation: privilegeEscalationFacts(policies),
    unreadablePolicies: unreadablePolicies(policies),
  };
}

const AGENT_TAG = { key: 'mim:kind', value: 'agent' };

/** `tag:mim:kind=agent` when the principal is tagged as an AI agent's. */
function tagAgentSignals(tags: Readonly<Record<string, string>>): string[] {
  return tags[AGENT_TAG.key] === AGENT_TAG.value ? [`tag:${AGENT_TAG.key}=${AGENT_TAG.value}`] : [];
}

function roleObservation(
  role: RoleDetail,
  account: string,
  details: AuthorizationDetails,
  maxSessionDuration: number | undefined,
): Observation {
  checkAccount(role.Arn, account);
  const tags = tagRecord(role.Tags);
  const policies = [
    ...role.RolePolicyList.map((policy) => inlinePolicy(policy, 'inline:')),
    ...managed(
      role.AttachedManagedPolicies.map((policy) => policy.PolicyArn),
      details,
    ),
  ];
  const trustDocument =
    role.AssumeRolePolicyDocument === undefined ? undefined : parsePolicyDocument(role.AssumeRolePolicyDocument);
  const trust = analyseTrust(trustDocument, account);
  const agentSignals = [...trust.agentSignals, ...tagAgentSignals(tags)];
  const lastUsed = role.RoleLastUsed;
  const facts: Facts = {
    id: role.RoleId,
    path: role.Path,
    createDate: role.CreateDate.toISOString(),
    roleLastUsed:
      lastUsed?.LastUsedDate === undefined
        ? null
        : { lastUsedDate: utcDay(lastUsed.LastUsedDate), region: lastUsed.Region ?? null },
    maxSessionDuration: maxSessionDuration ?? null,
    permissionsBoundary: role.PermissionsBoundary?.PermissionsBoundaryArn ?? null,
    attachedPolicies: sortedStrings(role.AttachedManagedPolicies.map((policy) => policy.PolicyArn)),
    inlinePolicies: sortedStrings(role.RolePolicyList.map((policy) => policy.PolicyName)),
    instanceProfiles: sortedStrings(role.InstanceProfileList.map((profile) => profile.InstanceProfileName)),
    agentSignals,
    trust: trust.trust,
    risk: {
      ...policyRisk(policies),
      unreadablePolicies: sortedStrings([
        ...unreadablePolicies(policies),
        ...(trustDocument === undefined ? ['trust'] : []),
      ]),
      trustAnyPrincipal: trust.trustAnyPrincipal,
      crossAccountTrustWithoutExternalId: trust.crossAccountTrustWithoutExternalId,
      githubOidcWithoutSub: trust.githubOidcWithoutSub,
    },
  };
  return {
    source: SOURCE,
    type: agentSignals.length > 0 ? 'ai-agent' : 'iam-role',
    arn: role.Arn,
    name: role.RoleName,
    account,
    region: GLOBAL_REGION,
    tags,
    facts,
  };
}

/** What the per-user reads say of a user. */
interface UserReads {
  readonly mfaDevices: number;
  /** It has a login profile (GetLoginProfile). */
  readonly consolePassword: boolean;
  /** The ids of its access keys whose status is `Active`, sorted. */
  readonly activeAccessKeys: readonly string[];
}

/**
 * A user. Its type stays `iam-user` even when tagged `mim:kind=agent`: `agentSignals` then says it is an AI agent's
 * (the risk rules read either), and the agent rules that apply to users (`AGENT_LONG_LIVED_KEYS`) fire for it.
 */
function userObservation(
  user: UserDetail,
  account: string,
  details: AuthorizationDetails,
  passwordLastUsed: Date | undefined,
  reads: UserReads,
): Observation {
  const policies = [
    ...user.UserPolicyList.map((policy) => inlinePolicy(policy, 'inline:')),
    ...managed(
      user.AttachedManagedPolicies.map((policy) => policy.PolicyArn),
      details,
    ),
  ];
  for (const groupName of user.GroupList) {
    const group = details.groups.get(groupName);
    if (!group) {
      // A group created after the listing passed it: its policies are unknown, which the risk facts say.
      policies.push({ ref: `group:${groupName}`, document: undefined });
      continue;
    }
    policies.push(...group.inline, ...managed(group.attached, details));
  }
  const tags = tagRecord(user.Tags);
  const facts: Facts = {
    id: user.UserId,
    path: user.Path,
    createDate: user.CreateDate.toISOString(),
    passwordLastUsed: passwordLastUsed === undefined ? null : utcDay(passwordLastUsed),
    consolePassword: reads.consolePassword,
    mfaDevices: reads.mfaDevices,
    activeAccessKeys: [...reads.activeAccessKeys],
    agentSignals: tagAgentSignals(tags),
    groups: sortedStrings(user.GroupList),
    permissionsBoundary: user.PermissionsBoundary?.PermissionsBoundaryArn ?? null,
    attachedPolicies: sortedStrings(user.AttachedManagedPolicies.map((policy) => policy.PolicyArn)),
    inlinePolicies: sortedStrings(user.UserPolicyList.map((policy) => policy.PolicyName)),
    // A managed policy attached both to the user and to one of its groups applies once.
    risk: policyRisk(dedupe(policies)),
  };
  return {
    source: SOURCE,
    type: 'iam-user',
    arn: user.Arn,
    name: user.UserName,
    account,
    region: GLOBAL_REGION,
    tags,
    facts,
  };
}

/** The name the credential report gives the root user. */
const ROOT_USER = '<root_account>';

/**
 * The root user's access keys, as one `iam-access-key` identity: GetAccountSummary says only that some exist (not
 * their ids, dates or status), so its ARN is ours, the root user's ARN then `/access-keys`, stable while any exist.
 * `status` is `Active`, the conservative reading (an inactive root key should not exist either, FSBP IAM.4);
 * `createDate` is unknown (`null`); `lastUsed` is not recorded.
 */
function rootAccessKeysObservation(account: string, partition: string): Observation {
  const userArn = `arn:${partition}:iam::${account}:root`;
  return {
    source: SOURCE,
    type: 'iam-access-key',
    arn: `${userArn}/access-keys`,
    name: 'root access keys',
    account,
    region: GLOBAL_REGION,
    // The root user has no tags; nobody but the account's owner answers for it.
    tags: {},
    facts: {
      user: ROOT_USER,
      userArn,
      status: 'Active',
      createDate: null,
      seenBy: 'iam:GetAccountSummary',
    },
  };
}

const ARN_PARTITION = /^arn:(aws[\w-]*):/;

/** The account's partition, from the ARNs IAM returned (roles, users, managed policies); `aws` when there were none. */
function partitionOf(details: AuthorizationDetails): string {
  const arns = [
    ...details.roles.map((role) => role.Arn),
    ...details.users.map((user) => user.Arn),
    ...details.managedPolicies.keys(),
  ];
  for (const arn of arns) {
    const partition = ARN_PARTITION.exec(arn)?.[1];
    if (partition !== undefined) return partition;
  }
  return 'aws';
}

/**
 * An access key as an identity. Its ARN is ours, not AWS's (access keys have none): the user's ARN, then
 * `/access-key/<AccessKeyId>`, so that it is unique, stable, and names its user.
 */
function accessKeyObservation(
  user: UserDetail,
  account: string,
  accessKey: AccessKey,
  lastUsed: z.infer<typeof accessKeyLastUsedSchema>['AccessKeyLastUsed'],
): Observation {
  return {
    source: SOURCE,
    type: 'iam-access-key',
    arn: `${user.Arn}/access-key/${accessKey.AccessKeyId}`,
    name: accessKey.AccessKeyId,
    account,
    region: GLOBAL_REGION,
    // Access keys carry no tags of their own; their owner is their user's (facts.userArn).
    tags: {},
    facts: {
      user: user.UserName,
      userArn: user.Arn,
      status: accessKey.Status,
      createDate: accessKey.CreateDate.toISOString(),
      lastUsed:
        lastUsed?.LastUsedDate === undefined
          ? null
          : {
              date: utcDay(lastUsed.LastUsedDate),
              serviceName: notApplicable(lastUsed.ServiceName),
              region: notApplicable(lastUsed.Region),
            },
    },
  };
}

/** IAM says `N/A` for the service and region of a key never used (or used before it tracked them, April 2015). */
function notApplicable(value: string | undefined): string | null {
  return value === undefined || value === 'N/A' ? null : value;
}

function sortedStrings(values: readonly string[]): string[] {
  return [...new Set(values)].sort(byCodeUnit);
}

function dedupe(policies: readonly NamedPolicy[]): NamedPolicy[] {
  return [...new Map(policies.map((policy) => [policy.ref, policy])).values()];
}

function tagRecord(tags: readonly { Key: string; Value: string }[]): Record<string, string> {
  return Object.fromEntries(tags.map((tag) => [tag.Key, tag.Value]));
}

const ARN_ACCOUNT = /^arn:aws[\w-]*:iam::(\d{12}):/;

/** IAM answers for the account of the credentials: a different account means the client was built for another one. */
function checkAccount(arn: string, account: string): void {
  const found = ARN_ACCOUNT.exec(arn)?.[1];
  if (found !== account) {
    throw new InternalError(
      'DISCOVERY_SCOPE_MISMATCH',
      `${SOURCE}: ${arn} is not in account ${account}: the client reads another account than the scope's.`,
    );
  }
}

function encodeMarker(key: string): string {
  return `${MARKER_PREFIX}${Buffer.from(key, 'utf8').toString('base64url')}`;
}

function decodeMarker(marker: string): string {
  const key = marker.startsWith(MARKER_PREFIX)
    ? Buffer.from(marker.slice(MARKER_PREFIX.length), 'base64url').toString('utf8')
    : '';
  if (!/^(?:role|root|user) arn:/.test(key)) {
    throw new ValidationError('INVALID_RESUME_MARKER', 'aws-iam: the resume marker is not one this source gave.');
  }
  return key;
}

/**
 * Pages of at most {@link AWS_IAM_PAGE_SIZE}: a full page is handed on only once the next observation exists, so that
 * the last page, and only it, has no marker. An empty account gives one empty page.
 */
async function* toPages(observations: AsyncIterable<Keyed>): AsyncGenerator<ObservationPage> {
  let page: Keyed[] = [];
  for await (const keyed of observations) {
    const last = page.at(-1);
    if (last !== undefined && page.length === AWS_IAM_PAGE_SIZE) {
      yield { observations: page.map((k) => k.observation), marker: encodeMarker(last.key) };
      page = [];
    }
    page.push(keyed);
  }
  yield { observations: page.map((k) => k.observation) };
}
