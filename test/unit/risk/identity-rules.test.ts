import { describe, expect, it } from 'vitest';
import {
  adminActionFacts,
  analyseTrust,
  type NamedPolicy,
  parsePolicyDocument,
  privilegeEscalationFacts,
  unreadablePolicies,
  wildcardServiceActionFacts,
} from '#lib/adapters/discovery/iam-policy-facts.ts';
import type { Facts } from '#lib/domain/discovery.ts';
import { ALL_IDENTITY_TYPES, type AnyIdentityType, type IdentitySource } from '#lib/domain/identity-catalog.ts';
import type { RiskRule, RiskSubject } from '#lib/domain/risk/rule.ts';
import { agentAdminEquivalent } from '#lib/domain/risk/rules/agent-admin-equivalent.ts';
import { agentLongLivedKeys } from '#lib/domain/risk/rules/agent-long-lived-keys.ts';
import { iamAccessKeyOld } from '#lib/domain/risk/rules/iam-access-key-old.ts';
import { iamAdminEquivalent } from '#lib/domain/risk/rules/iam-admin-equivalent.ts';
import { iamCredentialsUnused } from '#lib/domain/risk/rules/iam-credentials-unused.ts';
import { iamCrossAccountNoExternalId } from '#lib/domain/risk/rules/iam-cross-account-no-external-id.ts';
import { iamGithubOidcNoSub } from '#lib/domain/risk/rules/iam-github-oidc-no-sub.ts';
import { iamPrivilegeEscalation } from '#lib/domain/risk/rules/iam-privilege-escalation.ts';
import { iamRoleUnused } from '#lib/domain/risk/rules/iam-role-unused.ts';
import { iamRootAccessKey } from '#lib/domain/risk/rules/iam-root-access-key.ts';
import { iamTrustAnyPrincipal } from '#lib/domain/risk/rules/iam-trust-any-principal.ts';
import { iamUserConsoleAndKeys } from '#lib/domain/risk/rules/iam-user-console-and-keys.ts';
import { iamWildcardServiceActions } from '#lib/domain/risk/rules/iam-wildcard-service-actions.ts';
import { kmsRotationDisabled } from '#lib/domain/risk/rules/kms-rotation-disabled.ts';
import { IDENTITY_RULES } from '#lib/domain/risk/rules/non-cert-index.ts';
import { ownerMissing } from '#lib/domain/risk/rules/ownership-owner-missing.ts';
import { secretNotRotated90d } from '#lib/domain/risk/rules/secret-not-rotated-90d.ts';
import { secretRotationDisabled } from '#lib/domain/risk/rules/secret-rotation-disabled.ts';
import { secretUnused90d } from '#lib/domain/risk/rules/secret-unused-90d.ts';
import { iamEncodePolicy } from '#test/support/fake-iam-server.ts';

/**
 * The identity rules over facts shaped exactly as the discovery sources write them: IAM risk facts come from the
 * source's own analysis (iam-policy-facts.ts) over policy documents encoded as IAM returns them, the rest of each
 * observation's facts as the sources' integration tests expect them.
 */

const NOW = new Date('2026-11-29T12:00:00Z');
const ACCOUNT = '111122223333';
const OTHER_ACCOUNT = '444455556666';
const ADMIN_POLICY = 'arn:aws:iam::aws:policy/AdministratorAccess';
const LAMBDA_BASIC = 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';
const LAMBDA_DEPLOY_POLICY = `arn:aws:iam::${ACCOUNT}:policy/lambda-deploy`;
const GITHUB_PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
const USER_ARN = `arn:aws:iam::${ACCOUNT}:user/admin`;

const doc = (...Statement: Record<string, unknown>[]) => ({ Version: '2012-10-17', Statement });
const allow = (Action: string | string[], Resource: string | string[] = '*') => ({ Effect: 'Allow', Action, Resource });
const assume = (Principal: unknown, extra: Record<string, unknown> = {}) => ({
  Effect: 'Allow',
  Principal,
  Action: 'sts:AssumeRole',
  ...extra,
});

/** A policy as the source reads one: URL-encoded by IAM, then parsed. */
function policy(ref: string, document: Record<string, unknown>): NamedPolicy {
  const parsed = parsePolicyDocument(iamEncodePolicy(document));
  if (!parsed) throw new Error(`test policy ${ref} does not parse`);
  return { ref, document: parsed };
}

const ADMINISTRATOR_ACCESS = policy(ADMIN_POLICY, doc(allow('*')));
const LAMBDA_BASIC_POLICY = policy(
  LAMBDA_BASIC,
  doc(allow(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'])),
);
const LAMBDA_DEPLOY = policy(
  LAMBDA_DEPLOY_POLICY,
  doc(allow(['iam:PassRole', 'lambda:CreateFunction', 'lambda:InvokeFunction'])),
);
const INVOKE_MODEL = policy('inline:invoke-model', doc(allow('bedrock:InvokeModel')));

const LAMBDA_TRUST = doc(assume({ Service: 'lambda.amazonaws.com' }));
const BEDROCK_AGENT_TRUST = doc(
  assume(
    { Service: 'bedrock.amazonaws.com' },
    {
      Condition: {
        StringEquals: { 'aws:SourceAccount': ACCOUNT },
        ArnLike: { 'AWS:SourceArn': `arn:aws:bedrock:us-east-1:${ACCOUNT}:agent/*` },
      },
    },
  ),
);

interface RoleSpec {
  readonly trust: Record<string, unknown>;
  readonly policies?: readonly NamedPolicy[];
  readonly createDate?: string;
  readonly lastUsed?: { readonly date: string; readonly region: string } | null;
  readonly path?: string;
  readonly agentTag?: boolean;
}

/** A role's facts as `roleObservation` of aws-iam-source.ts builds them. */
function roleFacts(spec: RoleSpec): { type: AnyIdentityType; facts: Facts } {
  const policies = spec.policies ?? [];
  const trustDocument = parsePolicyDocument(iamEncodePolicy(spec.trust));
  const trust = analyseTrust(trustDocument, ACCOUNT);
  const agentSignals = [...trust.agentSignals, ...(spec.agentTag ? ['tag:mim:kind=agent'] : [])];
  const facts: Facts = {
    id: 'AROAEXAMPLE0000000001',
    path: spec.path ?? '/',
    createDate: spec.createDate ?? '2025-04-01T00:00:00.000Z',
    roleLastUsed:
      spec.lastUsed === undefined || spec.lastUsed === null
        ? null
        : { lastUsedDate: spec.lastUsed.date, region: spec.lastUsed.region },
    maxSessionDuration: 3600,
    permissionsBoundary: null,
    attachedPolicies: policies.filter((p) => p.ref.startsWith('arn:')).map((p) => p.ref),
    inlinePolicies: policies.filter((p) => p.ref.startsWith('inline:')).map((p) => p.ref.slice('inline:'.length)),
    instanceProfiles: [],
    agentSignals,
    trust: trust.trust,
    risk: {
      adminActions: adminActionFacts(policies),
      wildcardServiceActions: wildcardServiceActionFacts(policies),
      privilegeEscalation: privilegeEscalationFacts(policies),
      unreadablePolicies: [...unreadablePolicies(policies), ...(trustDocument === undefined ? ['trust'] : [])],
      trustAnyPrincipal: trust.trustAnyPrincipal,
      crossAccountTrustWithoutExternalId: trust.crossAccountTrustWithoutExternalId,
      githubOidcWithoutSub: trust.githubOidcWithoutSub,
    },
  };
  return { type: agentSignals.length > 0 ? 'ai-agent' : 'iam-role', facts };
}

/**
 * A user's facts as `userObservation` builds them. `consolePassword` and `activeAccessKeys` are left out unless given
 * (in `extra`), as facts recorded before the source read them: the rules then read `passwordLastUsed` alone.
 */
function userFacts(spec: { policies?: readonly NamedPolicy[]; passwordLastUsed?: string | null; extra?: Facts }) {
  const policies = spec.policies ?? [];
  return {
    id: 'AIDAEXAMPLE0000000001',
    path: '/',
    createDate: '2024-06-01T09:00:00.000Z',
    passwordLastUsed: spec.passwordLastUsed ?? null,
    mfaDevices: 1,
    agentSignals: [],
    groups: [],
    permissionsBoundary: null,
    attachedPolicies: policies.map((p) => p.ref),
    inlinePolicies: [],
    risk: {
      adminActions: adminActionFacts(policies),
      wildcardServiceActions: wildcardServiceActionFacts(policies),
      privilegeEscalation: privilegeEscalationFacts(policies),
      unreadablePolicies: unreadablePolicies(policies),
    },
    ...spec.extra,
  } satisfies Facts;
}

/** An access key's facts as `accessKeyObservation` builds them. */
function accessKeyFacts(spec: {
  status?: 'Active' | 'Inactive';
  createDate?: string;
  lastUsed?: string | null;
  userArn?: string;
}): Facts {
  return {
    user: 'admin',
    userArn: spec.userArn ?? USER_ARN,
    status: spec.status ?? 'Active',
    createDate: spec.createDate ?? '2024-06-02T10:00:00.000Z',
    lastUsed:
      spec.lastUsed === undefined || spec.lastUsed === null
        ? null
        : { date: spec.lastUsed, serviceName: 'iam', region: 'us-east-1' },
  };
}

/** A secret's facts as `secretFacts` of aws-secrets-manager-source.ts builds them (the ROTATED secret of its test). */
function secretFacts(extra: Facts = {}): Facts {
  return {
    rotationEnabled: true,
    rotationRules: { automaticallyAfterDays: 30, scheduleExpression: 'rate(30 days)', duration: '2h' },
    lastRotatedDate: '2026-10-01',
    lastAccessedDate: '2026-11-20',
    nextRotationDate: '2026-10-31T23:59:59.000Z',
    owningService: null,
    kmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    createdDate: '2025-02-14T16:40:00.500Z',
    primaryRegion: null,
    ...extra,
  };
}

/** The never-rotated, never-read secret of the source's test. */
const UNROTATED_SECRET: Facts = {
  rotationEnabled: false,
  rotationRules: null,
  lastRotatedDate: null,
  lastAccessedDate: null,
  nextRotationDate: null,
  owningService: null,
  kmsKeyId: 'alias/aws/secretsmanager',
  createdDate: '2024-01-09T10:00:00.000Z',
  primaryRegion: 'us-west-2',
};

/** A KMS key's facts as `keyFacts` of aws-kms-source.ts builds them (the rotated key of its test). */
function kmsFacts(extra: Facts = {}): Facts {
  return {
    keySpec: 'SYMMETRIC_DEFAULT',
    keyUsage: 'ENCRYPT_DECRYPT',
    keyState: 'Enabled',
    origin: 'AWS_KMS',
    keyManager: 'CUSTOMER',
    multiRegion: false,
    creationDate: '2025-01-10T08:30:00.000Z',
    rotationEnabled: true,
    aliases: ['alias/payments', 'alias/payments-data'],
    description: 'Payments data key',
    ...extra,
  };
}

const SOURCE_OF: Record<AnyIdentityType, IdentitySource> = {
  'x509-certificate': 'aws-acm',
  'iam-role': 'aws-iam',
  'iam-user': 'aws-iam',
  'iam-access-key': 'aws-iam',
  'ai-agent': 'aws-iam',
  secret: 'aws-secrets-manager',
  'kms-key': 'aws-kms',
  'api-key': 'import',
  'ssh-key': 'import',
  'service-account': 'import',
  password: 'import',
};

function subject(
  type: AnyIdentityType,
  facts: Facts,
  extra: Partial<Pick<RiskSubject, 'status' | 'owner' | 'source'>> = {},
): RiskSubject {
  return {
    identityId: 'd-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    type,
    source: SOURCE_OF[type],
    status: 'active',
    owner: 'platform',
    facts,
    ...extra,
  };
}

const role = (spec: RoleSpec, extra: Partial<Pick<RiskSubject, 'status' | 'owner'>> = {}) => {
  const { type, facts } = roleFacts(spec);
  return subject(type, facts, extra);
};

interface Case {
  readonly rule: RiskRule;
  /** Subjects it fires for, each with text its explanation must contain. */
  readonly fires: ReadonlyArray<{ readonly name: string; readonly subject: RiskSubject; readonly says: string[] }>;
  /** Subjects it must not fire for. */
  readonly quiet: ReadonlyArray<{ readonly name: string; readonly subject: RiskSubject }>;
}

const CASES: Case[] = [
  {
    rule: iamAccessKeyOld,
    fires: [
      {
        name: 'an active key created 910 days ago',
        subject: subject('iam-access-key', accessKeyFacts({ lastUsed: '2026-11-27' })),
        says: ['IAM user admin', 'created 2024-06-02 (910 days ago)', 'last used 2026-11-27 (2 days ago)'],
      },
      {
        name: 'an active key never used',
        subject: subject('iam-access-key', accessKeyFacts({ createDate: '2026-08-01T00:00:00.000Z' })),
        says: ['created 2026-08-01 (120 days ago)', 'never used'],
      },
    ],
    quiet: [
      { name: 'an inactive old key', subject: subject('iam-access-key', accessKeyFacts({ status: 'Inactive' })) },
      {
        name: 'a key 90 days old',
        subject: subject('iam-access-key', accessKeyFacts({ createDate: '2026-08-31T13:00:00.000Z' })),
      },
      { name: 'a key without a createDate', subject: subject('iam-access-key', { status: 'Active' }) },
    ],
  },
  {
    rule: iamCredentialsUnused,
    fires: [
      {
        name: 'an active key last used 89 days ago',
        subject: subject('iam-access-key', accessKeyFacts({ lastUsed: '2026-09-01' })),
        says: ['IAM user admin', 'last used 2026-09-01 (89 days ago) (iam)'],
      },
      {
        name: 'an active key never used, created 120 days ago',
        subject: subject('iam-access-key', accessKeyFacts({ createDate: '2026-08-01T00:00:00.000Z' })),
        says: ['never been used since it was created 2026-08-01 (120 days ago)'],
      },
      {
        name: 'a user who last signed in 120 days ago',
        subject: subject('iam-user', userFacts({ passwordLastUsed: '2026-08-01' })),
        says: ['console password 2026-08-01 (120 days ago)'],
      },
      {
        name: 'a user whose console password was never used',
        subject: subject('iam-user', userFacts({ extra: { consolePassword: true } })),
        says: ['never used', 'created 2024-06-01'],
      },
    ],
    quiet: [
      {
        name: 'an active key used 2 days ago',
        subject: subject('iam-access-key', accessKeyFacts({ lastUsed: '2026-11-27' })),
      },
      {
        name: 'an inactive key unused for a year',
        subject: subject('iam-access-key', accessKeyFacts({ status: 'Inactive', lastUsed: '2025-11-01' })),
      },
      {
        name: 'a user who signed in last week',
        subject: subject('iam-user', userFacts({ passwordLastUsed: '2026-11-20' })),
      },
      { name: 'a user with no password use recorded', subject: subject('iam-user', userFacts({})) },
      {
        name: 'a user whose password was removed',
        subject: subject('iam-user', userFacts({ passwordLastUsed: '2025-01-01', extra: { consolePassword: false } })),
      },
    ],
  },
  {
    rule: iamRoleUnused,
    fires: [
      {
        name: 'a role never used, created in April 2025',
        subject: role({ trust: LAMBDA_TRUST }),
        says: ['no recorded use', 'created 2025-04-01 (607 days ago)'],
      },
      {
        name: 'a role last used in June',
        subject: role({ trust: LAMBDA_TRUST, lastUsed: { date: '2026-06-01', region: 'eu-west-1' } }),
        says: ['last used 2026-06-01 (181 days ago) in eu-west-1'],
      },
      {
        name: 'an agent role never used',
        subject: role({ trust: BEDROCK_AGENT_TRUST, policies: [INVOKE_MODEL] }),
        says: ['no recorded use'],
      },
    ],
    quiet: [
      {
        name: 'a role used yesterday',
        subject: role({ trust: LAMBDA_TRUST, lastUsed: { date: '2026-11-28', region: 'eu-west-1' } }),
      },
      {
        name: 'a new role not used yet',
        subject: role({ trust: LAMBDA_TRUST, createDate: '2026-11-01T00:00:00.000Z' }),
      },
      {
        name: 'a service-linked role',
        subject: role({ trust: LAMBDA_TRUST, path: '/aws-service-role/lambda.amazonaws.com/' }),
      },
    ],
  },
  {
    rule: iamAdminEquivalent,
    fires: [
      {
        name: 'a user with AdministratorAccess',
        subject: subject('iam-user', userFacts({ policies: [ADMINISTRATOR_ACCESS] })),
        says: [`allow *, iam:*, sts:* on * (granted by ${ADMIN_POLICY}):`],
      },
      {
        name: 'a role allowed iam:* under a condition',
        subject: role({
          trust: LAMBDA_TRUST,
          policies: [
            policy(
              'inline:iam-admin',
              doc({ ...allow('iam:*'), Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } } }),
            ),
          ],
          lastUsed: { date: '2026-11-28', region: 'eu-west-1' },
        }),
        says: ['iam:* on * (granted by inline:iam-admin), only under conditions'],
      },
    ],
    quiet: [
      {
        name: 'a user tagged as an agent (AGENT_ADMIN_EQUIVALENT judges it)',
        subject: subject(
          'iam-user',
          userFacts({ policies: [ADMINISTRATOR_ACCESS], extra: { agentSignals: ['tag:mim:kind=agent'] } }),
        ),
      },
      { name: 'a Lambda role', subject: role({ trust: LAMBDA_TRUST, policies: [LAMBDA_BASIC_POLICY] }) },
      {
        name: 'an agent with AdministratorAccess (its own rule)',
        subject: role({ trust: BEDROCK_AGENT_TRUST, policies: [ADMINISTRATOR_ACCESS] }),
      },
      { name: 'a user without risk facts', subject: subject('iam-user', { createDate: '2024-06-01T09:00:00.000Z' }) },
    ],
  },
  {
    rule: iamWildcardServiceActions,
    fires: [
      {
        name: 'a role with a recorded s3:* grant',
        subject: subject('iam-role', {
          ...roleFacts({ trust: LAMBDA_TRUST }).facts,
          risk: {
            adminActions: [],
            privilegeEscalation: [],
            unreadablePolicies: [],
            wildcardServiceActions: [
              { action: 's3:*', conditional: false, grantedBy: [`arn:aws:iam::${ACCOUNT}:policy/data`] },
            ],
          },
        }),
        says: [`s3:* on * (granted by arn:aws:iam::${ACCOUNT}:policy/data)`],
      },
      {
        name: 'a user whose policy allows s3:* and sqs:* on *, under conditions for SQS',
        subject: subject(
          'iam-user',
          userFacts({
            policies: [
              policy(
                `arn:aws:iam::${ACCOUNT}:policy/data`,
                doc(allow('s3:*'), {
                  ...allow('sqs:*'),
                  Condition: { StringEquals: { 'aws:SourceVpc': 'vpc-0123' } },
                }),
              ),
            ],
          }),
        ),
        says: [
          `s3:* on * (granted by arn:aws:iam::${ACCOUNT}:policy/data)`,
          `sqs:* on * (granted by arn:aws:iam::${ACCOUNT}:policy/data), only under conditions`,
        ],
      },
      {
        name: 'PowerUserAccess (NotAction): every service but those it names',
        subject: role({
          trust: LAMBDA_TRUST,
          policies: [
            policy(
              'arn:aws:iam::aws:policy/PowerUserAccess',
              doc({ Effect: 'Allow', NotAction: ['iam:*', 'organizations:*', 'account:*'], Resource: '*' }),
            ),
          ],
        }),
        says: [
          '* except [account:*, iam:*, organizations:*] on * (granted by arn:aws:iam::aws:policy/PowerUserAccess)',
        ],
      },
    ],
    quiet: [
      {
        name: 'a user with AdministratorAccess (IAM_ADMIN_EQUIVALENT reports it)',
        subject: subject('iam-user', userFacts({ policies: [ADMINISTRATOR_ACCESS] })),
      },
      {
        name: 'a role allowed s3:* on one bucket only',
        subject: role({
          trust: LAMBDA_TRUST,
          policies: [policy('inline:reports', doc(allow('s3:*', ['arn:aws:s3:::reports', 'arn:aws:s3:::reports/*'])))],
        }),
      },
      {
        name: 'a Lambda role that writes logs',
        subject: role({ trust: LAMBDA_TRUST, policies: [LAMBDA_BASIC_POLICY] }),
      },
    ],
  },
  {
    rule: iamPrivilegeEscalation,
    fires: [
      {
        name: 'a user whose group can pass a role to a new Lambda',
        subject: subject('iam-user', userFacts({ policies: [LAMBDA_DEPLOY] })),
        says: [
          `a privilege escalation path (granted by ${LAMBDA_DEPLOY_POLICY}): PassExistingRoleToNewLambdaThenInvoke`,
          '(iam:PassRole + lambda:CreateFunction + lambda:InvokeFunction)',
        ],
      },
      {
        name: 'an agent allowed iam:* (many paths)',
        subject: role({ trust: BEDROCK_AGENT_TRUST, policies: [policy('inline:iam', doc(allow('iam:*')))] }),
        says: [
          '12 privilege escalation paths (granted by inline:iam): AddUserToGroup (iam:AddUserToGroup);',
          'and 7 more',
        ],
      },
    ],
    quiet: [
      { name: 'a Lambda role', subject: role({ trust: LAMBDA_TRUST, policies: [LAMBDA_BASIC_POLICY] }) },
      {
        name: 'a full administrator (reported as such)',
        subject: subject('iam-user', userFacts({ policies: [ADMINISTRATOR_ACCESS] })),
      },
    ],
  },
  {
    rule: iamTrustAnyPrincipal,
    fires: [
      {
        name: 'Principal "*"',
        subject: role({ trust: doc(assume('*')) }),
        says: ['any principal', 'without conditions'],
      },
      {
        name: 'AWS "*" under an org condition',
        subject: role({
          trust: doc(assume({ AWS: '*' }, { Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abc123' } } })),
        }),
        says: ['limited only by conditions'],
      },
    ],
    quiet: [{ name: 'a service trust', subject: role({ trust: LAMBDA_TRUST }) }],
  },
  {
    rule: iamCrossAccountNoExternalId,
    fires: [
      {
        name: "another account's root, no external id",
        subject: role({ trust: doc(assume({ AWS: `arn:aws:iam::${OTHER_ACCOUNT}:root` })) }),
        says: [`account ${OTHER_ACCOUNT}`],
      },
    ],
    quiet: [
      {
        name: 'with an external id',
        subject: role({
          trust: doc(
            assume(
              { AWS: `arn:aws:iam::${OTHER_ACCOUNT}:root` },
              { Condition: { StringEquals: { 'sts:ExternalId': 'vendor-7f3a' } } },
            ),
          ),
        }),
      },
      { name: 'its own account', subject: role({ trust: doc(assume({ AWS: `arn:aws:iam::${ACCOUNT}:root` })) }) },
    ],
  },
  {
    rule: iamGithubOidcNoSub,
    fires: [
      {
        name: 'an aud condition only',
        subject: role({
          trust: doc({
            Effect: 'Allow',
            Principal: { Federated: GITHUB_PROVIDER },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: { StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' } },
          }),
          path: '/ci/',
        }),
        says: [GITHUB_PROVIDER, 'no condition on the token'],
      },
    ],
    quiet: [
      {
        name: 'a sub condition',
        subject: role({
          trust: doc({
            Effect: 'Allow',
            Principal: { Federated: GITHUB_PROVIDER },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: {
              StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' },
              StringLike: { 'token.actions.githubusercontent.com:sub': 'repo:my-org/my-repo:*' },
            },
          }),
        }),
      },
    ],
  },
  {
    rule: iamUserConsoleAndKeys,
    fires: [
      {
        name: 'a console user with an active key',
        subject: subject(
          'iam-user',
          userFacts({ passwordLastUsed: '2026-11-20', extra: { activeAccessKeys: ['AKIAADMINKEY00000001'] } }),
        ),
        says: ['last on 2026-11-20, 9 days ago', 'an active access key (AKIAADMINKEY00000001)'],
      },
    ],
    quiet: [
      {
        name: 'a console user without active keys',
        subject: subject(
          'iam-user',
          userFacts({ passwordLastUsed: '2026-11-20', extra: { consolePassword: true, activeAccessKeys: [] } }),
        ),
      },
      {
        name: 'a console user recorded before the source read its keys (no activeAccessKeys)',
        subject: subject('iam-user', userFacts({ passwordLastUsed: '2026-11-20' })),
      },
      {
        name: 'a user with keys and no console password',
        subject: subject(
          'iam-user',
          userFacts({ extra: { consolePassword: false, activeAccessKeys: ['AKIAADMINKEY00000001'] } }),
        ),
      },
    ],
  },
  {
    rule: iamRootAccessKey,
    fires: [
      {
        name: 'an active key of the root user',
        subject: subject(
          'iam-access-key',
          accessKeyFacts({ userArn: `arn:aws:iam::${ACCOUNT}:root`, createDate: '2019-05-01T00:00:00.000Z' }),
        ),
        says: [`root user of ${ACCOUNT}`, 'created 2019-05-01'],
      },
    ],
    quiet: [
      { name: "an IAM user's key", subject: subject('iam-access-key', accessKeyFacts({})) },
      {
        name: 'an inactive root key',
        subject: subject(
          'iam-access-key',
          accessKeyFacts({ userArn: `arn:aws:iam::${ACCOUNT}:root`, status: 'Inactive' }),
        ),
      },
    ],
  },
  {
    rule: secretRotationDisabled,
    fires: [
      {
        name: 'a secret never rotated',
        subject: subject('secret', UNROTATED_SECRET),
        says: ['never rotated since it was created 2024-01-09 (1055 days ago)'],
      },
      {
        name: 'an RDS-managed secret with rotation off',
        subject: subject('secret', secretFacts({ rotationEnabled: false, owningService: 'rds' })),
        says: ['last rotated 2026-10-01 (59 days ago)'],
      },
    ],
    quiet: [
      { name: 'a rotated secret', subject: subject('secret', secretFacts()) },
      {
        name: 'a secret scheduled for deletion',
        subject: subject('secret', { ...UNROTATED_SECRET, deletedDate: '2026-12-01T00:00:00.000Z' }),
      },
      { name: 'a secret without rotationEnabled', subject: subject('secret', { lastRotatedDate: null }) },
    ],
  },
  {
    rule: secretNotRotated90d,
    fires: [
      {
        name: 'last rotated in June on a 30-day schedule',
        subject: subject('secret', secretFacts({ lastRotatedDate: '2026-06-01' })),
        says: ['last rotated 2026-06-01 (181 days ago)', 'every 30 days'],
      },
      {
        name: 'rotation on, never rotated',
        subject: subject('secret', secretFacts({ lastRotatedDate: null })),
        says: ['never rotated since it was created 2025-02-14'],
      },
    ],
    quiet: [
      { name: 'rotated 59 days ago', subject: subject('secret', secretFacts()) },
      { name: 'rotation off (its own rule)', subject: subject('secret', UNROTATED_SECRET) },
      {
        name: 'rotation on, new, not rotated yet',
        subject: subject('secret', secretFacts({ lastRotatedDate: null, createdDate: '2026-11-25T00:00:00.000Z' })),
      },
    ],
  },
  {
    rule: secretUnused90d,
    fires: [
      {
        name: 'never accessed, created in 2024',
        subject: subject('secret', UNROTATED_SECRET),
        says: ['never been accessed since it was created 2024-01-09 (1055 days ago)'],
      },
      {
        name: 'last accessed in May',
        subject: subject('secret', secretFacts({ lastAccessedDate: '2026-05-01' })),
        says: ['last accessed 2026-05-01 (212 days ago)'],
      },
    ],
    quiet: [
      { name: 'accessed 9 days ago', subject: subject('secret', secretFacts()) },
      { name: 'an unexpected date', subject: subject('secret', secretFacts({ lastAccessedDate: 'yesterday' })) },
    ],
  },
  {
    rule: kmsRotationDisabled,
    fires: [
      {
        name: 'a customer symmetric key with rotation off',
        subject: subject('kms-key', kmsFacts({ rotationEnabled: false })),
        says: ['alias/payments, alias/payments-data', 'created 2025-01-10 (688 days ago)'],
      },
    ],
    quiet: [
      { name: 'rotation on', subject: subject('kms-key', kmsFacts()) },
      {
        name: 'a signing key (not applicable)',
        subject: subject(
          'kms-key',
          kmsFacts({ keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY', rotationEnabled: 'not-applicable' }),
        ),
      },
      {
        name: 'imported key material (not applicable)',
        subject: subject('kms-key', kmsFacts({ origin: 'EXTERNAL', rotationEnabled: 'not-applicable' })),
      },
      { name: 'rotation unknown', subject: subject('kms-key', kmsFacts({ rotationEnabled: null })) },
      {
        name: 'pending deletion',
        subject: subject(
          'kms-key',
          kmsFacts({ keyState: 'PendingDeletion', deletionDate: '2026-12-07T00:00:00.000Z', rotationEnabled: false }),
        ),
      },
      { name: 'AWS managed', subject: subject('kms-key', kmsFacts({ keyManager: 'AWS', rotationEnabled: false })) },
    ],
  },
  {
    rule: ownerMissing,
    fires: [
      {
        name: 'an untagged role',
        subject: role({ trust: LAMBDA_TRUST }, { owner: undefined }),
        says: ['no owner or team tag'],
      },
      { name: 'an unowned secret', subject: subject('secret', secretFacts(), { owner: undefined }), says: ['Nobody'] },
      {
        name: 'an issued certificate without an owner',
        subject: subject('x509-certificate', {}, { owner: undefined, source: 'issued' }),
        says: ['no owner was recorded at issuance'],
      },
      { name: 'a blank owner', subject: subject('kms-key', kmsFacts(), { owner: '  ' }), says: ['Nobody'] },
    ],
    quiet: [
      { name: 'an owned role', subject: role({ trust: LAMBDA_TRUST }) },
      {
        name: 'an access key (owned through its user)',
        subject: subject('iam-access-key', accessKeyFacts({}), { owner: undefined }),
      },
      {
        name: 'a service-linked role',
        subject: role({ trust: LAMBDA_TRUST, path: '/aws-service-role/lambda.amazonaws.com/' }, { owner: undefined }),
      },
    ],
  },
  {
    rule: agentAdminEquivalent,
    fires: [
      {
        name: 'a Bedrock agent role with AdministratorAccess',
        subject: role({ trust: BEDROCK_AGENT_TRUST, policies: [ADMINISTRATOR_ACCESS] }),
        says: [`allow *, iam:*, sts:* on * (granted by ${ADMIN_POLICY}):`],
      },
      {
        name: 'a role tagged as an agent allowed sts:*',
        subject: role({ trust: LAMBDA_TRUST, agentTag: true, policies: [policy('inline:sts', doc(allow('sts:*')))] }),
        says: ['sts:* on * (granted by inline:sts)'],
      },
      {
        name: 'a user tagged as an agent with AdministratorAccess (not IAM_ADMIN_EQUIVALENT: one finding, the worse)',
        subject: subject(
          'iam-user',
          userFacts({ policies: [ADMINISTRATOR_ACCESS], extra: { agentSignals: ['tag:mim:kind=agent'] } }),
        ),
        says: ['can act as an administrator'],
      },
    ],
    quiet: [
      {
        name: 'a Bedrock agent that invokes models',
        subject: role({ trust: BEDROCK_AGENT_TRUST, policies: [INVOKE_MODEL] }),
      },
      {
        name: 'an administrator role that is not an agent (its own rule)',
        subject: role({ trust: LAMBDA_TRUST, policies: [ADMINISTRATOR_ACCESS] }),
      },
    ],
  },
  {
    rule: agentLongLivedKeys,
    fires: [
      {
        name: 'a user with agent signals and active keys',
        subject: subject(
          'iam-user',
          userFacts({
            extra: {
              agentSignals: ['tag:mim:kind=agent'],
              activeAccessKeys: ['AKIAAGENTKEY00000001', 'AKIAAGENTKEY00000002'],
            },
          }),
        ),
        says: ['(tag:mim:kind=agent)', '2 active access keys (AKIAAGENTKEY00000001, AKIAAGENTKEY00000002)'],
      },
    ],
    quiet: [
      {
        name: 'a user with active keys and no agent signal',
        subject: subject('iam-user', userFacts({ extra: { activeAccessKeys: ['AKIAADMINKEY00000001'] } })),
      },
      {
        name: 'an agent role as the source records it (roles have no keys)',
        subject: role({ trust: BEDROCK_AGENT_TRUST, policies: [INVOKE_MODEL] }),
      },
    ],
  },
];

describe('identity risk rules', () => {
  it('are all registered, once, and every one is tested', () => {
    expect(new Set(IDENTITY_RULES).size).toBe(IDENTITY_RULES.length);
    expect(new Set(CASES.map((c) => c.rule))).toEqual(new Set(IDENTITY_RULES));
  });

  it('have unique, upper snake case codes', () => {
    const codes = IDENTITY_RULES.map((rule) => rule.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/);
  });

  it('have a title and apply to at least one type', () => {
    for (const rule of IDENTITY_RULES) {
      expect(rule.title.length).toBeGreaterThan(0);
      expect(rule.appliesTo.length).toBeGreaterThan(0);
    }
  });

  for (const { rule, fires, quiet } of CASES) {
    describe(rule.code, () => {
      for (const { name, subject: s, says } of fires) {
        it(`fires for ${name}`, () => {
          expect(rule.appliesTo).toContain(s.type);
          const finding = rule.evaluate(s, NOW);
          expect(finding).toMatchObject({ rule: rule.code, severity: rule.severity });
          expect(finding?.control).toBe(rule.control);
          for (const text of says) expect(finding?.explanation).toContain(text);
          expect(finding?.remediation.length).toBeGreaterThan(20);
        });

        it(`does not fire for ${name} once missing or retired`, () => {
          expect(rule.evaluate({ ...s, status: 'missing' }, NOW)).toBeUndefined();
          expect(rule.evaluate({ ...s, status: 'retired' }, NOW)).toBeUndefined();
        });
      }
      for (const { name, subject: s } of quiet) {
        it(`does not fire for ${name}`, () => {
          expect(rule.evaluate(s, NOW)).toBeUndefined();
        });
      }
    });
  }

  it('never throw, and do not fire, on facts of unexpected shapes', () => {
    const odd: Facts[] = [
      {},
      { risk: null, status: null, createDate: null, roleLastUsed: 'never', trust: [] },
      {
        risk: { adminActions: 'all', privilegeEscalation: [null, 1, { method: 7 }], trustAnyPrincipal: true },
        status: 'Active',
        createDate: 'long ago',
        lastUsed: { date: 20240101 },
        rotationEnabled: 'false',
        lastRotatedDate: '2020-13-45',
        lastAccessedDate: { day: '2020-01-01' },
        activeAccessKeys: [1, 2],
        agentSignals: 'agent',
        keyState: ['Enabled'],
        passwordLastUsed: 12,
      },
    ];
    for (const rule of IDENTITY_RULES.filter((r) => r !== ownerMissing)) {
      for (const type of ALL_IDENTITY_TYPES) {
        for (const facts of odd) {
          expect(() => rule.evaluate(subject(type, facts), NOW)).not.toThrow();
          expect(rule.evaluate(subject(type, facts), NOW)).toBeUndefined();
        }
      }
    }
  });
});
