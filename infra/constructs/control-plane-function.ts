import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type ISecurityGroup, type IVpc, type SubnetSelection, SubnetType } from 'aws-cdk-lib/aws-ec2';
import { Effect, Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { SERVICE_NAME } from '#lib/config/env.ts';
import type { MimConfig } from '#lib/domain/policy.ts';

const repoRoot = join(import.meta.dirname, '..', '..');

/**
 * esbuild settings every function bundle shares; the bundle test builds with the same ones, so what it runs is what
 * Lambda runs. CommonJS dependencies call require(); an ESM bundle has none unless we make one.
 */
export const BUNDLE = {
  target: 'node22',
  banner:
    "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  mainFields: ['module', 'main'],
} as const;

/** The functions' timeout; API Gateway's HTTP API gives up on an integration after 30 s. */
export const FUNCTION_TIMEOUT_SECONDS = 15;

export interface ControlPlaneFunctionProps {
  /** Folder under `functions/`; the entry is its `index.ts`. */
  readonly name: string;
  readonly logRetention: RetentionDays;
  /** Powertools log level. Default `INFO`. */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Default 512 MB; Lambda allots CPU in proportion, which is what signing and DER encoding need. */
  readonly memorySize?: number;
  /** Default {@link FUNCTION_TIMEOUT_SECONDS}; longer only for work that is not behind API Gateway. */
  readonly timeoutSeconds?: number;
  /** The validated configuration document, written into the bundle (see {@link configDefine}). */
  readonly config: MimConfig;
  /** Runs the function in these subnets of a VPC with this security group. Default: outside any VPC. */
  readonly network?: FunctionNetwork;
}

/** Where a function's network traffic leaves from when it must reach private addresses. */
export interface FunctionNetwork {
  readonly vpc: IVpc;
  /** Default: the VPC's private subnets with egress. */
  readonly subnets?: SubnetSelection;
  readonly securityGroup: ISecurityGroup;
}

/**
 * What Lambda needs on the execution role to manage a VPC function's network interfaces (the list of
 * AWSLambdaVPCAccessExecutionRole without its logs permissions, which would cover every log group).
 */
export const NETWORK_INTERFACE_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
] as const;

/**
 * The esbuild `define` that writes the configuration into a bundle as the global `__MIM_CONFIG__` (a JSON string):
 * no size limit as with environment variables (4 KB in all), no store to read at cold start, and a new configuration
 * is a new code version of each function.
 */
export function configDefine(config: MimConfig): Record<string, string> {
  return { __MIM_CONFIG__: JSON.stringify(JSON.stringify(config)) };
}

/**
 * One Lambda function per handler: Node.js 22 on arm64, an esbuild ESM bundle that includes the AWS SDK clients (so
 * the code runs against the SDK version it was tested with), its own log group with a retention, and its own role
 * whose only standing permission is writing to that log group (and, in a VPC, Lambda's management of the function's
 * network interfaces); every other permission comes from a grant helper, which also sets the environment variable
 * naming what it granted.
 */
export class ControlPlaneFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: ControlPlaneFunctionProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An explicit role instead of AWSLambdaBasicExecutionRole: that managed policy may write to any log group.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.name} function`,
    });
    logGroup.grantWrite(this.role);
    this.fn = new NodejsFunction(this, 'Function', {
      entry: join(repoRoot, 'functions', props.name, 'index.ts'),
      handler: 'handler',
      projectRoot: repoRoot,
      depsLockFilePath: join(repoRoot, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: Duration.seconds(props.timeoutSeconds ?? FUNCTION_TIMEOUT_SECONDS),
      role: this.role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment: {
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        // Readable stack traces in the logs. Measured here: about 25 ms more to load a 1.1 MB bundle.
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        format: OutputFormat.ESM,
        target: BUNDLE.target,
        minify: true,
        sourceMap: true,
        logLevel: LogLevel.WARNING,
        // Bundle everything, the AWS SDK included: the runtime's SDK copy changes without notice.
        externalModules: [],
        mainFields: [...BUNDLE.mainFields],
        banner: BUNDLE.banner,
        define: configDefine(props.config),
      },
      ...(props.network
        ? {
            vpc: props.network.vpc,
            vpcSubnets: props.network.subnets ?? { subnetType: SubnetType.PRIVATE_WITH_EGRESS },
            securityGroups: [props.network.securityGroup],
          }
        : {}),
    });
    if (props.network) this.allowNetworkInterfaces();
    Validations.of(this).acknowledge({
      id: 'AwsSolutions::AwsSolutions-L1',
      reason:
        'Pinned to Node.js 22, the runtime the bundle targets (esbuild target node22) and the tests cover; a newer ' +
        'runtime is a deliberate, tested change rather than something to float on.',
    });
  }

  /**
   * Lambda creates and deletes the function's network interfaces with the execution role, so the role must allow it
   * (on `*`: EC2 authorizes DescribeNetworkInterfaces on nothing narrower, and the interfaces do not exist yet). The
   * same credentials reach the function's code, which must not get them: a request Lambda makes for the interfaces
   * carries no `lambda:SourceFunctionArn`, one from the code always does, and that one is denied. A policy of its
   * own, which the function waits for: Lambda checks the permissions when it creates the function, and on stack
   * deletion the function goes first, so Lambda can still release the interfaces.
   */
  private allowNetworkInterfaces(): void {
    const policy = new Policy(this, 'NetworkInterfaces', {
      roles: [this.role],
      statements: [
        new PolicyStatement({ actions: [...NETWORK_INTERFACE_ACTIONS], resources: ['*'] }),
        new PolicyStatement({
          effect: Effect.DENY,
          actions: [...NETWORK_INTERFACE_ACTIONS],
          resources: ['*'],
          conditions: { Null: { 'lambda:SourceFunctionArn': 'false' } },
        }),
      ],
    });
    this.fn.node.addDependency(policy);
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'Lambda manages the network interfaces of a function in a VPC with its execution role, and EC2 grants ' +
        'DescribeNetworkInterfaces only on "*" (the interfaces to create have no ARN yet). The function code itself ' +
        'is denied these actions (lambda:SourceFunctionArn present), so only the Lambda service can use them.',
    });
  }
}
