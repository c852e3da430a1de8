import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { type SubnetSelection, SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { NON_API_FUNCTIONS, ROUTES } from '#functions/routes.ts';
import { ENV } from '#lib/config/env.ts';
import { INVENTORY_TABLE } from '#lib/config/inventory-table.ts';
import type { MimConfigInput } from '#lib/domain/policy.ts';
import { ControlPlaneStack, type ControlPlaneStackProps } from '../../infra/stacks/control-plane-stack.ts';

/**
 * Security properties of the synthesized stack, read from the template (no whole-template snapshot). One synth per
 * file: it bundles every function with esbuild, which is most of this file's run time.
 */

/** CloudFormation JSON, walked structurally. */
type Json = any;
interface Resource {
  Type: string;
  Properties?: Json;
  DependsOn?: string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}
interface NagReport {
  pluginName: string;
  conclusion: string;
  violations: unknown[];
  suppressedViolations: { ruleName: string; reason: string; violatingConstructs: unknown[] }[];
}

const CA_ID = 'test-ca';
const repoRoot = join(import.meta.dirname, '..', '..');
const THROTTLE = { rateLimit: 20, burstLimit: 40 };
/** The configuration the stack is synthesized with: one templated policy, one role each. */
const CONFIG: MimConfigInput = {
  version: 1,
  roles: { admin: ['arn:aws:iam::111122223333:role/Admin'], workload: ['arn:aws:iam::111122223333:role/*'] },
  policies: [
    {
      name: 'apps',
      principals: ['arn:aws:iam::111122223333:role/*'],
      allow: { dnsNames: ['{roleName}.svc.infra.test'] },
    },
  ],
};

let template: Template;
let resources: Record<string, Resource>;
let outputs: Record<string, Json>;
let assemblyDir: string;
let nag: NagResult;

/** cdk-nag's verdict on a synthesized stack. */
interface NagResult {
  report: NagReport | undefined;
  /** The raw findings, before acknowledgements (validateScope only honours un-namespaced ids). */
  findings: string[];
}

/**
 * Synthesizes a control plane stack (beside whatever `prepare` adds to the app) with cdk-nag registered: synth throws
 * if any finding is not acknowledged, and writes a report. `bundle: false` skips esbuild, for stacks whose bundles
 * this file does not read.
 */
function synthesize(
  props: Omit<ControlPlaneStackProps, 'config'>,
  options: { bundle: boolean; prepare?: (app: App) => Partial<ControlPlaneStackProps> },
) {
  const app = new App(options.bundle ? {} : { context: { 'aws:cdk:bundling-stacks': [] } });
  const extra = options.prepare?.(app) ?? {};
  const stack = new ControlPlaneStack(app, 'Test', { caId: CA_ID, config: CONFIG, ...props, ...extra });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const directory = app.synth().directory;
  const stackTemplate = Template.fromStack(stack);
  const report = JSON.parse(readFileSync(join(directory, 'validation-report.json'), 'utf8'));
  const nagResult: NagResult = {
    report: report.pluginReports.find((r: NagReport) => r.pluginName === 'AwsSolutions'),
    findings: new AwsSolutionsChecks(app).validateScope(stack).violations.map((v) => v.ruleName),
  };
  return {
    directory,
    template: stackTemplate,
    resources: stackTemplate.toJSON().Resources as Record<string, Resource>,
    nag: nagResult,
  };
}

beforeAll(() => {
  const synth = synthesize({ throttle: THROTTLE }, { bundle: true });
  assemblyDir = synth.directory;
  template = synth.template;
  resources = synth.resources;
  outputs = template.toJSON().Outputs;
  nag = synth.nag;
}, 180_000);

function ofType(type: string, from = resources): [string, Resource][] {
  return Object.entries(from).filter(([, r]) => r.Type === type);
}

/** The functions/<name> folder a role belongs to, read from the role description the construct writes. */
function roleOwner(roleLogicalId: string, from = resources): string {
  const description: string = from[roleLogicalId]?.Properties?.Description ?? '';
  return /^Execution role of the (\S+) function$/.exec(description)?.[1] ?? roleLogicalId;
}

/** Our functions (not the Provider framework's), keyed by their functions/<name> folder. */
function handlerFunctions(from = resources): Map<string, Resource> {
  const byName = new Map<string, Resource>();
  for (const [, fn] of ofType('AWS::Lambda::Function', from)) {
    const roleId: string = fn.Properties.Role['Fn::GetAtt'][0];
    if (roleOwner(roleId, from) !== roleId) byName.set(roleOwner(roleId, from), fn);
  }
  return byName;
}

function statementsOf(functionName: string, from = resources): Json[] {
  return ofType('AWS::IAM::Policy', from)
    .filter(([, p]) => p.Properties.Roles.some((r: Json) => roleOwner(r.Ref, from) === functionName))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}

/** What reading the table's stream takes (granted by the publisher's event source mapping); not item access. */
const STREAM_READ_ACTIONS = [
  'dynamodb:ListStreams',
  'dynamodb:DescribeStream',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
];

function globMatches(pattern: string, value: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  return regex.test(value);
}

/** Whose roles are allowed `action` on the key with this logical id, by any identity policy in the stack. */
function allowed(action: string, keyLogicalId: string): string[] {
  const who = new Set<string>();
  for (const [, policy] of ofType('AWS::IAM::Policy')) {
    for (const statement of policy.Properties.PolicyDocument.Statement) {
      const grants = [statement.Action].flat().some((a: string) => globMatches(a, action));
      const onKey = [statement.Resource]
        .flat()
        .some((r: Json) => r === '*' || JSON.stringify(r).includes(keyLogicalId));
      if (statement.Effect === 'Allow' && grants && onKey) {
        for (const role of policy.Properties.Roles) who.add(roleOwner(role.Ref));
      }
    }
  }
  return [...who].sort();
}

describe('inventory table', () => {
  it('is retained, with PITR, deletion protection, encryption and a fixed logical id', () => {
    const table = resources.InventoryTable;
    expect(table?.Type).toBe('AWS::DynamoDB::Table');
    expect(table?.DeletionPolicy).toBe('Retain');
    expect(table?.UpdateReplacePolicy).toBe('Retain');
    expect(table?.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      SSESpecification: { SSEEnabled: true },
      // Idempotency records and enrollment tokens expire through it.
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
    expect(ofType('AWS::DynamoDB::Table')).toHaveLength(1);
  });

  it('has every index of the shared key schema, string keys, all attributes projected', () => {
    const props = resources.InventoryTable?.Properties;
    const indexes = INVENTORY_TABLE.indexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    }));
    expect(props.GlobalSecondaryIndexes).toEqual(indexes);
    for (const attribute of props.AttributeDefinitions) expect(attribute.AttributeType).toBe('S');
  });

  it('has the sparse expiry index partitioned by day', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({
          IndexName: 'expiry',
          KeySchema: [
            { AttributeName: 'expiryDay', KeyType: 'HASH' },
            { AttributeName: 'expirySk', KeyType: 'RANGE' },
          ],
        }),
      ]),
    });
  });
});

describe('CA keys', () => {
  it('are retained ECC P-256 signing keys with fixed logical ids and aliases', () => {
    for (const id of ['CaRootKey', 'CaIssuingKey']) {
      expect(resources[id]?.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
      expect(resources[id]?.DeletionPolicy).toBe('Retain');
      expect(resources[id]?.UpdateReplacePolicy).toBe('Retain');
    }
    const aliases = ofType('AWS::KMS::Alias').map(([, a]) => [a.Properties.AliasName, a.Properties.TargetKeyId]);
    expect(aliases).toEqual(
      expect.arrayContaining([
        [`alias/mim-${CA_ID}-root`, { 'Fn::GetAtt': ['CaRootKey', 'Arn'] }],
        [`alias/mim-${CA_ID}-issuing`, { 'Fn::GetAtt': ['CaIssuingKey', 'Arn'] }],
      ]),
    );
  });

  /** The function whose role an IAM principal reference (`{"Fn::GetAtt": [role, "Arn"]}`) names. */
  const functionOfRoleArn = (arn: Json) => roleOwner(arn?.['Fn::GetAtt']?.[0] ?? JSON.stringify(arn));

  /**
   * Whether the key policy alone lets a principal perform the action: `principal` is a function name (its role) or
   * `account-admin`, any other principal of the account whose IAM policies allow everything (AdministratorAccess).
   * An explicit deny wins; the account root statement delegates its actions to IAM, so it allows the admin those.
   */
  function keyPolicyAllows(keyId: string, principal: string, action: string): boolean {
    const statements: Json[] = resources[keyId]?.Properties.KeyPolicy.Statement;
    const matchesAction = (s: Json) => [s.Action].flat().some((a: string) => globMatches(a, action));
    const isAccountRoot = (p: Json) => JSON.stringify(p).includes(':root');
    const denied = statements.some((s) => {
      if (s.Effect !== 'Deny' || !matchesAction(s)) return false;
      expect(s.Principal).toEqual({ AWS: '*' });
      const exempt: Json[] = s.Condition.ArnNotEquals['aws:PrincipalArn'];
      return !exempt.map(functionOfRoleArn).includes(principal);
    });
    if (denied) return false;
    return statements.some(
      (s) =>
        s.Effect === 'Allow' &&
        matchesAction(s) &&
        (isAccountRoot(s.Principal.AWS) || functionOfRoleArn(s.Principal.AWS) === principal),
    );
  }

  it('key policies keep administration with the account, key policy included, but no signing and no grants', () => {
    for (const id of ['CaRootKey', 'CaIssuingKey']) {
      const statements: Json[] = resources[id]?.Properties.KeyPolicy.Statement;
      const root = statements.filter((s) => JSON.stringify(s.Principal).includes(':root'));
      expect(root, id).toHaveLength(1);
      const actions: string[] = root[0].Action;
      expect(actions).toEqual(expect.arrayContaining(['kms:PutKeyPolicy', 'kms:GetKeyPolicy', 'kms:DescribeKey']));
      for (const forbidden of ['kms:*', 'kms:Sign', 'kms:CreateGrant', 'kms:GetPublicKey', 'kms:Verify']) {
        expect(
          actions.some((a) => globMatches(a, forbidden)),
          `${id} ${forbidden}`,
        ).toBe(false);
      }
      expect(keyPolicyAllows(id, 'account-admin', 'kms:PutKeyPolicy'), id).toBe(true);
    }
  });

  it('key policies deny kms:Sign to every principal but the designated function, account admins included', () => {
    const deny = (id: string) =>
      (resources[id]?.Properties.KeyPolicy.Statement as Json[] | undefined)?.filter((s) => s.Effect === 'Deny') ?? [];
    expect(deny('CaRootKey')).toHaveLength(1);
    expect(deny('CaRootKey')[0].Action).toBe('kms:Sign');
    expect(deny('CaRootKey')[0].Condition.ArnNotEquals['aws:PrincipalArn'].map(functionOfRoleArn)).toEqual([
      'bootstrap-ca',
    ]);
    expect(deny('CaIssuingKey')[0].Condition.ArnNotEquals['aws:PrincipalArn'].map(functionOfRoleArn)).toEqual([
      'issue-certificate',
    ]);
    const everyone = [...handlerFunctions().keys(), 'account-admin'];
    const signers = (id: string) => everyone.filter((who) => keyPolicyAllows(id, who, 'kms:Sign'));
    expect(signers('CaRootKey')).toEqual(['bootstrap-ca']);
    expect(signers('CaIssuingKey')).toEqual(['issue-certificate']);
    const readers = (id: string) => everyone.filter((who) => keyPolicyAllows(id, who, 'kms:GetPublicKey')).sort();
    expect(readers('CaRootKey')).toEqual(['bootstrap-ca']);
    expect(readers('CaIssuingKey')).toEqual(['bootstrap-ca', 'issue-certificate']);
    for (const id of ['CaRootKey', 'CaIssuingKey']) {
      expect(
        everyone.filter((who) => keyPolicyAllows(id, who, 'kms:CreateGrant')),
        id,
      ).toEqual([]);
    }
  });

  it('every identity policy is an AWS::IAM::Policy resource, so walking those covers all grants', () => {
    expect(ofType('AWS::IAM::ManagedPolicy')).toEqual([]);
    expect(ofType('AWS::IAM::User')).toEqual([]);
    for (const [, role] of ofType('AWS::IAM::Role')) expect(role.Properties.Policies).toBeUndefined();
  });

  it('only the bootstrap function may use the root key', () => {
    expect(allowed('kms:Sign', 'CaRootKey')).toEqual(['bootstrap-ca']);
    expect(allowed('kms:GetPublicKey', 'CaRootKey')).toEqual(['bootstrap-ca']);
  });

  it('only the issue-certificate function may sign with the issuing key; the bootstrap reads its public key', () => {
    expect(allowed('kms:Sign', 'CaIssuingKey')).toEqual(['issue-certificate']);
    expect(allowed('kms:GetPublicKey', 'CaIssuingKey')).toEqual(['bootstrap-ca', 'issue-certificate']);
    expect(allowed('kms:CreateGrant', 'CaIssuingKey')).toEqual([]);
    expect(allowed('kms:PutKeyPolicy', 'CaIssuingKey')).toEqual([]);
  });
});

describe('events backbone', () => {
  const streamMappings = () =>
    ofType('AWS::Lambda::EventSourceMapping').filter(([, m]) =>
      JSON.stringify(m.Properties.EventSourceArn).includes('StreamArn'),
    );
  /** The stream mappings of one function (by its functions/<name> folder). */
  const streamMappingsOf = (name: string) =>
    streamMappings().filter(
      ([, m]) => roleOwner(resources[m.Properties.FunctionName.Ref]?.Properties.Role['Fn::GetAtt'][0]) === name,
    );

  it("streams the table's committed changes, both images", () => {
    expect(resources.InventoryTable?.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
  });

  it('a custom bus with an archive of every control plane event', () => {
    const [[busId, bus] = []] = ofType('AWS::Events::EventBus');
    expect(bus?.Properties.Name).toBe(`mim-${CA_ID}-events`);
    const [[, archive] = []] = ofType('AWS::Events::Archive');
    expect(archive?.Properties).toMatchObject({
      EventPattern: { source: ['mim.control-plane'] },
      RetentionDays: 365,
      SourceArn: { 'Fn::GetAtt': [busId, 'Arn'] },
    });
  });

  /** What both consumers of the table's stream are mapped with. */
  const STREAM_MAPPING = {
    EventSourceArn: { 'Fn::GetAtt': ['InventoryTable', 'StreamArn'] },
    StartingPosition: 'TRIM_HORIZON',
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    BisectBatchOnFunctionError: true,
    MaximumRetryAttempts: 10,
    MaximumRecordAgeInSeconds: 43_200,
  };

  it('feeds the stream to the publisher: partial batch responses, bisection, bounded retries, a dead-letter queue', () => {
    const mappings = streamMappingsOf('publish-events');
    expect(mappings).toHaveLength(1);
    const mapping = mappings[0]?.[1].Properties;
    expect(mapping).toMatchObject({
      ...STREAM_MAPPING,
    });
    const fnId = mapping.FunctionName.Ref;
    expect(roleOwner(resources[fnId]?.Properties.Role['Fn::GetAtt'][0])).toBe('publish-events');
    const dlqId = mapping.DestinationConfig.OnFailure.Destination['Fn::GetAtt'][0];
    expect(resources[dlqId]?.Type).toBe('AWS::SQS::Queue');
  });

  it('feeds the same stream to the inventory summary, with the same settings and a dead-letter queue of its own', () => {
    // Two consumers of the stream, and no other: the publisher and the summarizer.
    expect(streamMappings()).toHaveLength(2);
    const mappings = streamMappingsOf('summarize-inventory');
    expect(mappings).toHaveLength(1);
    const mapping = mappings[0]?.[1].Properties;
    expect(mapping).toMatchObject({
      ...STREAM_MAPPING,
      // It gathers changes for a batching window; the publisher does not (events go out at once).
      MaximumBatchingWindowInSeconds: 2,
    });
    expect(streamMappingsOf('publish-events')[0]?.[1].Properties.MaximumBatchingWindowInSeconds).toBeUndefined();
    const dlqId: string = mapping.DestinationConfig.OnFailure.Destination['Fn::GetAtt'][0];
    expect(resources[dlqId]?.Type).toBe('AWS::SQS::Queue');
    expect(dlqId).toMatch(/SummaryDeadLetters/);
    const publisherDlq = streamMappingsOf('publish-events')[0]?.[1].Properties.DestinationConfig.OnFailure.Destination;
    expect(publisherDlq['Fn::GetAtt'][0]).not.toBe(dlqId);
  });

  it('the summarizer reads the stream, dead-letters, and touches only its two summary partitions', () => {
    const actions = statementsOf('summarize-inventory').flatMap((s) =>
      ([s.Action].flat() as string[])
        .filter((a) => !a.startsWith('logs:'))
        .map((a) =>
          STREAM_READ_ACTIONS.includes(a) || a.startsWith('sqs:')
            ? `${a} ${JSON.stringify(s.Resource)}`
            : `${a} ${[s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys']].flat().join(',')}`,
        ),
    );
    expect(actions.sort()).toEqual(
      [
        'dynamodb:DescribeStream {"Fn::GetAtt":["InventoryTable","StreamArn"]}',
        'dynamodb:GetRecords {"Fn::GetAtt":["InventoryTable","StreamArn"]}',
        'dynamodb:GetShardIterator {"Fn::GetAtt":["InventoryTable","StreamArn"]}',
        'dynamodb:ListStreams "*"',
        'dynamodb:GetItem SUMC#*',
        'dynamodb:BatchGetItem SUMC#*',
        'dynamodb:PutItem SUMC#*',
        'dynamodb:UpdateItem SUMMARY#*',
        expect.stringMatching(/^sqs:GetQueueAttributes .*SummaryDeadLetters/),
        expect.stringMatching(/^sqs:GetQueueUrl .*SummaryDeadLetters/),
        expect.stringMatching(/^sqs:SendMessage .*SummaryDeadLetters/),
      ].sort((a, b) => String(a).localeCompare(String(b))),
    );
  });

  it('every queue is encrypted and TLS-only; the dead-letter queues are retained', () => {
    const queues = ofType('AWS::SQS::Queue');
    expect(queues.length).toBe(5);
    for (const [id, queue] of queues) {
      expect(queue.Properties.SqsManagedSseEnabled, id).toBe(true);
      if (/DeadLetters/.test(id)) expect(queue.DeletionPolicy, id).toBe('Retain');
      const policy = ofType('AWS::SQS::QueuePolicy').find(([, p]) => p.Properties.Queues[0].Ref === id)?.[1];
      expect(JSON.stringify(policy?.Properties.PolicyDocument), id).toContain('"aws:SecureTransport":"false"');
    }
  });

  it('the publisher reads the stream, puts events on the bus and dead-letters, nothing else; nobody else publishes', () => {
    const actions = statementsOf('publish-events').flatMap((s) =>
      ([s.Action].flat() as string[]).map((a) => `${a} ${JSON.stringify(s.Resource)}`),
    );
    expect(actions.filter((a) => !a.startsWith('logs:')).sort()).toEqual(
      [
        'dynamodb:DescribeStream {"Fn::GetAtt":["InventoryTable","StreamArn"]}',
        'dynamodb:GetRecords {"Fn::GetAtt":["InventoryTable","StreamArn"]}',
        'dynamodb:GetShardIterator {"Fn::GetAtt":["InventoryTable","StreamArn"]}',
        'dynamodb:ListStreams "*"',
        expect.stringMatching(/^events:PutEvents \{"Fn::GetAtt":\["EventsBus\w+","Arn"\]\}$/),
        expect.stringMatching(/^sqs:GetQueueAttributes .*PublisherDeadLetters/),
        expect.stringMatching(/^sqs:GetQueueUrl .*PublisherDeadLetters/),
        expect.stringMatching(/^sqs:SendMessage .*PublisherDeadLetters/),
      ].sort((a, b) => String(a).localeCompare(String(b))),
    );
    const publishers = [...handlerFunctions().keys()].filter((name) =>
      statementsOf(name).some((s) => [s.Action].flat().some((a: string) => globMatches(a, 'events:PutEvents'))),
    );
    expect(publishers).toEqual(['publish-events']);
    const streamReaders = [...handlerFunctions().keys()].filter((name) =>
      statementsOf(name).some((s) => [s.Action].flat().includes('dynamodb:GetRecords')),
    );
    expect(streamReaders.sort()).toEqual(['publish-events', 'summarize-inventory']);
  });
});

/** The scheduled EventBridge rule whose target is the function of this functions/<name> folder. */
function scheduleOf(functionName: string): Resource | undefined {
  return ofType('AWS::Events::Rule')
    .map(([, rule]) => rule)
    .find(
      (rule) =>
        rule.Properties.ScheduleExpression !== undefined &&
        roleOwner(resources[rule.Properties.Targets[0].Arn['Fn::GetAtt'][0]]?.Properties.Role['Fn::GetAtt'][0]) ===
          functionName,
    );
}

describe('risk sweep', () => {
  it('a daily schedule runs the rescore-risk function, with retries', () => {
    const rule = scheduleOf('rescore-risk');
    expect(rule?.Properties.ScheduleExpression).toBe('rate(1 day)');
    expect(rule?.Properties.Targets[0].RetryPolicy).toMatchObject({ MaximumRetryAttempts: 2 });
  });
});

describe('discovery fan-out', () => {
  it('a schedule starts runs; units go through a queue with a dead-letter queue to a worker, one at a time', () => {
    const rule = scheduleOf('start-discovery-run');
    expect(rule?.Properties.ScheduleExpression).toBe('rate(6 hours)');
    const [[, mapping] = []] = ofType('AWS::Lambda::EventSourceMapping').filter(([, m]) =>
      JSON.stringify(m.Properties.EventSourceArn).includes('DiscoveryUnits'),
    );
    expect(mapping?.Properties).toMatchObject({ BatchSize: 1, FunctionResponseTypes: ['ReportBatchItemFailures'] });
    expect(roleOwner(resources[mapping?.Properties.FunctionName.Ref]?.Properties.Role['Fn::GetAtt'][0])).toBe(
      'discovery-worker',
    );
    const [[, units] = []] = ofType('AWS::SQS::Queue').filter(([id]) => id.startsWith('DiscoveryUnits'));
    expect(units?.Properties.RedrivePolicy.maxReceiveCount).toBe(3);
    expect(units?.Properties.VisibilityTimeout).toBe(1800);
    const worker = handlerFunctions().get('discovery-worker');
    expect(worker?.Properties.Timeout).toBe(300);
  });

  it('the worker assumes only the discovery role, reads metadata, and is denied secret values and key use', () => {
    const statements = statementsOf('discovery-worker');
    const assume = statements.filter((s) => [s.Action].flat().includes('sts:AssumeRole'));
    expect(JSON.stringify(assume.map((s) => s.Resource))).toContain(':role/MimDiscoveryReadOnly');
    const denied = statements.filter((s) => s.Effect === 'Deny').flatMap((s) => [s.Action].flat());
    expect(denied).toEqual(expect.arrayContaining(['secretsmanager:GetSecretValue', 'kms:Decrypt', 'kms:Sign']));
    const allowed = statements.filter((s) => s.Effect === 'Allow').flatMap((s) => [s.Action].flat() as string[]);
    expect(allowed.filter((a) => a.includes('*'))).toEqual([]);
    expect(allowed).not.toContain('secretsmanager:GetSecretValue');
    const senders = [...handlerFunctions().keys()].filter((name) =>
      statementsOf(name).some(
        (s) => [s.Action].flat().includes('sqs:SendMessage') && JSON.stringify(s.Resource).includes('DiscoveryUnits'),
      ),
    );
    expect(senders).toEqual(['start-discovery-run']);
  });
});

describe('sealing key', () => {
  it('is a retained HMAC key only the token-creating function may use, whatever IAM says', () => {
    expect(resources.SealKey?.Properties).toMatchObject({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    expect(resources.SealKey?.DeletionPolicy).toBe('Retain');
    const statements: Json[] = resources.SealKey?.Properties.KeyPolicy.Statement;
    const deny = statements.filter((s) => s.Effect === 'Deny');
    expect(deny).toHaveLength(1);
    expect(deny[0].Action).toBe('kms:GenerateMac');
    expect(deny[0].Principal).toEqual({ AWS: '*' });
    expect(
      deny[0].Condition.ArnNotEquals['aws:PrincipalArn'].map((arn: Json) => roleOwner(arn['Fn::GetAtt'][0])),
    ).toEqual(['create-enrollment-token']);
    const allowedMac = statements
      .filter((s) => s.Effect === 'Allow' && [s.Action].flat().includes('kms:GenerateMac'))
      .map((s) => roleOwner(s.Principal.AWS['Fn::GetAtt'][0]));
    expect(allowedMac).toEqual(['create-enrollment-token']);
    expect(allowed('kms:GenerateMac', 'SealKey')).toEqual(['create-enrollment-token']);
  });
});

describe('functions', () => {
  const expectedNames = [...new Set(ROUTES.map((r) => r.function)), 'route-not-found', ...NON_API_FUNCTIONS].sort();

  it('one per handler, Node.js 22 on arm64, each logging to its own log group with a retention', () => {
    const functions = handlerFunctions();
    expect([...functions.keys()].sort()).toEqual(expectedNames);
    for (const [name, fn] of functions) {
      expect(fn.Properties.Runtime, name).toBe('nodejs22.x');
      expect(fn.Properties.Architectures, name).toEqual(['arm64']);
      expect(fn.Properties.Handler, name).toBe('index.handler');
      expect(fn.Properties.Environment.Variables, name).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'machine-identity-control-plane',
        POWERTOOLS_LOG_LEVEL: 'INFO',
      });
      const logGroup = resources[fn.Properties.LoggingConfig.LogGroup.Ref];
      expect(logGroup?.Properties.RetentionInDays, name).toBeGreaterThan(0);
    }
  });

  it('every log group has a retention', () => {
    const groups = ofType('AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThanOrEqual(expectedNames.length + 2);
    for (const [id, group] of groups) expect(group.Properties.RetentionInDays, id).toBeGreaterThan(0);
  });

  it('no function role of ours uses an AWS managed policy', () => {
    for (const [id, role] of ofType('AWS::IAM::Role')) {
      if (roleOwner(id) === id) continue;
      expect(role.Properties.ManagedPolicyArns, id).toBeUndefined();
    }
  });

  it('every permission comes with the env var naming its resource, and nothing more', () => {
    const expected: Record<string, string[]> = {
      health: [],
      'get-openapi': [],
      'route-not-found': [],
      'get-ca-chain': [ENV.tableName, ENV.caId],
      'get-certificate': [ENV.tableName],
      'list-identities': [ENV.tableName],
      'get-identity': [ENV.tableName],
      'update-identity': [ENV.tableName],
      'get-consolidation': [ENV.tableName],
      'get-inventory-summary': [ENV.tableName],
      'import-identities': [ENV.tableName],
      'issue-certificate': [ENV.tableName, ENV.issuingKeyId, ENV.caId],
      'revoke-certificate': [ENV.tableName],
      'list-policies': [ENV.tableName],
      'get-policy': [ENV.tableName],
      'put-policy': [ENV.tableName],
      'delete-policy': [ENV.tableName],
      'create-enrollment-token': [ENV.tableName, ENV.sealKeyId],
      'list-audit-events': [ENV.tableName],
      'bootstrap-ca': [ENV.tableName, ENV.rootKeyId, ENV.issuingKeyId, ENV.caId],
      'publish-events': [ENV.eventBusName],
      'start-discovery-run': [ENV.tableName, ENV.discoveryQueueUrl],
      'get-discovery-run': [ENV.tableName],
      'list-discovery-runs': [ENV.tableName],
      'discovery-worker': [ENV.tableName, ENV.caId],
      'rescore-risk': [ENV.tableName],
      'summarize-inventory': [ENV.tableName],
    };
    expect(Object.keys(expected).sort()).toEqual(expectedNames);
    for (const [name, fn] of handlerFunctions()) {
      const env = Object.keys(fn.Properties.Environment.Variables).filter((k) => k.startsWith('MIM_'));
      expect(env.sort(), name).toEqual([...(expected[name] ?? [])].sort());
      const services = new Set(
        statementsOf(name)
          .flatMap((s) => [s.Action].flat() as string[])
          .filter((a) => !STREAM_READ_ACTIONS.includes(a))
          .map((a) => a.split(':')[0]),
      );
      expect(services.has('dynamodb'), name).toBe(expected[name]?.includes(ENV.tableName));
      // Signing, sealing or their public keys: only with a key env var (the discovery worker lists keys, uses none).
      const usesKeys = statementsOf(name).some((s) =>
        [s.Action].flat().some((a: string) => /^kms:(Sign|GetPublicKey|GenerateMac)$/.test(a) && s.Effect === 'Allow'),
      );
      expect(usesKeys, name).toBe(expected[name]?.some((v) => v.endsWith('_KEY_ID')));
    }
  });

  /**
   * Each function's table access as `<action> <partition pattern>` (`<action> index/<name> <pattern>` for an index),
   * read from the statements of its role; fails on any dynamodb statement that is not partition-scoped.
   */
  function tableAccessOf(name: string): string[] {
    const out: string[] = [];
    for (const statement of statementsOf(name)) {
      const actions = [statement.Action].flat() as string[];
      if (!actions.some((a) => a.startsWith('dynamodb:')) || actions.every((a) => STREAM_READ_ACTIONS.includes(a))) {
        continue;
      }
      expect(statement.Effect, name).toBe('Allow');
      const resource = JSON.stringify(statement.Resource);
      expect(resource, name).toContain('InventoryTable');
      const index = /\/index\/(\w+)/.exec(resource)?.[1];
      const patterns: string[] = statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] ?? [];
      expect(patterns.length, `${name}: statement without dynamodb:LeadingKeys`).toBeGreaterThan(0);
      if (index === undefined) expect(statement.Condition.Null, name).toEqual({ 'dynamodb:LeadingKeys': 'false' });
      for (const action of actions) {
        for (const pattern of patterns) {
          out.push(`${action.replace('dynamodb:', '')} ${index === undefined ? '' : `index/${index} `}${pattern}`);
        }
      }
    }
    return out.sort();
  }

  it('each function may touch only the table partitions it uses, with only the item operations it runs', () => {
    const idempotency = [
      'DeleteItem IDEMPOTENCY#*',
      'GetItem IDEMPOTENCY#*',
      'PutItem IDEMPOTENCY#*',
      'UpdateItem IDEMPOTENCY#*',
    ];
    const expected: Record<string, string[]> = {
      health: [],
      'get-openapi': [],
      'route-not-found': [],
      // The public route: the chain of its own CA, nothing else (no token hashes, answers or audit log).
      'get-ca-chain': [`GetItem CA#${CA_ID}`],
      'issue-certificate': [
        `GetItem CA#${CA_ID}`,
        'Query POLICY',
        'GetItem ETOKEN#*',
        'UpdateItem ETOKEN#*',
        'PutItem CERT#*',
        'PutItem IDN#*',
        'PutItem AUDIT#*',
        ...idempotency,
      ],
      'get-certificate': ['GetItem CERT#*'],
      'revoke-certificate': [
        'GetItem CERT#*',
        'GetItem IDN#*',
        'UpdateItem CERT#*',
        'UpdateItem IDN#*',
        'PutItem AUDIT#*',
        ...idempotency,
      ],
      'list-identities': [
        'Query index/byType TYPE#*',
        'Query index/byOwner OWNER#*',
        'Query index/byAccount ACCOUNT#*',
        'Query index/byRisk RISK#*',
      ],
      'get-identity': [
        'GetItem IDN#*',
        'GetItem DID#*',
        'GetItem CERT#*',
        'GetItem SCOPEREAD#*',
        'BatchGetItem SCOPEREAD#*',
      ],
      'get-consolidation': ['Query index/byRisk RISK#*', 'Query index/byType TYPE#*', 'BatchGetItem DID#*'],
      // The summary's counters only: never an identity, a contribution record or an index.
      'get-inventory-summary': ['Query SUMMARY#*'],
      'import-identities': ['BatchGetItem DID#*', 'PutItem DID#*', 'PutItem SPKI#*', 'Query SPKI#*', 'PutItem AUDIT#*'],
      'update-identity': [
        'GetItem IDN#*',
        'GetItem DID#*',
        'PutItem IDN#*',
        'PutItem DID#*',
        'GetItem CERT#*',
        'PutItem AUDIT#*',
      ],
      'list-policies': ['Query POLICY'],
      'get-policy': ['GetItem POLICY'],
      'put-policy': ['GetItem POLICY', 'PutItem POLICY', 'Query POLICYV#*', 'PutItem POLICYV#*', 'PutItem AUDIT#*'],
      'delete-policy': ['GetItem POLICY', 'DeleteItem POLICY', 'PutItem POLICYV#*', 'PutItem AUDIT#*'],
      'create-enrollment-token': ['Query POLICY', 'PutItem ETOKEN#*', 'PutItem AUDIT#*', ...idempotency],
      'list-audit-events': ['Query AUDIT#*'],
      'publish-events': [],
      'start-discovery-run': ['GetItem DRUN', 'PutItem DRUN', 'PutItem DRUNP#*'],
      'get-discovery-run': ['GetItem DRUN', 'Query DRUNP#*'],
      'list-discovery-runs': ['Query DRUN'],
      'discovery-worker': [
        'BatchGetItem DID#*',
        'GetItem DID#*',
        'PutItem DID#*',
        'Query index/byScope DSCOPE#*',
        'GetItem DRUNP#*',
        'GetItem SCOPEREAD#*',
        'BatchGetItem SCOPEREAD#*',
        'PutItem DRUNP#*',
        'PutItem SCOPEREAD#*',
        // A tls unit: our CA's chain, a certificate of ours found on an endpoint, its identity gaining the endpoint.
        `GetItem CA#${CA_ID}`,
        'GetItem CERT#*',
        'GetItem IDN#*',
        'PutItem IDN#*',
        'PutItem SPKI#*',
        'Query SPKI#*',
        'UpdateItem DRUN',
      ],
      'rescore-risk': ['Query POLICY', 'Query index/expiry EXP#*', 'GetItem IDN#*', 'PutItem IDN#*'],
      // What each identity is counted in (read, replaced), and the counters (ADD): never an identity item.
      'summarize-inventory': ['GetItem SUMC#*', 'BatchGetItem SUMC#*', 'PutItem SUMC#*', 'UpdateItem SUMMARY#*'],
      'bootstrap-ca': [
        `GetItem CA#${CA_ID}`,
        `PutItem CA#${CA_ID}`,
        'Query POLICY',
        'GetItem POLICY',
        'PutItem POLICY',
        'Query POLICYV#*',
        'PutItem POLICYV#*',
        'PutItem AUDIT#*',
        'GetItem POLICY',
        'DeleteItem POLICY',
        'PutItem POLICYV#*',
        'PutItem AUDIT#*',
      ],
    };
    expect(Object.keys(expected).sort()).toEqual(expectedNames);
    for (const name of expectedNames) {
      expect(tableAccessOf(name), name).toEqual([...(expected[name] ?? [])].sort());
    }
  });

  it('nobody may scan, batch-write, or write the CA chain but the bootstrap; token hashes are read only to spend them', () => {
    const all = expectedNames.flatMap((name) => tableAccessOf(name).map((access) => `${name}: ${access}`));
    // Batched reads only where a run or an import reads the identities it sees, 100 at a time, and where TLS
    // locations' last scans are read; no scans, batch writes or PartiQL.
    expect(all.filter((a) => /Scan|Batch|PartiQL|\*$/.test(a.split(' ')[1] ?? '')).sort()).toEqual([
      'discovery-worker: BatchGetItem DID#*',
      'discovery-worker: BatchGetItem SCOPEREAD#*',
      'get-consolidation: BatchGetItem DID#*',
      'get-identity: BatchGetItem SCOPEREAD#*',
      'import-identities: BatchGetItem DID#*',
      'summarize-inventory: BatchGetItem SUMC#*',
    ]);
    expect(all.filter((a) => /(Put|Update|Delete)Item CA#/.test(a))).toEqual([`bootstrap-ca: PutItem CA#${CA_ID}`]);
    expect(all.filter((a) => / ETOKEN#/.test(a) && !/PutItem/.test(a))).toEqual([
      'issue-certificate: GetItem ETOKEN#*',
      'issue-certificate: UpdateItem ETOKEN#*',
    ]);
    expect(all.filter((a) => / AUDIT#/.test(a) && !/PutItem/.test(a))).toEqual(['list-audit-events: Query AUDIT#*']);
    expect(new Set(all.filter((a) => /(Put|Update|Delete)Item POLICY/.test(a)).map((a) => a.split(':')[0]))).toEqual(
      new Set(['bootstrap-ca', 'put-policy', 'delete-policy']),
    );
  });

  it('bundles are self-contained ESM: no imports but Node built-ins, the AWS SDK inside', () => {
    for (const [name, fn] of handlerFunctions()) {
      const hash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
      const bundle = join(assemblyDir, `asset.${hash}`, 'index.mjs');
      expect(existsSync(bundle), name).toBe(true);
      expect(existsSync(`${bundle}.map`), name).toBe(true);
      const code = readFileSync(bundle, 'utf8');
      // Import statements (at the start of a statement) and dynamic imports; not the SDK's error messages that
      // merely quote an import.
      const statements = code.matchAll(/(?:^|[;}])import\s*(?:[^"';]*?\bfrom\s*)?["']([^"']+)["']/g);
      const dynamic = code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g);
      const specifiers = [...statements, ...dynamic].map((m) => m[1]);
      expect(specifiers.length, name).toBeGreaterThan(0);
      for (const specifier of specifiers) expect(specifier, name).toMatch(/^node:/);
    }
  });

  it('bundles load in Node, outside the repository (no node_modules to fall back on), and export a handler', () => {
    expect(assemblyDir.startsWith(repoRoot)).toBe(false);
    const bundles = [...handlerFunctions()].map(([name, fn]) => [
      name,
      join(assemblyDir, `asset.${String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')}`, 'index.mjs'),
    ]);
    const script =
      'for (const [name, path] of JSON.parse(process.argv[1])) { const m = await import(path); ' +
      'console.log(name, typeof m.handler); }';
    const output = execFileSync(
      process.execPath,
      ['--no-warnings', '--input-type=module', '-e', script, JSON.stringify(bundles)],
      {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          AWS_REGION: 'eu-west-1',
          [ENV.tableName]: 'inventory',
          [ENV.caId]: CA_ID,
          [ENV.rootKeyId]: 'arn:aws:kms:eu-west-1:111122223333:key/11111111-1111-1111-1111-111111111111',
          [ENV.issuingKeyId]: 'arn:aws:kms:eu-west-1:111122223333:key/22222222-2222-2222-2222-222222222222',
          [ENV.sealKeyId]: 'arn:aws:kms:eu-west-1:111122223333:key/33333333-3333-3333-3333-333333333333',
          [ENV.eventBusName]: 'mim-test-events',
          [ENV.discoveryQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/111122223333/units',
        },
      },
    );
    expect(output.trim().split('\n').sort()).toEqual(bundles.map(([name]) => `${name} function`).sort());
  }, 60_000);
});

describe('HTTP API', () => {
  it('IAM-authorizes every iam route; health, the CA chain, enrollment and the $default fallback are public', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(routes).toHaveLength(ROUTES.length + 1);
    // Enrollment with a one-time token is the only issuance route outside the IAM authorizer.
    expect(routes.find((r) => r.RouteKey === 'POST /v1/enroll')?.AuthorizationType).toBe('NONE');
    expect(routes.find((r) => r.RouteKey === 'POST /v1/certificates')?.AuthorizationType).toBe('AWS_IAM');
    for (const route of ROUTES) {
      const found = routes.find((r) => r.RouteKey === `${route.method} ${route.path}`);
      expect(found?.AuthorizationType, route.path).toBe(route.auth === 'iam' ? 'AWS_IAM' : 'NONE');
    }
    expect(routes.find((r) => r.RouteKey === '$default')?.AuthorizationType).toBe('NONE');
  });

  it('sends each route to its own function with payload format 2.0', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    const functionOf = (routeKey: string) => {
      const target: string = routes.find((r) => r.RouteKey === routeKey)?.Target['Fn::Join'][1][1].Ref;
      const integration = resources[target]?.Properties;
      expect(integration.PayloadFormatVersion).toBe('2.0');
      const fnId: string = integration.IntegrationUri['Fn::GetAtt'][0];
      return roleOwner(resources[fnId]?.Properties.Role['Fn::GetAtt'][0]);
    };
    for (const route of ROUTES) expect(functionOf(`${route.method} ${route.path}`)).toBe(route.function);
    expect(functionOf('$default')).toBe('route-not-found');
  });

  it('throttles at the stage and writes JSON access logs to a log group with retention', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: THROTTLE.rateLimit, ThrottlingBurstLimit: THROTTLE.burstLimit },
    });
    const [[, stage] = []] = ofType('AWS::ApiGatewayV2::Stage');
    const settings = stage?.Properties.AccessLogSettings;
    expect(JSON.parse(settings.Format)).toMatchObject({
      requestId: '$context.requestId',
      callerArn: '$context.identity.userArn',
    });
    expect(resources[settings.DestinationArn['Fn::GetAtt'][0]]?.Properties.RetentionInDays).toBeGreaterThan(0);
  });
});

describe('CA bootstrap', () => {
  it('is a retained custom resource with the CA settings', () => {
    const [[id, resource] = []] = ofType('Custom::CaBootstrap');
    expect(id).toBe('CaBootstrap');
    expect(resource?.Properties).toMatchObject({
      CaId: CA_ID,
      RootCommonName: `MIM Root CA (${CA_ID})`,
      IssuingCommonName: `MIM Issuing CA (${CA_ID})`,
      RootValidityDays: '3650',
      IssuingValidityDays: '1825',
    });
    expect(resource?.DeletionPolicy).toBe('Retain');
  });

  it('runs the bootstrap-ca function through the Provider framework', () => {
    const token = resources.CaBootstrap?.Properties.ServiceToken['Fn::GetAtt'][0];
    const framework = resources[token]?.Properties;
    const target = framework.Environment.Variables.USER_ON_EVENT_FUNCTION_ARN['Fn::GetAtt'][0];
    expect(roleOwner(resources[target]?.Properties.Role['Fn::GetAtt'][0])).toBe('bootstrap-ca');
  });

  it('deploys the functions that serve, sign with or compare with the chain after the bootstrap', () => {
    const readers = ['get-ca-chain', 'issue-certificate', 'discovery-worker'];
    for (const [name, fn] of handlerFunctions()) {
      const dependsOnChain = fn.DependsOn?.includes('CaBootstrap') ?? false;
      expect(dependsOnChain, name).toBe(readers.includes(name));
    }
  });

  it('rejects CA settings the bootstrap would refuse, at synth time', () => {
    expect(() => new ControlPlaneStack(new App(), 'Bad', { caId: 'Not Valid', config: CONFIG })).toThrow(/caId/);
    expect(
      () =>
        new ControlPlaneStack(new App(), 'Bad', { rootValidityDays: 365, issuingValidityDays: 366, config: CONFIG }),
    ).toThrow(/issuingValidityDays/);
  });

  it('rejects an invalid configuration at synth time, naming the field', () => {
    const bad = { ...CONFIG, policies: [{ name: 'apps', principals: ['*'], allow: { dnsNames: ['{team}.x.test'] } }] };
    expect(() => new ControlPlaneStack(new App(), 'Bad', { config: bad })).toThrow(
      /policies\[0\]\.principals\[0\]: must be an IAM role[\s\S]*policies\[0\]\.allow\.dnsNames\[0\]: unknown template variable \{team\}/,
    );
  });

  it('writes the validated configuration into every function bundle, and reseeds when it changes', () => {
    // esbuild may re-quote the string literal, so look for the document's content rather than its exact spelling.
    const marker = '{roleName}.svc.infra.test';
    for (const [name, fn] of handlerFunctions()) {
      const hash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
      const code = readFileSync(join(assemblyDir, `asset.${hash}`, 'index.mjs'), 'utf8');
      // route-not-found authenticates no one and reads nothing, so esbuild leaves the unused document out.
      expect(code.includes(marker), name).toBe(name !== 'route-not-found');
    }
    const bootstrap = ofType('Custom::CaBootstrap')[0]?.[1];
    expect(bootstrap?.Properties.ConfigHash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('outputs', () => {
  it('names the API URL, the CA chain location, the table, the key ARNs, the bus and the dead letters', () => {
    expect(Object.keys(outputs).sort()).toEqual([
      'ApiUrl',
      'CaChainLocation',
      'DiscoveryWorkerRoleArn',
      'EventBusName',
      'IssuingKeyArn',
      'PublisherDeadLetterQueueUrl',
      'RootKeyArn',
      'SummaryDeadLetterQueueUrl',
      'TableName',
    ]);
    const location = JSON.stringify(outputs.CaChainLocation.Value);
    expect(location).toContain('dynamodb://');
    expect(location).toContain(`/CA#${CA_ID}/CHAIN`);
    expect(location).toContain('v1/ca');
    expect(outputs.TableName.Value).toEqual({ Ref: 'InventoryTable' });
    expect(outputs.RootKeyArn.Value).toEqual({ 'Fn::GetAtt': ['CaRootKey', 'Arn'] });
    expect(outputs.IssuingKeyArn.Value).toEqual({ 'Fn::GetAtt': ['CaIssuingKey', 'Arn'] });
  });
});

/** Passes: nothing unacknowledged, every acknowledgement with a written reason, and exactly the known findings. */
function expectKnownNagFindings({ report, findings }: NagResult): void {
  expect(report?.conclusion).toBe('success');
  expect(report?.violations).toEqual([]);
  for (const suppressed of report?.suppressedViolations ?? []) {
    expect(suppressed.reason.length, suppressed.ruleName).toBeGreaterThan(60);
  }
  const acknowledged = new Set(report?.suppressedViolations.map((s) => s.ruleName));
  expect([...new Set(findings)].sort()).toEqual([...acknowledged].sort());
  expect([...acknowledged].map((rule) => rule.replace(/\[.*$/, '')).sort()).toEqual([
    'AwsSolutions-APIG4',
    'AwsSolutions-IAM4',
    'AwsSolutions-IAM5',
    'AwsSolutions-IAM5',
    'AwsSolutions-IAM5',
    'AwsSolutions-L1',
    'AwsSolutions-SQS3',
  ]);
}

describe('cdk-nag AwsSolutions', () => {
  it('passes: nothing unacknowledged, and every acknowledgement carries a written reason', () => {
    expect(nag.report?.conclusion).toBe('success');
    expect(nag.report?.violations).toEqual([]);
    for (const suppressed of nag.report?.suppressedViolations ?? []) {
      expect(suppressed.reason.length, suppressed.ruleName).toBeGreaterThan(60);
    }
  });

  it('acknowledges exactly the known findings, and each one it finds', () => {
    expectKnownNagFindings(nag);
  });
});

describe('scan network', () => {
  const VPC_ID = 'vpc-0123456789abcdef0';
  const PRIVATE_SUBNETS = ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'];
  const ISOLATED_SUBNETS = ['subnet-0bbbbbbbbbbbbbbb1', 'subnet-0bbbbbbbbbbbbbbb2'];
  const SCANNERS = ['discovery-worker', 'start-discovery-run'];
  /** The customer's VPC, imported from literal ids (no lookup: the synth stays offline). */
  const withVpc =
    (selection?: { subnets: SubnetSelection }) =>
    (app: App): Partial<ControlPlaneStackProps> => {
      const network = new Stack(app, 'Network');
      Validations.of(network).acknowledge({
        id: 'CloudFormation-Validate::F0001',
        reason:
          'Only holds the reference to an existing VPC that the control plane stack is given, so it has no resources.',
      });
      const vpc = Vpc.fromVpcAttributes(network, 'Vpc', {
        vpcId: VPC_ID,
        availabilityZones: ['eu-west-1a', 'eu-west-1b'],
        publicSubnetIds: ['subnet-0ccccccccccccccc1', 'subnet-0ccccccccccccccc2'],
        privateSubnetIds: PRIVATE_SUBNETS,
        isolatedSubnetIds: ISOLATED_SUBNETS,
      });
      return { scanNetwork: { vpc, ...selection } };
    };
  let scan: ReturnType<typeof synthesize>;

  beforeAll(() => {
    scan = synthesize({}, { bundle: false, prepare: withVpc() });
  }, 180_000);

  /** Each function's VPC configuration, by functions/<name> folder; functions outside a VPC are left out. */
  const vpcConfigs = (from: Record<string, Resource>) =>
    new Map(
      [...handlerFunctions(from)]
        .filter(([, fn]) => fn.Properties.VpcConfig !== undefined)
        .map(([name, fn]) => [name, fn.Properties.VpcConfig]),
    );
  /** Every function of the stack with a VPC configuration, the Provider framework's included. */
  const allInVpc = (from: Record<string, Resource>) =>
    ofType('AWS::Lambda::Function', from).filter(([, fn]) => fn.Properties.VpcConfig !== undefined);

  it('without it, no function is in a VPC, there is no security group and no role may manage network interfaces', () => {
    expect(allInVpc(resources)).toEqual([]);
    expect(ofType('AWS::EC2::SecurityGroup')).toEqual([]);
    const ec2 = ofType('AWS::IAM::Policy').flatMap(([, p]) =>
      (p.Properties.PolicyDocument.Statement as Json[]).flatMap((s) => [s.Action].flat() as string[]),
    );
    expect(ec2.filter((a) => a.startsWith('ec2:'))).toEqual([]);
  });

  it('puts exactly the worker and the starter in the private subnets, with one security group', () => {
    const configs = vpcConfigs(scan.resources);
    expect([...configs.keys()].sort()).toEqual(SCANNERS);
    expect(allInVpc(scan.resources)).toHaveLength(SCANNERS.length);
    const [[groupId, group] = []] = ofType('AWS::EC2::SecurityGroup', scan.resources);
    expect(ofType('AWS::EC2::SecurityGroup', scan.resources)).toHaveLength(1);
    expect(group?.Properties.VpcId).toBe(VPC_ID);
    for (const [name, config] of configs) {
      expect(config.SubnetIds, name).toEqual(PRIVATE_SUBNETS);
      expect(config.SecurityGroupIds, name).toEqual([{ 'Fn::GetAtt': [groupId, 'GroupId'] }]);
    }
  });

  it('the security group admits nothing and lets the scanners connect anywhere', () => {
    const [[, group] = []] = ofType('AWS::EC2::SecurityGroup', scan.resources);
    expect(group?.Properties.SecurityGroupIngress).toBeUndefined();
    expect(ofType('AWS::EC2::SecurityGroupIngress', scan.resources)).toEqual([]);
    expect(ofType('AWS::EC2::SecurityGroupEgress', scan.resources)).toEqual([]);
    expect(group?.Properties.SecurityGroupEgress).toEqual([
      { CidrIp: '0.0.0.0/0', Description: 'Allow all outbound traffic by default', IpProtocol: '-1' },
    ]);
    expect(group?.Properties.GroupDescription).toMatch(/no inbound.*allowedRanges/);
  });

  it("only Lambda, not the scanners' code, may manage their network interfaces, and before they are created", () => {
    for (const [name, fn] of handlerFunctions(scan.resources)) {
      const ec2 = statementsOf(name, scan.resources).filter((s) =>
        ([s.Action].flat() as string[]).some((a) => a.startsWith('ec2:')),
      );
      if (!SCANNERS.includes(name)) {
        expect(ec2, name).toEqual([]);
        continue;
      }
      const actions = [
        'ec2:CreateNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ];
      expect(ec2, name).toEqual([
        { Effect: 'Allow', Action: actions, Resource: '*' },
        {
          Effect: 'Deny',
          Action: actions,
          Resource: '*',
          Condition: { Null: { 'lambda:SourceFunctionArn': 'false' } },
        },
      ]);
      // A policy of its own, which the function waits for: Lambda checks it when it creates the function.
      const [[policyId] = []] = ofType('AWS::IAM::Policy', scan.resources).filter(
        ([, p]) =>
          JSON.stringify(p.Properties.PolicyDocument).includes('ec2:CreateNetworkInterface') &&
          p.Properties.Roles.some((r: Json) => roleOwner(r.Ref, scan.resources) === name),
      );
      expect(fn.DependsOn, name).toContain(policyId);
    }
  });

  it('takes the subnets it is given', () => {
    const isolated = synthesize(
      {},
      { bundle: false, prepare: withVpc({ subnets: { subnetType: SubnetType.PRIVATE_ISOLATED } }) },
    );
    const configs = vpcConfigs(isolated.resources);
    expect([...configs.keys()].sort()).toEqual(SCANNERS);
    for (const [name, config] of configs) expect(config.SubnetIds, name).toEqual(ISOLATED_SUBNETS);
  }, 180_000);

  it('cdk-nag: acknowledges exactly the known findings, the network interfaces with their own reason', () => {
    expectKnownNagFindings(scan.nag);
    const eni = scan.nag.report?.suppressedViolations.filter((s) => /network interfaces/.test(s.reason)) ?? [];
    expect(new Set(eni.map((s) => s.ruleName))).toEqual(new Set(['AwsSolutions-IAM5[Resource::*]']));
    const where = eni.flatMap((s) => s.violatingConstructs.map((c) => (c as { constructPath: string }).constructPath));
    expect(where.sort()).toEqual([
      'Test/DiscoveryWorker/NetworkInterfaces/Resource',
      'Test/StartDiscoveryRun/NetworkInterfaces/Resource',
    ]);
  });
});

describe('organization-wide discovery', () => {
  it('lets the starter list the accounts (its only "*" resource, acknowledged) and the worker assume the role anywhere', () => {
    const synth = synthesize(
      {},
      {
        bundle: false,
        prepare: () => ({
          config: { ...CONFIG, discovery: { aws: { accounts: { organization: true }, externalId: 'mim-ext-1' } } },
        }),
      },
    );
    expectKnownNagFindings(synth.nag);
    const policies = Object.values(synth.resources).filter((r) => r.Type === 'AWS::IAM::Policy');
    const actions = policies.flatMap((p) =>
      (
        (p.Properties as { PolicyDocument: { Statement: Array<{ Action: string | string[] }> } }).PolicyDocument
          .Statement ?? []
      ).flatMap((st) => [st.Action].flat()),
    );
    expect(actions.filter((a) => a === 'organizations:ListAccounts')).toHaveLength(1);
    const reasons = synth.nag.report?.suppressedViolations.filter((v) => /ListAccounts/.test(v.reason)) ?? [];
    expect(reasons.map((r) => r.ruleName)).toEqual(['AwsSolutions-IAM5[Resource::*]']);
  }, 120_000);
});
