import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '#functions/routes.ts';
import { ControlPlaneStack } from '../../infra/stacks/control-plane-stack.ts';

/** Security properties of the synthesized stack (no whole-template snapshot). One synth, with bundling, per file. */

let template: Template;
let resources: Record<
  string,
  { Type: string; Properties?: any; DeletionPolicy?: string; UpdateReplacePolicy?: string }
>;
let nagViolations: string[];

beforeAll(() => {
  const app = new App();
  const stack = new ControlPlaneStack(app, 'Test');
  // Synthesis with the cdk-nag plugin fails if any finding is neither fixed nor acknowledged.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
  nagViolations = new AwsSolutionsChecks(app)
    .validateScope(stack)
    .violations.map((v) => v.ruleName.replace(/\[.*$/, ''));
}, 180_000);

function ofType(type: string) {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

/** The function (by its functions/<name> folder, read from the role description) each IAM role belongs to. */
function roleOwner(roleLogicalId: string): string {
  const description: string = resources[roleLogicalId]?.Properties?.Description ?? '';
  return /Execution role of the (\S+) function/.exec(description)?.[1] ?? roleLogicalId;
}

/** Which functions' roles are allowed `action` on the key with this logical id. */
function allowed(action: string, keyLogicalId: string): string[] {
  const who = new Set<string>();
  for (const [, policy] of ofType('AWS::IAM::Policy')) {
    for (const statement of policy.Properties.PolicyDocument.Statement) {
      const actions: string[] = [statement.Action].flat();
      const grants = actions.some((a) => a === action || a === 'kms:*' || a === '*');
      const onKey = JSON.stringify(statement.Resource).includes(keyLogicalId) || statement.Resource === '*';
      if (statement.Effect === 'Allow' && grants && onKey) {
        for (const role of policy.Properties.Roles) who.add(roleOwner(role.Ref));
      }
    }
  }
  return [...who].sort();
}

describe('inventory table', () => {
  it('has PITR, deletion protection, encryption, RETAIN and a fixed logical id', () => {
    const table = resources.InventoryTable;
    expect(table?.Type).toBe('AWS::DynamoDB::Table');
    expect(table?.DeletionPolicy).toBe('Retain');
    expect(table?.UpdateReplacePolicy).toBe('Retain');
    expect(table?.Properties).toMatchObject({
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      SSESpecification: { SSEEnabled: true },
      BillingMode: 'PAY_PER_REQUEST',
    });
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
  it('are retained ECC P-256 signing keys with fixed logical ids', () => {
    for (const id of ['CaRootKey', 'CaIssuingKey']) {
      expect(resources[id]?.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
      expect(resources[id]?.DeletionPolicy).toBe('Retain');
    }
  });

  it('only the bootstrap function may use the root key', () => {
    expect(allowed('kms:Sign', 'CaRootKey')).toEqual(['bootstrap-ca']);
    expect(allowed('kms:GetPublicKey', 'CaRootKey')).toEqual(['bootstrap-ca']);
  });

  it('only the issuing function may kms:Sign with the issuing key', () => {
    expect(allowed('kms:Sign', 'CaIssuingKey')).toEqual(['issue-certificate']);
  });

  it('key policies open nothing beyond the account delegation to IAM', () => {
    for (const id of ['CaRootKey', 'CaIssuingKey']) {
      const statements = resources[id]?.Properties.KeyPolicy.Statement;
      expect(statements).toHaveLength(1);
      expect(JSON.stringify(statements[0].Principal)).toContain(':root');
    }
  });
});

describe('functions', () => {
  it('one per handler, Node.js 22 on arm64, each with its own log group with retention', () => {
    const functions = ofType('AWS::Lambda::Function').filter(([id]) => !id.includes('framework'));
    const handlerCount = new Set(ROUTES.map((r) => r.function)).size + 2; // + route-not-found, bootstrap-ca
    expect(functions).toHaveLength(handlerCount);
    for (const [, fn] of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      const logGroup = resources[fn.Properties.LoggingConfig.LogGroup.Ref];
      expect(logGroup?.Properties.RetentionInDays).toBeGreaterThan(0);
    }
  });

  it('every log group has a retention', () => {
    for (const [, group] of ofType('AWS::Logs::LogGroup')) expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
  });

  it('no function role uses an AWS managed policy', () => {
    for (const [id, role] of ofType('AWS::IAM::Role')) {
      if (id.includes('framework')) continue;
      expect(role.Properties.ManagedPolicyArns ?? []).toEqual([]);
    }
  });
});

describe('HTTP API', () => {
  it('IAM-authorizes every route but health, the CA chain and the 404 fallback', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(routes).toHaveLength(ROUTES.length + 1);
    for (const route of ROUTES) {
      const found = routes.find((r) => r.RouteKey === `${route.method} ${route.path}`);
      expect(found?.AuthorizationType, route.path).toBe(route.auth === 'iam' ? 'AWS_IAM' : 'NONE');
    }
    expect(routes.find((r) => r.RouteKey === '$default')?.AuthorizationType).toBe('NONE');
  });

  it('throttles and logs access at the stage', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });
});

describe('CA bootstrap and outputs', () => {
  it('bootstraps the CA with a custom resource', () => {
    template.hasResourceProperties('Custom::CaBootstrap', { CaId: 'default', RootValidityDays: '3650' });
  });

  it('names the API URL and the CA chain location', () => {
    const outputs = Object.keys(template.toJSON().Outputs);
    expect(outputs).toEqual(
      expect.arrayContaining(['ApiUrl', 'CaChainLocation', 'TableName', 'IssuingKeyArn', 'RootKeyArn']),
    );
  });
});

describe('cdk-nag', () => {
  it('reports only the findings the stack acknowledges with a reason', () => {
    expect([...new Set(nagViolations)].sort()).toEqual([
      'AwsSolutions-APIG4',
      'AwsSolutions-IAM4',
      'AwsSolutions-IAM5',
      'AwsSolutions-L1',
    ]);
  });
});
