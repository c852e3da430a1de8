import { CfnOutput, CustomResource, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import {
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { type ApiFunctionName, ROUTES } from '#functions/routes.ts';
import { ENV } from '#lib/config/env.ts';
import { CaKeys } from '../constructs/ca-keys.ts';
import { ControlPlaneFunction } from '../constructs/control-plane-function.ts';
import { INVENTORY_TABLE_LOGICAL_ID, InventoryTable } from '../constructs/inventory-table.ts';

export interface ControlPlaneStackProps extends StackProps {
  /** Names the CA chain item and the KMS key aliases. Default `default`. */
  readonly caId?: string;
  readonly rootCommonName?: string;
  readonly issuingCommonName?: string;
  /** Default 3650 (10 years). */
  readonly rootValidityDays?: number;
  /** Default 1825 (5 years); capped by the root's validity at bootstrap. */
  readonly issuingValidityDays?: number;
  /** Stage-wide throttling. Default 50 requests/s, burst 100. */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  /** Retention of function and access logs. Default one year. */
  readonly logRetention?: RetentionDays;
}

/** Which table access each API function needs; functions not listed get none. */
const TABLE_ACCESS: Partial<Record<ApiFunctionName, 'read' | 'readWrite'>> = {
  'get-ca-chain': 'read',
  'issue-certificate': 'readWrite',
  'get-certificate': 'read',
  'revoke-certificate': 'readWrite',
  'list-identities': 'read',
  'get-identity': 'read',
};

/**
 * The whole control plane as one stack: the inventory table, the CA's KMS keys, one function per route behind an
 * HTTP API with IAM authorization, and the custom resource that bootstraps the CA in KMS.
 */
export class ControlPlaneStack extends Stack {
  constructor(scope: Construct, id: string, props: ControlPlaneStackProps = {}) {
    super(scope, id, props);
    const caId = props.caId ?? 'default';
    const logRetention = props.logRetention ?? RetentionDays.ONE_YEAR;
    const throttle = props.throttle ?? { rateLimit: 50, burstLimit: 100 };

    const inventory = new InventoryTable(this, 'Inventory');
    const keys = new CaKeys(this, 'CaKeys', { aliasPrefix: `alias/mim-${caId}` });

    // The CA bootstrap: a custom resource whose handler builds root and intermediate with the KMS keys.
    const bootstrapFn = new ControlPlaneFunction(this, 'BootstrapCa', { name: 'bootstrap-ca', logRetention }).fn;
    bootstrapFn.addEnvironment(ENV.caId, caId);
    keys.grantBootstrap(bootstrapFn);
    inventory.grantReadWrite(bootstrapFn);
    const provider = new Provider(this, 'CaBootstrapProvider', {
      onEventHandler: bootstrapFn,
      logGroup: new LogGroup(this, 'CaBootstrapProviderLogs', {
        retention: logRetention,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
    const bootstrap = new CustomResource(this, 'CaBootstrap', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::CaBootstrap',
      properties: {
        CaId: caId,
        RootCommonName: props.rootCommonName ?? `MIM Root CA (${caId})`,
        IssuingCommonName: props.issuingCommonName ?? `MIM Issuing CA (${caId})`,
        RootValidityDays: String(props.rootValidityDays ?? 3650),
        IssuingValidityDays: String(props.issuingValidityDays ?? 1825),
      },
    });

    // One function per handler.
    const functions = new Map<ApiFunctionName, ControlPlaneFunction['fn']>();
    const names: ApiFunctionName[] = [...new Set(ROUTES.map((r) => r.function)), 'route-not-found'];
    for (const name of names) {
      const fn = new ControlPlaneFunction(this, pascal(name), {
        name,
        logRetention,
        memorySize: name === 'issue-certificate' ? 1024 : 512,
      }).fn;
      const access = TABLE_ACCESS[name];
      if (access === 'read') inventory.grantRead(fn);
      if (access === 'readWrite') inventory.grantReadWrite(fn);
      if (name === 'issue-certificate') keys.grantIssue(fn);
      if (name === 'issue-certificate' || name === 'get-ca-chain') {
        fn.addEnvironment(ENV.caId, caId);
        // They read the chain the bootstrap writes.
        fn.node.addDependency(bootstrap);
      }
      functions.set(name, fn);
    }
    const fnOf = (name: ApiFunctionName) => {
      const fn = functions.get(name);
      if (!fn) throw new Error(`no function ${name}`);
      return fn;
    };

    // The HTTP API: IAM (SigV4) on every route that reads or changes the inventory.
    const api = new HttpApi(this, 'Api', {
      description: 'Machine identity control plane',
      createDefaultStage: false,
      // Unknown paths and methods answer 404/405 in our error format; the handler reads nothing and needs no
      // permission, so leaving it unauthenticated tells a prober nothing it could not learn from the docs.
      defaultIntegration: new HttpLambdaIntegration('RouteNotFound', fnOf('route-not-found')),
    });
    const iam = new HttpIamAuthorizer();
    const publicRoutes: Construct[] = [api.node.findChild('DefaultRoute')];
    for (const route of ROUTES) {
      const added = api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${pascal(route.function)}Integration`, fnOf(route.function)),
        authorizer: route.auth === 'iam' ? iam : new HttpNoneAuthorizer(),
      });
      if (route.auth === 'none') publicRoutes.push(...added);
    }
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const stage = new HttpStage(this, 'DefaultStage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      throttle,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
    });

    new CfnOutput(this, 'ApiUrl', { value: stage.url, description: 'Base URL of the HTTP API (routes under /v1/)' });
    new CfnOutput(this, 'CaChainLocation', {
      value: `dynamodb://${inventory.table.tableName}/CA#${caId}/CHAIN (served at ${stage.url}v1/ca)`,
      description: 'Where the CA chain is stored and served',
    });
    new CfnOutput(this, 'TableName', { value: inventory.table.tableName });
    new CfnOutput(this, 'IssuingKeyArn', { value: keys.issuingKey.keyArn });
    new CfnOutput(this, 'RootKeyArn', { value: keys.rootKey.keyArn });

    acknowledgeNagFindings(this, INVENTORY_TABLE_LOGICAL_ID, provider, publicRoutes);
  }
}

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());
}

/** cdk-nag findings we accept, each with the reason. Everything else cdk-nag reports is fixed, not acknowledged. */
function acknowledgeNagFindings(
  stack: Stack,
  tableLogicalId: string,
  provider: Provider,
  publicRoutes: Construct[],
): void {
  const ack = (scope: Construct, id: string, reason: string) =>
    Validations.of(scope).acknowledge({ id: `AwsSolutions::${id}`, reason });
  ack(
    stack,
    'AwsSolutions-L1',
    'The functions run on Node.js 22, the runtime the bundles target (esbuild target node22) and the tests cover; ' +
      'moving to a newer runtime is a deliberate, tested change rather than something to float on.',
  );
  ack(
    stack,
    `AwsSolutions-IAM5[Resource::<${tableLogicalId}.Arn>/index/*]`,
    'Queries on the inventory go through its global secondary indexes (expiry, byType, byOwner); DynamoDB grants ' +
      'index access by the index/* ARN. The grant is scoped to this one table.',
  );
  for (const route of publicRoutes) {
    ack(
      route,
      'AwsSolutions-APIG4',
      'Deliberately public: liveness (GET /v1/health), the CA chain, which relying parties must fetch without AWS ' +
        'credentials (GET /v1/ca), and the 404/405 fallback, which reads nothing. Every other route uses AWS_IAM.',
    );
  }
  ack(
    provider,
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'The custom resource Provider framework creates its own onEvent role with the basic execution policy; CDK offers ' +
      'no way to replace it. The framework only invokes the bootstrap function.',
  );
  ack(
    provider,
    `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(provider.onEventHandler.node.defaultChild as CfnFunction)}.Arn>:*]`,
    'The Provider framework is granted lambda:InvokeFunction on the bootstrap function and its versions (ARN:*).',
  );
}
