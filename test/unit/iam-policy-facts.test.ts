import { describe, expect, it } from 'vitest';
import {
  actionMatches,
  adminActionFacts,
  analyseTrust,
  type NamedPolicy,
  type PolicyStatement,
  PRIVILEGE_ESCALATION_METHODS,
  parsePolicyDocument,
  privilegeEscalationFacts,
  statementAllows,
  unreadablePolicies,
  wildcardServiceActionFacts,
} from '#lib/adapters/discovery/iam-policy-facts.ts';
import { iamEncodePolicy } from '#test/support/fake-iam-server.ts';

const ACCOUNT = '111122223333';

/** A policy as the source builds one, from statements written as in a policy document. */
function policy(ref: string, ...statements: Record<string, unknown>[]): NamedPolicy {
  const document = parsePolicyDocument(iamEncodePolicy({ Version: '2012-10-17', Statement: statements }));
  if (!document) throw new Error(`test policy ${ref} does not parse`);
  return { ref, document };
}

const allow = (Action: unknown, extra: Record<string, unknown> = {}) => ({
  Effect: 'Allow',
  Action,
  Resource: '*',
  ...extra,
});

const methods = (...policies: NamedPolicy[]) =>
  privilegeEscalationFacts(policies).map((fact) => (fact as { method: string }).method);

describe('parsePolicyDocument', () => {
  it('decodes IAM’s URL-encoded JSON and takes Statement as one object or a list', () => {
    const one = parsePolicyDocument(
      iamEncodePolicy({ Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' } }),
    );
    expect(one?.Statement).toEqual([{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['*'] }]);
    const list = parsePolicyDocument(
      '%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Deny%22%2C%22NotAction%22%3A%5B%22iam%3A%2A%22%5D%2C%22NotResource%22%3A%22arn%3Aaws%3As3%3A%3A%3Aa%2Bb%22%7D%5D%7D',
    );
    // RFC 3986 encoding: a `+` in the document is a plus (%2B), never a space.
    expect(list?.Statement).toEqual([{ Effect: 'Deny', NotAction: ['iam:*'], NotResource: ['arn:aws:s3:::a+b'] }]);
  });

  it('keeps principals and conditions', () => {
    const document = parsePolicyDocument(
      iamEncodePolicy({
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: 'arn:aws:iam::444455556666:root', Service: ['ec2.amazonaws.com'] },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'sts:ExternalId': 'x', 'aws:MultiFactorAuthPresent': true } },
          },
        ],
      }),
    );
    expect(document?.Statement[0]?.Principal).toEqual({
      AWS: ['arn:aws:iam::444455556666:root'],
      Service: ['ec2.amazonaws.com'],
    });
    expect(document?.Statement[0]?.Condition).toEqual({
      StringEquals: { 'sts:ExternalId': 'x', 'aws:MultiFactorAuthPresent': true },
    });
  });

  it('returns undefined for what is not a policy document', () => {
    expect(parsePolicyDocument('%E0%A4%A')).toBeUndefined(); // malformed percent-encoding
    expect(parsePolicyDocument('not json')).toBeUndefined();
    expect(parsePolicyDocument(iamEncodePolicy({ Version: '2012-10-17' }))).toBeUndefined();
    expect(parsePolicyDocument(iamEncodePolicy({ Statement: [{ Effect: 'Maybe', Action: '*' }] }))).toBeUndefined();
  });
});

describe('actionMatches', () => {
  it('matches IAM action globs case-insensitively', () => {
    expect(actionMatches('iam:PassRole', 'iam:passrole')).toBe(true);
    expect(actionMatches('*', 'iam:PassRole')).toBe(true);
    expect(actionMatches('iam:*', 'iam:PassRole')).toBe(true);
    expect(actionMatches('IAM:Put*', 'iam:PutRolePolicy')).toBe(true);
    expect(actionMatches('iam:Put*', 'iam:PassRole')).toBe(false);
    expect(actionMatches('iam:P?ssRole', 'iam:PassRole')).toBe(true);
    expect(actionMatches('iam:*Policy', 'iam:AttachUserPolicy')).toBe(true);
    expect(actionMatches('iam:*Policy', 'iam:AttachUserPolicyX')).toBe(false);
    expect(actionMatches('s3:*', 'iam:PassRole')).toBe(false);
    expect(actionMatches('iam:PassRole', 'iam:PassRole2')).toBe(false);
  });

  it('stays fast on patterns built to make a backtracking matcher explode', () => {
    const started = performance.now();
    expect(actionMatches(`${'*a'.repeat(40)}b`, 'a'.repeat(5000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('statementAllows', () => {
  const statement = (s: Record<string, unknown>): PolicyStatement => {
    const document = parsePolicyDocument(iamEncodePolicy({ Statement: [s] }));
    const first = document?.Statement[0];
    if (!first) throw new Error('no statement');
    return first;
  };

  it('allows listed actions, or with NotAction every action not excluded; never on a Deny', () => {
    expect(statementAllows(statement(allow(['iam:PassRole'])), 'iam:PassRole')).toBe(true);
    expect(statementAllows(statement({ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }), 'iam:PassRole')).toBe(
      false,
    );
    expect(
      statementAllows(statement({ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }), 'lambda:CreateFunction'),
    ).toBe(true);
    expect(statementAllows(statement({ Effect: 'Deny', Action: '*', Resource: '*' }), 'iam:PassRole')).toBe(false);
  });
});

describe('adminActionFacts', () => {
  it('records `*`, `iam:*` and `sts:*` on every resource, with where they come from', () => {
    expect(adminActionFacts([policy('arn:aws:iam::aws:policy/AdministratorAccess', allow('*'))])).toEqual([
      { action: '*', conditional: false, grantedBy: ['arn:aws:iam::aws:policy/AdministratorAccess'] },
      { action: 'iam:*', conditional: false, grantedBy: ['arn:aws:iam::aws:policy/AdministratorAccess'] },
      { action: 'sts:*', conditional: false, grantedBy: ['arn:aws:iam::aws:policy/AdministratorAccess'] },
    ]);
    expect(adminActionFacts([policy('inline:iam', allow(['iam:*', 's3:GetObject']))])).toEqual([
      { action: 'iam:*', conditional: false, grantedBy: ['inline:iam'] },
    ]);
    expect(
      adminActionFacts([policy('inline:star-star', allow('*:*'))]).map((f) => (f as { action: string }).action),
    ).toEqual(['*', 'iam:*', 'sts:*']);
  });

  it('needs Resource `*` (or NotResource), and ignores Deny statements', () => {
    expect(
      adminActionFacts([policy('inline:one-role', allow('iam:*', { Resource: 'arn:aws:iam::1:role/x' }))]),
    ).toEqual([]);
    expect(
      adminActionFacts([
        policy('inline:not-resource', { Effect: 'Allow', Action: 'sts:*', NotResource: 'arn:aws:iam::1:role/x' }),
      ]),
    ).toEqual([{ action: 'sts:*', conditional: false, grantedBy: ['inline:not-resource'] }]);
    expect(adminActionFacts([policy('inline:deny', { Effect: 'Deny', Action: '*', Resource: '*' })])).toEqual([]);
    expect(adminActionFacts([policy('inline:wild-prefix', allow('iam:Put*'))])).toEqual([]);
  });

  it('reads NotAction: PowerUserAccess grants all of STS but not all of IAM, nor everything', () => {
    const powerUser = policy(
      'arn:aws:iam::aws:policy/PowerUserAccess',
      { Effect: 'Allow', NotAction: ['iam:*', 'organizations:*', 'account:*'], Resource: '*' },
      allow(['iam:CreateServiceLinkedRole', 'iam:ListRoles']),
    );
    expect(adminActionFacts([powerUser])).toEqual([
      { action: 'sts:*', conditional: false, grantedBy: ['arn:aws:iam::aws:policy/PowerUserAccess'] },
    ]);
  });

  it('marks a grant conditional only when every granting statement has conditions', () => {
    const conditional = policy(
      'inline:mfa',
      allow('*', { Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } } }),
    );
    expect(adminActionFacts([conditional])[0]).toEqual({ action: '*', conditional: true, grantedBy: ['inline:mfa'] });
    expect(adminActionFacts([conditional, policy('inline:plain', allow('*'))])[0]).toEqual({
      action: '*',
      conditional: false,
      grantedBy: ['inline:mfa', 'inline:plain'],
    });
  });
});

describe('wildcardServiceActionFacts (FSBP IAM.21)', () => {
  const actionsOf = (...policies: NamedPolicy[]) =>
    wildcardServiceActionFacts(policies).map((fact) => (fact as { action: string }).action);

  it('records `<service>:*` on every resource, shaped as adminActions, one grant per service', () => {
    expect(wildcardServiceActionFacts([policy('inline:data', allow(['s3:*', 's3:GetObject', 'kms:Decrypt']))])).toEqual(
      [{ action: 's3:*', conditional: false, grantedBy: ['inline:data'] }],
    );
    const managed = `arn:aws:iam::${ACCOUNT}:policy/data`;
    expect(
      wildcardServiceActionFacts([
        policy(managed, allow(['S3:*', 'dynamodb:**'])),
        policy('inline:queue', allow('sqs:*'), allow('s3:*')),
      ]),
    ).toEqual([
      { action: 'dynamodb:*', conditional: false, grantedBy: [managed] },
      { action: 's3:*', conditional: false, grantedBy: [managed, 'inline:queue'] },
      { action: 'sqs:*', conditional: false, grantedBy: ['inline:queue'] },
    ]);
  });

  it('does not record a narrower action, nor a service wildcard on named resources', () => {
    expect(actionsOf(policy('inline:read', allow(['s3:GetObject', 's3:Get*', 's3:*Object'])))).toEqual([]);
    expect(actionsOf(policy('inline:bucket', allow('s3:*', { Resource: 'arn:aws:s3:::reports/*' })))).toEqual([]);
    expect(
      actionsOf(policy('inline:buckets', allow('s3:*', { Resource: ['arn:aws:s3:::a', 'arn:aws:s3:::a/*'] }))),
    ).toEqual([]);
    // NotResource on an Allow leaves every other resource: conservatively, all of them.
    expect(
      actionsOf(policy('inline:not', { Effect: 'Allow', Action: 'ec2:*', NotResource: 'arn:aws:ec2:*:*:vpc/*' })),
    ).toEqual(['ec2:*']);
    expect(actionsOf(policy('inline:deny', { Effect: 'Deny', Action: 's3:*', Resource: '*' }))).toEqual([]);
  });

  it('leaves `*`, `iam:*` and `sts:*` to adminActions; a wildcard service prefix is recorded as written', () => {
    expect(actionsOf(policy('arn:aws:iam::aws:policy/AdministratorAccess', allow('*')))).toEqual([]);
    expect(actionsOf(policy('inline:star-star', allow('*:*')))).toEqual([]);
    expect(actionsOf(policy('inline:iam-sts', allow(['iam:*', 'STS:*', 'lambda:*'])))).toEqual(['lambda:*']);
    expect(actionsOf(policy('inline:prefix', allow('ec2*:*')))).toEqual(['ec2*:*']);
  });

  it('reads NotAction conservatively: every service it does not exclude, as one grant', () => {
    const powerUser = policy('arn:aws:iam::aws:policy/PowerUserAccess', {
      Effect: 'Allow',
      NotAction: ['iam:*', 'organizations:*', 'account:*'],
      Resource: '*',
    });
    expect(wildcardServiceActionFacts([powerUser])).toEqual([
      {
        action: '* except [account:*, iam:*, organizations:*]',
        conditional: false,
        grantedBy: ['arn:aws:iam::aws:policy/PowerUserAccess'],
      },
    ]);
    expect(actionsOf(policy('inline:nothing', { Effect: 'Allow', NotAction: '*', Resource: '*' }))).toEqual([]);
    expect(
      actionsOf(policy('inline:one-bucket', { Effect: 'Allow', NotAction: 'iam:*', Resource: 'arn:aws:s3:::a' })),
    ).toEqual([]);
  });

  it('marks a grant conditional only when every granting statement has conditions', () => {
    const vpcOnly = policy('inline:vpc', allow('s3:*', { Condition: { StringEquals: { 'aws:SourceVpc': 'vpc-1' } } }));
    expect(wildcardServiceActionFacts([vpcOnly])).toEqual([
      { action: 's3:*', conditional: true, grantedBy: ['inline:vpc'] },
    ]);
    expect(wildcardServiceActionFacts([vpcOnly, policy('inline:plain', allow('s3:*'))])).toEqual([
      { action: 's3:*', conditional: false, grantedBy: ['inline:plain', 'inline:vpc'] },
    ]);
  });

  it('skips unreadable policies', () => {
    expect(wildcardServiceActionFacts([{ ref: 'inline:broken', document: undefined }])).toEqual([]);
  });
});

describe('privilegeEscalationFacts', () => {
  it('expands wildcards against the methods: iam:Put* gives the three Put…Policy methods', () => {
    expect(methods(policy('inline:put', allow('iam:Put*')))).toEqual([
      'PutGroupPolicy',
      'PutRolePolicy',
      'PutUserPolicy',
    ]);
  });

  it('iam:* gives every IAM-only method; updating a trust policy also needs sts:AssumeRole', () => {
    const iamOnly = methods(policy('inline:iam', allow('iam:*')));
    expect(iamOnly).toEqual([
      'AddUserToGroup',
      'AttachGroupPolicy',
      'AttachRolePolicy',
      'AttachUserPolicy',
      'CreateAccessKey',
      'CreateLoginProfile',
      'CreateNewPolicyVersion',
      'PutGroupPolicy',
      'PutRolePolicy',
      'PutUserPolicy',
      'SetExistingDefaultPolicyVersion',
      'UpdateLoginProfile',
    ]);
    expect(methods(policy('inline:iam', allow('iam:*')), policy('inline:sts', allow('sts:AssumeRole')))).toContain(
      'UpdateRolePolicyToAssumeIt',
    );
  });

  it('`*` gives every method', () => {
    expect(methods(policy('inline:admin', allow('*')))).toEqual(Object.keys(PRIVILEGE_ESCALATION_METHODS).sort());
  });

  it('combines actions across statements and policies, naming every policy involved', () => {
    const passRole = policy(
      'group:deployers:inline:pass',
      allow('iam:PassRole', { Resource: 'arn:aws:iam::1:role/x' }),
    );
    const lambda = policy('arn:aws:iam::111122223333:policy/lambda-deploy', allow(['lambda:CreateFunction']));
    // PassRole and CreateFunction alone: the function cannot be run by the caller, no method is complete.
    expect(methods(passRole, lambda)).toEqual([]);
    const invoke = policy('inline:invoke', allow('lambda:Invoke*'));
    expect(privilegeEscalationFacts([passRole, lambda, invoke])).toEqual([
      {
        method: 'PassExistingRoleToNewLambdaThenInvoke',
        actions: ['iam:PassRole', 'lambda:CreateFunction', 'lambda:InvokeFunction'],
        conditional: false,
        grantedBy: ['arn:aws:iam::111122223333:policy/lambda-deploy', 'group:deployers:inline:pass', 'inline:invoke'],
      },
    ]);
  });

  it('finds the other PassRole methods', () => {
    expect(methods(policy('p', allow(['iam:PassRole', 'ec2:RunInstances'])))).toEqual(['CreateEC2WithExistingIP']);
    expect(methods(policy('p', allow(['iam:PassRole', 'cloudformation:CreateStack'])))).toEqual([
      'PassExistingRoleToCloudFormation',
    ]);
    expect(methods(policy('p', allow(['iam:PassRole', 'glue:CreateDevEndpoint'])))).toEqual([
      'PassExistingRoleToNewGlueDevEndpoint',
    ]);
    expect(methods(policy('p', allow(['iam:PassRole', 'lambda:*', 'dynamodb:*'])))).toEqual([
      'EditExistingLambdaFunctionWithRole',
      'PassExistingRoleToNewLambdaThenInvoke',
      'PassExistingRoleToNewLambdaThenTriggerWithExistingDynamo',
      'PassExistingRoleToNewLambdaThenTriggerWithNewDynamo',
    ]);
    expect(methods(policy('p', allow(['iam:PassRole', 'datapipeline:CreatePipeline'])))).toEqual([]);
  });

  it('treats NotAction on an Allow as allowing every action it does not exclude', () => {
    const allButIam = methods(policy('p', { Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }));
    expect(allButIam).toEqual(['EditExistingLambdaFunctionWithRole', 'UpdateExistingGlueDevEndpoint']);
    const allButCreate = methods(
      policy('p', { Effect: 'Allow', NotAction: ['iam:Create*', 'iam:Pass*'], Resource: '*' }),
    );
    expect(allButCreate).not.toContain('CreateAccessKey');
    expect(allButCreate).not.toContain('CreateNewPolicyVersion');
    expect(allButCreate).not.toContain('CreateEC2WithExistingIP');
    expect(allButCreate).toContain('AttachUserPolicy');
    expect(allButCreate).toContain('UpdateRolePolicyToAssumeIt');
  });

  it('ignores Deny statements (they may be conditional) and keeps conditional Allows, marked', () => {
    const facts = privilegeEscalationFacts([
      policy('p', allow('iam:CreateAccessKey', { Condition: { StringEquals: { 'aws:ResourceTag/team': 'x' } } }), {
        Effect: 'Deny',
        Action: 'iam:*',
        Resource: '*',
      }),
    ]);
    expect(facts).toEqual([
      { method: 'CreateAccessKey', actions: ['iam:CreateAccessKey'], conditional: true, grantedBy: ['p'] },
    ]);
  });

  it('skips unreadable policies, which unreadablePolicies lists', () => {
    const unreadable: NamedPolicy = { ref: 'arn:aws:iam::111122223333:policy/gone', document: undefined };
    expect(methods(unreadable)).toEqual([]);
    expect(unreadablePolicies([unreadable, policy('inline:x', allow('s3:*'))])).toEqual([
      'arn:aws:iam::111122223333:policy/gone',
    ]);
  });
});

describe('analyseTrust', () => {
  const trust = (...statements: Record<string, unknown>[]) =>
    analyseTrust(parsePolicyDocument(iamEncodePolicy({ Version: '2012-10-17', Statement: statements })), ACCOUNT);
  const assume = (Principal: unknown, extra: Record<string, unknown> = {}) => ({
    Effect: 'Allow',
    Principal,
    Action: 'sts:AssumeRole',
    ...extra,
  });

  it('describes a service trust with no risk', () => {
    expect(trust(assume({ Service: 'lambda.amazonaws.com' }))).toEqual({
      trust: {
        anyPrincipal: false,
        services: ['lambda.amazonaws.com'],
        accounts: [],
        federated: [],
        statements: [
          {
            effect: 'Allow',
            actions: ['sts:AssumeRole'],
            principals: { any: false, services: ['lambda.amazonaws.com'], accounts: [], federated: [], aws: [] },
            conditions: {},
          },
        ],
      },
      trustAnyPrincipal: null,
      crossAccountTrustWithoutExternalId: [],
      githubOidcWithoutSub: false,
      agentSignals: [],
    });
  });

  it('lists other accounts trusted without sts:ExternalId, from ARNs and bare ids', () => {
    const analysis = trust(
      assume({ AWS: ['arn:aws:iam::444455556666:root', '777788889999', `arn:aws:iam::${ACCOUNT}:role/admin`] }),
      assume(
        { AWS: 'arn:aws:iam::999999999999:role/vendor' },
        { Condition: { StringEquals: { 'STS:ExternalId': 'e' } } },
      ),
    );
    expect(analysis.crossAccountTrustWithoutExternalId).toEqual(['444455556666', '777788889999']);
    expect(analysis.trust).toMatchObject({
      accounts: ['111122223333', '444455556666', '777788889999', '999999999999'],
    });
  });

  it('flags any principal, as `*`, as {"AWS": "*"} or through NotPrincipal, and says whether conditions limit it', () => {
    expect(trust(assume('*')).trustAnyPrincipal).toEqual({ conditional: false });
    expect(trust(assume({ AWS: '*' })).trustAnyPrincipal).toEqual({ conditional: false });
    expect(
      trust({ Effect: 'Allow', NotPrincipal: { AWS: 'arn:aws:iam::1:root' }, Action: 'sts:AssumeRole' })
        .trustAnyPrincipal,
    ).toEqual({ conditional: false });
    expect(
      trust(assume({ AWS: '*' }, { Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abc' } } })).trustAnyPrincipal,
    ).toEqual({ conditional: true });
    expect(trust({ Effect: 'Deny', Principal: '*', Action: 'sts:AssumeRole' }).trustAnyPrincipal).toBeNull();
  });

  it('flags GitHub OIDC trust without a condition on the sub claim', () => {
    const github = { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` };
    const withoutSub = trust(
      assume(github, {
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' } },
      }),
    );
    expect(withoutSub.githubOidcWithoutSub).toBe(true);
    expect(withoutSub.trust).toMatchObject({ federated: [github.Federated] });
    const withSub = trust(
      assume(github, {
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringLike: { 'token.actions.githubusercontent.com:sub': 'repo:org/app:*' } },
      }),
    );
    expect(withSub.githubOidcWithoutSub).toBe(false);
  });

  it('recognises AI agents: Bedrock limited to agent source ARNs, and Bedrock AgentCore', () => {
    const bedrockAgent = trust(
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
    expect(bedrockAgent.agentSignals).toEqual(['trust:bedrock-agent']);
    expect(trust(assume({ Service: 'bedrock.amazonaws.com' })).agentSignals).toEqual([]);
    expect(trust(assume({ Service: ['bedrock-agentcore.amazonaws.com'] })).agentSignals).toEqual([
      'trust:bedrock-agentcore',
    ]);
  });

  it('gives an empty analysis for an unreadable trust policy', () => {
    expect(analyseTrust(undefined, ACCOUNT)).toEqual({
      trust: null,
      trustAnyPrincipal: null,
      crossAccountTrustWithoutExternalId: [],
      githubOidcWithoutSub: false,
      agentSignals: [],
    });
  });
});
