import { createHash } from 'node:crypto';
import { CfnOutput, CustomResource, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { type IVpc, SecurityGroup, type SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets';
import type { CfnFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { EVENT_RULES } from '#events/rules.ts';
import {
  API_FUNCTION_ACCESS,
  FUNCTION_TABLE_ACCESS,
  type FunctionAccess,
  type FunctionName,
} from '#functions/function-access.ts';
import { type ApiFunctionName, ROUTES } from '#functions/routes.ts';
import { ENV } from '#lib/config/env.ts';
import { resolveTableGrants } from '#lib/config/table-grants.ts';
import { type MimConfigInput, parseMimConfig } from '#lib/domain/policy.ts';
import { CaKeys } from '../constructs/ca-keys.ts';
import { ControlPlaneFunction, type FunctionNetwork } from '../constructs/control-plane-function.ts';
import { DISCOVERY_WORKER_TIMEOUT_SECONDS, DiscoveryFanOut } from '../constructs/discovery-fan-out.ts';
import { EventBackbone } from '../constructs/event-backbone.ts';
import { InventoryTable } from '../constructs/inventory-table.ts';
import { SigningKey } from '../constructs/signing-key.ts';

/** The daily risk sweep reads the certificates due and writes those whose risk moved: minutes at most. */
const RESCORE_TIMEOUT_SECONDS = 300;

/** Fixed logical id of the sealing key: replacing it would make every stored sealed answer unreadable. */
export const SEAL_KEY_LOGICAL_ID = 'SealKey';

export interface ControlPlaneStackProps extends StackProps {
  /**
   * The configuration document (`mim.config.json`): roles and issuance policies. Validated at synth, with errors that
   * name the offending field; every function gets the validated document and the deployment seeds its policies.
   */
  readonly config: MimConfigInput;
  /** Names the CA: the chain item (`CA#<caId>`) and the KMS key aliases. Lowercase letters, digits, `-`. Default `default`. */
  readonly caId?: string;
  /** Default `MIM Root CA (<caId>)`. At most 64 characters (X.509 upper bound for a common name). */
  readonly rootCommonName?: string;
  /** Default `MIM Issuing CA (<caId>)`. At most 64 characters. */
  readonly issuingCommonName?: string;
  /** Default 3650 (10 years). */
  readonly rootValidityDays?: number;
  /** Default 1825 (5 years); no longer than the root's. */
  readonly issuingValidityDays?: number;
  /** Stage-wide throttling (steady requests per second and burst). Default 50/s, burst 100. */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  /** Retention of function, custom resource and API access logs. Default one year. */
  readonly logRetention?: RetentionDays;
  /** Powertools log level of every function. Default `INFO`. */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /**
   * The VPC that TLS scans run in, so that they reach private endpoints: `start-discovery-run` (which resolves the
   * targets' names, with the VPC's resolver and private hosted zones) and `discovery-worker` (which connects to the
   * resolved addresses) get network interfaces in these subnets, with one security group of the stack's that admits
   * nothing and lets them connect anywhere. `discovery.tls.allowedRanges` in the configuration still decides what may
   * be dialled. The subnets must reach the AWS APIs the two functions call, through NAT or VPC endpoints: DynamoDB (a
   * gateway endpoint) and SQS (an interface endpoint; the starter sends the units), and, for AWS sources, STS and the
   * services discovered (IAM, ACM, Secrets Manager, KMS; Organizations for the starter with
   * `"accounts": { "organization": true }`). `subnets` defaults to the VPC's private subnets with egress. Without this
   * prop both functions run outside any VPC and reach only public endpoints.
   */
  readonly scanNetwork?: { readonly vpc: IVpc; readonly subnets?: SubnetSelection };
}

/**
 * The control plane as one stack: the inventory table, the CA's KMS keys, the custom resource that bootstraps the CA,
 * and one function per route behind an HTTP API that uses IAM (SigV4) authorization wherever data is read or changed.
 */
export class ControlPlaneStack extends Stack {
  constructor(scope: Construct, id: string, props: ControlPlaneStackProps) {
    super(scope, id, props);
    const config = parseMimConfig(props.config, `the config prop of stack ${id}`);
    const caId = props.caId ?? 'default';
    const ca = {
      CaId: caId,
      RootCommonName: props.rootCommonName ?? `MIM Root CA (${caId})`,
      IssuingCommonName: props.issuingCommonName ?? `MIM Issuing CA (${caId})`,
      RootValidityDays: props.rootValidityDays ?? 3650,
      IssuingValidityDays: props.issuingValidityDays ?? 1825,
    };
    checkCaSettings(ca);
    const logRetention = props.logRetention ?? RetentionDays.ONE_YEAR;
    const throttle = props.throttle ?? { rateLimit: 50, burstLimit: 100 };
    const scanNetwork = props.scanNetwork && scanNetworkOf(this, props.scanNetwork);
    const newFunction = (
      constructId: string,
      name: string,
      memorySize?: number,
      timeoutSeconds?: number,
      network?: FunctionNetwork,
    ) =>
      new ControlPlaneFunction(this, constructId, {
        name,
        logRetention,
        config,
        ...(props.logLevel ? { logLevel: props.logLevel } : {}),
        ...(memorySize ? { memorySize } : {}),
        ...(timeoutSeconds ? { timeoutSeconds } : {}),
        ...(network ? { network } : {}),
      }).fn;

    const inventory = new InventoryTable(this, 'Inventory');
    const tableGrants = (name: FunctionName) => resolveTableGrants(FUNCTION_TABLE_ACCESS[name], caId);
    const keys = new CaKeys(this, 'CaKeys', { aliasPrefix: `alias/mim-${caId}` });
    // The server-held half of the secret that seals stored token answers: reading the table is never enough.
    const sealKey = new SigningKey(this, 'SealKey', {
      kind: 'mac',
      logicalId: SEAL_KEY_LOGICAL_ID,
      alias: `alias/mim-${caId}-seal`,
      description: 'Machine identity control plane: HMAC key sealing stored idempotent answers that hold secrets',
    });

    const bootstrapFn = newFunction('BootstrapCa', 'bootstrap-ca');
    keys.grantBootstrap(bootstrapFn);
    inventory.grant(bootstrapFn, tableGrants('bootstrap-ca'));
    bootstrapFn.addEnvironment(ENV.caId, caId);
    // The Provider framework speaks CloudFormation's response protocol, so the handler just returns a result.
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
      // CloudFormation hands every property to the handler as a string anyway.
      properties: {
        ...ca,
        RootValidityDays: String(ca.RootValidityDays),
        IssuingValidityDays: String(ca.IssuingValidityDays),
        ConfigHash: createHash('sha256').update(JSON.stringify(config)).digest('hex'),
      },
      // The chain lives as long as the retained keys and table: deleting the stack must not even ask to remove it.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const backbone = new EventBackbone(this, 'Events', { busName: EventBackbone.busName(caId) });
    const publisherFn = newFunction('PublishEvents', 'publish-events');
    backbone.attachPublisher(publisherFn, inventory.table);
    // The inventory summary's counters, kept from the same stream by a consumer of its own.
    const summarizerFn = newFunction('SummarizeInventory', 'summarize-inventory');
    inventory.grant(summarizerFn, tableGrants('summarize-inventory'));
    backbone.attachSummarizer(summarizerFn, inventory.table);

    const discovery = new DiscoveryFanOut(this, 'Discovery', { config: config.discovery });
    const workerFn = newFunction(
      'DiscoveryWorker',
      'discovery-worker',
      1024,
      DISCOVERY_WORKER_TIMEOUT_SECONDS,
      scanNetwork,
    );
    inventory.grant(workerFn, tableGrants('discovery-worker'));
    discovery.attachWorker(workerFn);
    // TLS units tell our certificates apart by the CA chain, which the bootstrap writes.
    workerFn.addEnvironment(ENV.caId, caId);
    workerFn.node.addDependency(bootstrap);

    // Issued identities' risk moves with the clock (renewal due, expiry): a daily sweep reassesses those due.
    const rescoreFn = newFunction('RescoreRisk', 'rescore-risk', undefined, RESCORE_TIMEOUT_SECONDS);
    inventory.grant(rescoreFn, tableGrants('rescore-risk'));
    new Rule(this, 'DailyRiskSweep', {
      description: 'Reassesses the risk of issued identities whose certificates fell due or expired',
      schedule: Schedule.rate(Duration.days(1)),
      targets: [new LambdaTarget(rescoreFn, { retryAttempts: 2 })],
    });

    const functions = new Map<ApiFunctionName, LambdaFunction>();
    for (const [name, access] of Object.entries(API_FUNCTION_ACCESS) as [ApiFunctionName, FunctionAccess][]) {
      // The starter resolves the TLS targets' names, so it resolves them where the worker will connect.
      const fn = newFunction(
        pascal(name),
        name,
        name === 'issue-certificate' ? 1024 : undefined,
        undefined,
        access.startsDiscovery ? scanNetwork : undefined,
      );
      inventory.grant(fn, tableGrants(name));
      if (access.signsWithIssuingKey) keys.grantIssue(fn);
      if (access.sealsAnswers) sealKey.grantUse(fn, ENV.sealKeyId);
      if (access.startsDiscovery) discovery.attachStarter(fn);
      if (access.usesCaChain) {
        fn.addEnvironment(ENV.caId, caId);
        fn.node.addDependency(bootstrap);
      }
      functions.set(name, fn);
    }
    backbone.addRules(EVENT_RULES, (rule) => {
      const fn = functions.get(rule.target as ApiFunctionName);
      if (!fn) throw new Error(`Rule ${rule.name} targets ${rule.target}, which this stack does not deploy.`);
      return fn;
    });
    const integration = (name: ApiFunctionName) => {
      const fn = functions.get(name);
      if (!fn) throw new Error(`No function ${name}: declare it in API_FUNCTION_ACCESS.`);
      return new HttpLambdaIntegration(`${pascal(name)}Integration`, fn, {
        payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
      });
    };

    const api = new HttpApi(this, 'Api', {
      description: 'Machine identity control plane',
      createDefaultStage: false,
      // Unknown paths and methods get our 404/405 without authentication: the handler reads nothing and holds no
      // permission, and requiring SigV4 would only turn the answer into a 403 that tells a prober just as much.
      defaultIntegration: integration('route-not-found'),
    });
    const iam = new HttpIamAuthorizer();
    const publicRoutes: Construct[] = [api.node.findChild('DefaultRoute')];
    for (const route of ROUTES) {
      const added = api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: integration(route.function),
        authorizer: route.auth === 'iam' ? iam : new HttpNoneAuthorizer(),
      });
      if (route.auth !== 'iam') publicRoutes.push(...added);
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
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: ACCESS_LOG_FORMAT },
    });

    new CfnOutput(this, 'ApiUrl', { value: stage.url, description: 'Base URL of the HTTP API (routes under v1/)' });
    new CfnOutput(this, 'CaChainLocation', {
      value: `dynamodb://${inventory.table.tableName}/CA#${caId}/CHAIN; GET ${stage.url}v1/ca`,
      description: 'Where the CA bootstrap stores the chain (table/pk/sk) and the public route that serves it',
    });
    new CfnOutput(this, 'TableName', { value: inventory.table.tableName });
    new CfnOutput(this, 'DiscoveryWorkerRoleArn', {
      value: workerFn.role?.roleArn ?? '',
      description:
        'The role the member accounts trust: deploy MimDiscoveryMember with -c discoveryTrustedRoleArn=<this>',
    });
    new CfnOutput(this, 'EventBusName', {
      value: backbone.bus.eventBusName,
      description: 'The EventBridge bus every control plane event (source mim.control-plane) is put on',
    });
    new CfnOutput(this, 'PublisherDeadLetterQueueUrl', {
      value: backbone.publisherDeadLetters.queueUrl,
      description: 'Stream records the event publisher gave up on, for inspection and redrive',
    });
    new CfnOutput(this, 'SummaryDeadLetterQueueUrl', {
      value: backbone.summaryDeadLetters.queueUrl,
      description: "Stream records the inventory summary's consumer gave up on, for inspection and redrive",
    });
    new CfnOutput(this, 'IssuingKeyArn', { value: keys.issuingKey.keyArn });
    new CfnOutput(this, 'RootKeyArn', { value: keys.rootKey.keyArn });

    acknowledgeNagFindings(provider, publicRoutes);
  }
}

/**
 * One JSON object per request, with HTTP API context variables. The caller's IAM identity is there for SigV4
 * requests; bodies, headers and query strings never are.
 */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    routeKey: '$context.routeKey',
    status: '$context.status',
    sourceIp: '$context.identity.sourceIp',
    userAgent: '$context.identity.userAgent',
    callerArn: '$context.identity.userArn',
    callerAccount: '$context.identity.accountId',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationStatus: '$context.integrationStatus',
    integrationError: '$context.integrationErrorMessage',
    authorizerError: '$context.authorizer.error',
  }),
);

/** Fails the synth on settings the bootstrap handler would reject at deploy time, which is slower to find out. */
function checkCaSettings(ca: {
  CaId: string;
  RootCommonName: string;
  IssuingCommonName: string;
  RootValidityDays: number;
  IssuingValidityDays: number;
}): void {
  if (!/^[a-z0-9-]{1,64}$/.test(ca.CaId)) {
    throw new Error(`caId '${ca.CaId}' is invalid: use 1 to 64 lowercase letters, digits or '-'.`);
  }
  for (const [name, value] of [
    ['rootCommonName', ca.RootCommonName],
    ['issuingCommonName', ca.IssuingCommonName],
  ] as const) {
    if (value.length < 1 || value.length > 64) throw new Error(`${name} must be 1 to 64 characters long.`);
  }
  for (const [name, value] of [
    ['rootValidityDays', ca.RootValidityDays],
    ['issuingValidityDays', ca.IssuingValidityDays],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 36_500) {
      throw new Error(`${name} must be a whole number of days from 1 to 36500.`);
    }
  }
  if (ca.IssuingValidityDays > ca.RootValidityDays) {
    throw new Error('issuingValidityDays must not exceed rootValidityDays: the issuing CA cannot outlive the root.');
  }
}

/**
 * The network of the scanning functions: the given VPC and subnets, and one security group for both. It admits
 * nothing (Lambda functions take no inbound connections) and allows every outbound connection, since scans dial any
 * port of any address the configured allowed ranges admit, which the scanner checks on each address it dials.
 */
function scanNetworkOf(
  scope: Construct,
  network: { readonly vpc: IVpc; readonly subnets?: SubnetSelection },
): FunctionNetwork {
  const securityGroup = new SecurityGroup(scope, 'ScanSecurityGroup', {
    vpc: network.vpc,
    description:
      'Discovery scanning functions: no inbound; outbound anywhere (TLS scans dial any port inside discovery.tls.allowedRanges)',
    allowAllOutbound: true,
  });
  return { vpc: network.vpc, securityGroup, ...(network.subnets ? { subnets: network.subnets } : {}) };
}

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());
}

/**
 * The cdk-nag findings this stack accepts, each on the narrowest construct with its reason. They are namespaced with
 * the plugin's name (`AwsSolutions::`) so that the synth's validation report lists each one as suppressed, with its
 * reason, location and where it was acknowledged. Findings owned by a construct (runtime pin, index wildcard) are
 * acknowledged in that construct.
 */
function acknowledgeNagFindings(provider: Provider, publicRoutes: Construct[]): void {
  const ack = (scope: Construct, id: string, reason: string) =>
    Validations.of(scope).acknowledge({ id: `AwsSolutions::${id}`, reason });
  for (const route of publicRoutes) {
    ack(
      route,
      'AwsSolutions-APIG4',
      'Deliberately public: liveness (GET /v1/health); the CA chain, which relying parties must fetch without AWS ' +
        'credentials (GET /v1/ca); the API description (GET /v1/openapi.json), which reads nothing; the 404/405 ' +
        'fallback, which reads nothing either; and POST /v1/enroll, where machines outside AWS present a one-time ' +
        'enrollment token (checked and spent by the function; without one it answers 401). Every other route uses AWS_IAM.',
    );
  }
  const stack = Stack.of(provider);
  const bootstrapFnId = stack.getLogicalId(provider.onEventHandler.node.defaultChild as CfnFunction);
  ack(
    provider,
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    "The Provider framework creates its own onEvent role with AWS's basic execution policy and offers no way to " +
      'replace it. That function holds no other permission than invoking the bootstrap function.',
  );
  ack(
    provider,
    `AwsSolutions-IAM5[Resource::<${bootstrapFnId}.Arn>:*]`,
    'The Provider framework may invoke the bootstrap function and its versions (<ARN>:*): that one function only.',
  );
}
