import { z } from 'zod';
import type { FactValue } from '#lib/domain/discovery.ts';

/**
 * Pure analysis of IAM policy documents for the `aws-iam` discovery source: parsing what IAM returns, the trust of a
 * role, and the risk facts the risk rules read (administrative actions, service wildcards, privilege escalation paths,
 * risky trust).
 * No SDK and no I/O: it serves only `aws-iam-source.ts`, and is a file of its own so that it can be tested alone.
 *
 * The analysis is deliberately conservative, as a finding that is missed costs more than one that is reviewed:
 * - resources are not considered for escalation (as Prowler does): `iam:PassRole` on one role still passes that role;
 * - Deny statements are ignored: they may be conditional, and no attempt is made to evaluate conditions;
 * - conditions on Allow statements do not remove a finding: they are reported (`conditional`) instead;
 * - `NotAction` on an Allow allows every action it does not exclude;
 * - permissions boundaries and SCPs are not applied (the boundary's ARN is a fact of its own).
 */

const stringList = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => (Array.isArray(value) ? value : [value]));
const conditionScalar = z.union([z.string(), z.number(), z.boolean()]);
const principalSchema = z.union([z.literal('*'), z.record(z.string(), stringList)]);

/** One statement of an IAM policy (identity or trust), as the IAM policy grammar allows it. */
export const policyStatementSchema = z.object({
  Sid: z.string().optional(),
  Effect: z.enum(['Allow', 'Deny']),
  Action: stringList.optional(),
  NotAction: stringList.optional(),
  Resource: stringList.optional(),
  NotResource: stringList.optional(),
  Principal: principalSchema.optional(),
  NotPrincipal: principalSchema.optional(),
  Condition: z
    .record(z.string(), z.record(z.string(), z.union([conditionScalar, z.array(conditionScalar)])))
    .optional(),
});
export type PolicyStatement = z.infer<typeof policyStatementSchema>;

/** An IAM policy document: `Statement` may be one object or a list; it is always a list once parsed. */
export const policyDocumentSchema = z.object({
  Version: z.string().optional(),
  Id: z.string().optional(),
  Statement: z
    .union([policyStatementSchema, z.array(policyStatementSchema)])
    .transform((value) => (Array.isArray(value) ? value : [value])),
});
export type PolicyDocument = z.infer<typeof policyDocumentSchema>;

/**
 * Decodes and parses a policy document as IAM returns it: URL-encoded JSON (RFC 3986, so `+` is a plus, not a space).
 * Returns `undefined` when it is not a policy document; the caller records the policy as unreadable rather than
 * failing the whole account on one document.
 */
export function parsePolicyDocument(encoded: string): PolicyDocument | undefined {
  let json: unknown;
  try {
    json = JSON.parse(decodeURIComponent(encoded));
  } catch {
    return undefined;
  }
  const parsed = policyDocumentSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

/** A policy that applies to a principal, named so that a finding can say where it comes from. */
export interface NamedPolicy {
  /**
   * `inline:<name>` for the principal's own inline policies, `group:<group>:inline:<name>` for its groups' inline
   * policies, the ARN for managed policies.
   */
  readonly ref: string;
  /** The parsed document; `undefined` when it could not be read (or the managed policy was not returned). */
  readonly document: PolicyDocument | undefined;
}

/**
 * Whether an action pattern (`*` any run of characters, `?` one character) matches an action, case-insensitively as
 * IAM compares actions. Linear-time two-pointer matching: patterns come from policies, and a backtracking regular
 * expression built from them could be made to run for seconds.
 */
export function actionMatches(pattern: string, action: string): boolean {
  const p = pattern.toLowerCase();
  const s = action.toLowerCase();
  let pi = 0;
  let si = 0;
  let star = -1;
  let resume = 0;
  // Each step advances si, or pi with si fixed; backtracking only moves si forward past the last star: bounded by
  // (p.length + 1) · (s.length + 1).
  while (si < s.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === s[si])) {
      pi++;
      si++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      resume = si;
    } else if (star >= 0) {
      pi = star + 1;
      si = ++resume;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/** Whether an Allow statement allows an action: listed by `Action`, or not excluded by `NotAction`. */
export function statementAllows(statement: PolicyStatement, action: string): boolean {
  if (statement.Effect !== 'Allow') return false;
  if (statement.Action) return statement.Action.some((pattern) => actionMatches(pattern, action));
  if (statement.NotAction) return !statement.NotAction.some((pattern) => actionMatches(pattern, action));
  return false;
}

/**
 * Escalation methods: Rhino Security Labs' research as Cloudsplaining names it (`PRIVILEGE_ESCALATION_METHODS` in
 * `cloudsplaining/shared/constants.py`) with the action sets of Prowler's `privilege_escalation.py` where the two
 * differ: updating a trust policy needs `sts:AssumeRole` to use it, a Data Pipeline needs its definition put and
 * activated. A method is present when every one of its actions is allowed, by any of the principal's policies.
 */
export const PRIVILEGE_ESCALATION_METHODS: Readonly<Record<string, readonly string[]>> = {
  // IAM permissions on other users
  CreateAccessKey: ['iam:CreateAccessKey'],
  CreateLoginProfile: ['iam:CreateLoginProfile'],
  UpdateLoginProfile: ['iam:UpdateLoginProfile'],
  AddUserToGroup: ['iam:AddUserToGroup'],
  // Permissions on policies
  CreateNewPolicyVersion: ['iam:CreatePolicyVersion'],
  SetExistingDefaultPolicyVersion: ['iam:SetDefaultPolicyVersion'],
  AttachUserPolicy: ['iam:AttachUserPolicy'],
  AttachGroupPolicy: ['iam:AttachGroupPolicy'],
  AttachRolePolicy: ['iam:AttachRolePolicy'],
  PutUserPolicy: ['iam:PutUserPolicy'],
  PutGroupPolicy: ['iam:PutGroupPolicy'],
  PutRolePolicy: ['iam:PutRolePolicy'],
  // Updating a trust policy, then assuming the role
  UpdateRolePolicyToAssumeIt: ['iam:UpdateAssumeRolePolicy', 'sts:AssumeRole'],
  // iam:PassRole to a new resource that runs the attacker's code
  CreateEC2WithExistingIP: ['iam:PassRole', 'ec2:RunInstances'],
  PassExistingRoleToNewLambdaThenInvoke: ['iam:PassRole', 'lambda:CreateFunction', 'lambda:InvokeFunction'],
  PassExistingRoleToNewLambdaThenTriggerWithExistingDynamo: [
    'iam:PassRole',
    'lambda:CreateFunction',
    'lambda:CreateEventSourceMapping',
  ],
  PassExistingRoleToNewLambdaThenTriggerWithNewDynamo: [
    'iam:PassRole',
    'lambda:CreateFunction',
    'lambda:CreateEventSourceMapping',
    'dynamodb:CreateTable',
    'dynamodb:PutItem',
  ],
  PassExistingRoleToNewGlueDevEndpoint: ['iam:PassRole', 'glue:CreateDevEndpoint'],
  PassExistingRoleToCloudFormation: ['iam:PassRole', 'cloudformation:CreateStack'],
  PassExistingRoleToNewDataPipeline: [
    'iam:PassRole',
    'datapipeline:CreatePipeline',
    'datapipeline:PutPipelineDefinition',
    'datapipeline:ActivatePipeline',
  ],
  // Existing resources that already run with a role
  UpdateExistingGlueDevEndpoint: ['glue:UpdateDevEndpoint'],
  EditExistingLambdaFunctionWithRole: ['lambda:UpdateFunctionCode'],
};

/** The administrative grants recorded: everything, or all of IAM, or all of STS. */
export const ADMIN_ACTIONS = ['*', 'iam:*', 'sts:*'] as const;
export type AdminAction = (typeof ADMIN_ACTIONS)[number];

interface SourcedStatement {
  readonly statement: PolicyStatement;
  readonly ref: string;
}

function statementsOf(policies: readonly NamedPolicy[]): SourcedStatement[] {
  return policies.flatMap((policy) =>
    (policy.document?.Statement ?? []).map((statement) => ({ statement, ref: policy.ref })),
  );
}

function hasCondition(statement: PolicyStatement): boolean {
  return statement.Condition !== undefined && Object.keys(statement.Condition).length > 0;
}

const sorted = (values: Iterable<string>): string[] => [...new Set(values)].sort(byCodeUnit);

/** Plain code-unit order (not locale order), so that facts sort alike everywhere. */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What grants something: the policies, and whether every granting statement is conditional. */
function grant(granting: readonly SourcedStatement[]): { conditional: boolean; grantedBy: string[] } {
  return {
    conditional: granting.every(({ statement }) => hasCondition(statement)),
    grantedBy: sorted(granting.map(({ ref }) => ref)),
  };
}

/** Whether an action pattern allows every action whose name starts with `prefix` (e.g. `iam:`; '' for all). */
function coversPrefix(pattern: string, prefix: string): boolean {
  if (!pattern.endsWith('*')) return false;
  const head = pattern.slice(0, -1);
  for (let length = 0; length <= prefix.length; length++) {
    if (actionMatches(head, prefix.slice(0, length))) return true;
  }
  return false;
}

/** Whether an Allow statement grants all of `action` (one of {@link ADMIN_ACTIONS}) on every resource. */
function grantsAdmin(statement: PolicyStatement, action: AdminAction): boolean {
  if (statement.Effect !== 'Allow') return false;
  // NotResource on an Allow leaves every other resource: conservatively, all of them.
  const everyResource = statement.NotResource !== undefined || (statement.Resource ?? []).includes('*');
  if (!everyResource) return false;
  if (action === '*') {
    return (statement.Action ?? []).some((pattern) => /^\*+(?::\*+)?$/.test(pattern));
  }
  const service = action.slice(0, -1);
  if (statement.Action) return statement.Action.some((pattern) => coversPrefix(pattern, service));
  if (statement.NotAction) {
    // All of the service stays allowed unless some NotAction pattern could name one of its actions.
    const name = service.slice(0, -1);
    return !statement.NotAction.some((pattern) => actionMatches(pattern.split(':')[0] ?? pattern, name));
  }
  return false;
}

/** `adminActions`: which of {@link ADMIN_ACTIONS} an Allow statement grants on `*`, with where from. */
export function adminActionFacts(policies: readonly NamedPolicy[]): FactValue[] {
  const statements = statementsOf(policies);
  return ADMIN_ACTIONS.flatMap((action) => {
    const granting = statements.filter(({ statement }) => grantsAdmin(statement, action));
    return granting.length === 0 ? [] : [{ action, ...grant(granting) }];
  });
}

/**
 * The service wildcard an Action pattern grants, lower-cased as IAM compares actions: `s3:*` (also `S3:*`, `s3:**`),
 * or `s3*:*` for every action of every service the prefix names. `undefined` for anything narrower (`s3:Get*`), and
 * for `*` and `*:*`, which {@link adminActionFacts} records as `*`.
 */
function serviceWildcard(pattern: string): string | undefined {
  const match = /^([^:]+):\*+$/.exec(pattern);
  const service = match?.[1]?.toLowerCase();
  if (service === undefined || /^\*+$/.test(service)) return undefined;
  return `${service}:*`;
}

/** The service wildcards left to `adminActions` (and to `IAM_ADMIN_EQUIVALENT`), so that no grant is reported twice. */
const ADMIN_SERVICE_WILDCARDS: ReadonlySet<string> = new Set(ADMIN_ACTIONS.filter((action) => action !== '*'));

/** What a NotAction pattern that excludes every action looks like: `*`, `*:*`. */
const EVERY_ACTION = /^\*+(?::\*+)?$/;

/**
 * The service wildcards one Allow statement grants on every resource. With `Action`, each `<service>:*` pattern but
 * `iam:*` and `sts:*`. With `NotAction` (which allows every action it does not exclude), every action of every service
 * it does not name: one grant, `* except [<its NotAction patterns>]`, unless it excludes everything.
 */
function statementServiceWildcards(statement: PolicyStatement): string[] {
  if (statement.Effect !== 'Allow') return [];
  // NotResource on an Allow leaves every other resource: conservatively, all of them (as for adminActions).
  const everyResource = statement.NotResource !== undefined || (statement.Resource ?? []).includes('*');
  if (!everyResource) return [];
  if (statement.Action) {
    return statement.Action.flatMap((pattern) => {
      const wildcard = serviceWildcard(pattern);
      return wildcard === undefined || ADMIN_SERVICE_WILDCARDS.has(wildcard) ? [] : [wildcard];
    });
  }
  if (statement.NotAction) {
    if (statement.NotAction.some((pattern) => EVERY_ACTION.test(pattern))) return [];
    return [`* except [${sorted(statement.NotAction.map(lower)).join(', ')}]`];
  }
  return [];
}

/**
 * `wildcardServiceActions` (AWS FSBP IAM.21): every action of a service allowed on every resource, as
 * `{ action, conditional, grantedBy }` like `adminActions`, one per service wildcard (`s3:*`), sorted by action.
 * `*`, `iam:*` and `sts:*` are `adminActions`' alone; a NotAction Allow gives `* except [<patterns>]`.
 */
export function wildcardServiceActionFacts(policies: readonly NamedPolicy[]): FactValue[] {
  const granting = new Map<string, SourcedStatement[]>();
  for (const sourced of statementsOf(policies)) {
    for (const action of new Set(statementServiceWildcards(sourced.statement))) {
      const list = granting.get(action);
      if (list === undefined) granting.set(action, [sourced]);
      else list.push(sourced);
    }
  }
  return [...granting.keys()].sort(byCodeUnit).map((action) => ({ action, ...grant(granting.get(action) ?? []) }));
}

/** `privilegeEscalation`: the methods of {@link PRIVILEGE_ESCALATION_METHODS} the policies allow together. */
export function privilegeEscalationFacts(policies: readonly NamedPolicy[]): FactValue[] {
  const statements = statementsOf(policies);
  const grants = new Map<string, SourcedStatement[]>();
  const grantsOf = (action: string): SourcedStatement[] => {
    let granting = grants.get(action);
    if (!granting) {
      granting = statements.filter(({ statement }) => statementAllows(statement, action));
      grants.set(action, granting);
    }
    return granting;
  };
  return Object.keys(PRIVILEGE_ESCALATION_METHODS)
    .sort(byCodeUnit)
    .flatMap((method) => {
      const actions = PRIVILEGE_ESCALATION_METHODS[method] ?? [];
      if (!actions.every((action) => grantsOf(action).length > 0)) return [];
      const perAction = actions.map((action) => grant(grantsOf(action)));
      return [
        {
          method,
          actions: [...actions],
          // The path needs every action: it is conditional as soon as one of them is granted only under conditions.
          conditional: perAction.some((g) => g.conditional),
          grantedBy: sorted(perAction.flatMap((g) => g.grantedBy)),
        },
      ];
    });
}

/** Policies that could not be read: their risk is unknown, which a rule may want to say. */
export function unreadablePolicies(policies: readonly NamedPolicy[]): string[] {
  return sorted(policies.filter((policy) => policy.document === undefined).map((policy) => policy.ref));
}

/** A statement's conditions as `{ operator: { key: [values] } }`, values as sorted strings. */
export function conditionFacts(statement: PolicyStatement): { [operator: string]: { [key: string]: string[] } } {
  const out: { [operator: string]: { [key: string]: string[] } } = {};
  for (const [operator, entries] of Object.entries(statement.Condition ?? {})) {
    const keys: { [key: string]: string[] } = {};
    for (const [key, value] of Object.entries(entries)) {
      keys[key] = sorted((Array.isArray(value) ? value : [value]).map(String));
    }
    out[operator] = keys;
  }
  return out;
}

/** Condition keys are case-insensitive: every key a statement's conditions test, in lower case. */
function conditionKeys(statement: PolicyStatement): Set<string> {
  return new Set(Object.values(statement.Condition ?? {}).flatMap((entries) => Object.keys(entries).map(lower)));
}
const lower = (text: string) => text.toLowerCase();

/** The principals of a trust statement, split by kind. */
export interface TrustPrincipals {
  readonly any: boolean;
  readonly services: string[];
  readonly accounts: string[];
  readonly federated: string[];
  /** AWS principals as written that are ARNs (roles, users, account roots) or unique ids of deleted principals. */
  readonly aws: string[];
}

const ACCOUNT_ID = /^\d{12}$/;
const PRINCIPAL_ARN_ACCOUNT = /^arn:aws[\w-]*:(?:iam|sts)::(\d{12}):/;

function principalsOf(statement: PolicyStatement): TrustPrincipals {
  // NotPrincipal on an Allow admits everybody but those listed: conservatively, anybody.
  const principal = statement.NotPrincipal !== undefined ? '*' : statement.Principal;
  if (principal === undefined) return { any: false, services: [], accounts: [], federated: [], aws: [] };
  if (principal === '*') return { any: true, services: [], accounts: [], federated: [], aws: [] };
  const aws = principal.AWS ?? [];
  const accounts = aws.flatMap((entry) => {
    if (ACCOUNT_ID.test(entry)) return [entry];
    const account = PRINCIPAL_ARN_ACCOUNT.exec(entry)?.[1];
    return account === undefined ? [] : [account];
  });
  return {
    any: aws.includes('*'),
    services: sorted(principal.Service ?? []),
    accounts: sorted(accounts),
    federated: sorted(principal.Federated ?? []),
    aws: sorted(aws.filter((entry) => entry !== '*' && !ACCOUNT_ID.test(entry))),
  };
}

const GITHUB_OIDC = 'token.actions.githubusercontent.com';
const BEDROCK = 'bedrock.amazonaws.com';
const BEDROCK_AGENTCORE = 'bedrock-agentcore.amazonaws.com';

/** What a role's trust policy says, and the risks in it. */
export interface TrustAnalysis {
  /** `trust` fact: the Allow principals together, then each statement with its conditions. */
  readonly trust: FactValue;
  readonly trustAnyPrincipal: FactValue;
  readonly crossAccountTrustWithoutExternalId: string[];
  readonly githubOidcWithoutSub: boolean;
  /** Why the trust makes the role an AI agent's (empty when it does not). */
  readonly agentSignals: string[];
}

/**
 * Analyses a role's trust policy. `account` is the role's own account: principals of other accounts are cross-account.
 * An undefined document (unreadable) gives an empty analysis with `trust: null`.
 */
export function analyseTrust(document: PolicyDocument | undefined, account: string): TrustAnalysis {
  if (document === undefined) {
    return {
      trust: null,
      trustAnyPrincipal: null,
      crossAccountTrustWithoutExternalId: [],
      githubOidcWithoutSub: false,
      agentSignals: [],
    };
  }
  const statements = document.Statement.map((statement) => ({ statement, principals: principalsOf(statement) }));
  const allows = statements.filter(({ statement }) => statement.Effect === 'Allow');

  const anyPrincipal = allows.filter(({ principals }) => principals.any);
  const crossAccount = allows.flatMap(({ statement, principals }) =>
    conditionKeys(statement).has('sts:externalid') ? [] : principals.accounts.filter((id) => id !== account),
  );
  const githubOidcWithoutSub = allows.some(({ statement, principals }) =>
    principals.federated.some((provider) => {
      if (!provider.includes(GITHUB_OIDC)) return false;
      // The audience claim is the provider's host (and path, for GitHub Enterprise issuers) after `oidc-provider/`.
      const issuer = provider.split(':oidc-provider/')[1] ?? provider;
      return !conditionKeys(statement).has(`${issuer.toLowerCase()}:sub`);
    }),
  );

  const agentSignals = new Set<string>();
  for (const { statement, principals } of allows) {
    if (principals.services.includes(BEDROCK_AGENTCORE)) agentSignals.add('trust:bedrock-agentcore');
    if (principals.services.includes(BEDROCK) && agentSourceArn(statement)) agentSignals.add('trust:bedrock-agent');
  }

  return {
    trust: {
      anyPrincipal: anyPrincipal.length > 0,
      services: sorted(allows.flatMap(({ principals }) => principals.services)),
      accounts: sorted(allows.flatMap(({ principals }) => principals.accounts)),
      federated: sorted(allows.flatMap(({ principals }) => principals.federated)),
      statements: statements.map(({ statement, principals }) => ({
        effect: statement.Effect,
        actions: sorted(statement.Action ?? []),
        principals: { ...principals },
        conditions: conditionFacts(statement),
      })),
    },
    trustAnyPrincipal:
      anyPrincipal.length === 0
        ? null
        : { conditional: anyPrincipal.every(({ statement }) => hasCondition(statement)) },
    crossAccountTrustWithoutExternalId: sorted(crossAccount),
    githubOidcWithoutSub,
    agentSignals: sorted(agentSignals),
  };
}

/**
 * Whether a statement trusting Bedrock is limited to Bedrock agents: a source ARN condition (`aws:SourceArn`, or
 * another key naming a source ARN) on an `…:agent/…` ARN, as the Bedrock Agents service role's trust policy has it.
 */
function agentSourceArn(statement: PolicyStatement): boolean {
  return Object.values(statement.Condition ?? {}).some((entries) =>
    Object.entries(entries).some(
      ([key, value]) =>
        lower(key).endsWith('sourcearn') &&
        (Array.isArray(value) ? value : [value]).some((v) => /:agent\//.test(String(v))),
    ),
  );
}
