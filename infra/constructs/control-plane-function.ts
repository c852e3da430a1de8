import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
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
}

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
 * whose only standing permission is writing to that log group; every other permission comes from a grant helper,
 * which also sets the environment variable naming what it granted.
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
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions::AwsSolutions-L1',
      reason:
        'Pinned to Node.js 22, the runtime the bundle targets (esbuild target node22) and the tests cover; a newer ' +
        'runtime is a deliberate, tested change rather than something to float on.',
    });
  }
}
