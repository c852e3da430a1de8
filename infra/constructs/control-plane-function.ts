import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

const repoRoot = join(import.meta.dirname, '..', '..');

/**
 * esbuild settings every function bundle shares; the bundle test builds with the same ones, so what it runs is what
 * Lambda runs. Some CommonJS dependencies call require(), which an ESM bundle must be given.
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
  readonly memorySize?: number;
}

/**
 * One Lambda function per handler: Node.js 22 on arm64, an esbuild ESM bundle that includes the AWS SDK clients (so
 * the code runs against the SDK version it was tested with), its own log group with a retention, and its own role
 * whose only standing permission is writing to that log group; every other permission comes from a grant helper.
 */
export class ControlPlaneFunction extends Construct {
  readonly fn: NodejsFunction;

  constructor(scope: Construct, id: string, props: ControlPlaneFunctionProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.name} function`,
    });
    logGroup.grantWrite(role);
    this.fn = new NodejsFunction(this, 'Function', {
      entry: join(repoRoot, 'functions', props.name, 'index.ts'),
      handler: 'handler',
      projectRoot: repoRoot,
      depsLockFilePath: join(repoRoot, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: Duration.seconds(FUNCTION_TIMEOUT_SECONDS),
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'machine-identity-control-plane',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        // Bundle everything, the AWS SDK included.
        externalModules: [],
        mainFields: ['module', 'main'],
        // Some CommonJS dependencies call require(); give the ESM bundle one.
        banner:
          "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
      },
    });
  }
}
