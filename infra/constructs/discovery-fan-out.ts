import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '#lib/config/env.ts';
import { DEFAULT_DISCOVERY_ROLE_NAME, type DiscoveryConfig } from '#lib/domain/discovery-config.ts';
import { DISCOVERY_MAX_RECEIVES } from '#lib/domain/discovery-run.ts';
import { DISCOVERY_DENIED_ACTIONS, DISCOVERY_READ_ACTIONS } from '../stacks/discovery-member-stack.ts';

/** A unit reads one source in one account and region: minutes at most, well inside Lambda's 15. */
export const DISCOVERY_WORKER_TIMEOUT_SECONDS = 300;

/**
 * Discovery's fan-out: a run's units go through an SQS queue to a worker function, one unit per invocation, each
 * retried up to {@link DISCOVERY_MAX_RECEIVES} times and then kept in a dead-letter queue; an EventBridge schedule
 * starts a run (`discovery.schedule`). However many accounts, no invocation approaches Lambda's limit.
 */
export class DiscoveryFanOut extends Construct {
  readonly queue: Queue;
  readonly deadLetters: Queue;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: { readonly config: DiscoveryConfig },
  ) {
    super(scope, id);
    this.deadLetters = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.deadLetters).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason:
        'This is the dead-letter queue of the discovery units: a unit that failed its deliveries is kept here 14 ' +
        'days for an operator to inspect and redrive.',
    });
    this.queue = new Queue(this, 'Units', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Six times the worker's timeout, as Lambda advises for SQS event sources.
      visibilityTimeout: Duration.seconds(6 * DISCOVERY_WORKER_TIMEOUT_SECONDS),
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount: DISCOVERY_MAX_RECEIVES },
    });
  }

  /**
   * The function starts runs (on `POST /v1/discovery/runs` and on the schedule): it sends units to the queue, reads the
   * organization's accounts when configured to, and gets the env var naming the queue.
   */
  attachStarter(fn: LambdaFunction): void {
    this.queue.grantSendMessages(fn);
    fn.addEnvironment(ENV.discoveryQueueUrl, this.queue.queueUrl);
    const accounts = this.props.config.aws.accounts;
    if (accounts !== undefined && 'organization' in accounts) {
      fn.addToRolePolicy(new PolicyStatement({ actions: ['organizations:ListAccounts'], resources: ['*'] }));
      Validations.of(fn.role ?? fn).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason:
          'organizations:ListAccounts has no resource-level permission (IAM accepts only "*"); it lists the ' +
          "organization's account ids so that a run has one part per account, and reads nothing else.",
      });
    }
    new Rule(this, 'Schedule', {
      description: 'Starts a discovery run of every source and account',
      schedule: Schedule.expression(this.props.config.schedule),
      targets: [new LambdaTarget(fn, { event: RuleTargetInput.fromObject({ source: 'mim.discovery-schedule' }) })],
    });
  }

  /**
   * The worker: one unit per invocation from the queue (partial batch responses), allowed to assume the discovery role
   * of the configured accounts and to make the sources' read calls in its own account, and never to read a secret
   * value or use a key.
   */
  attachWorker(fn: LambdaFunction): void {
    fn.addEventSource(new SqsEventSource(this.queue, { batchSize: 1, reportBatchItemFailures: true }));
    const partition = Stack.of(this).partition;
    const accounts = this.props.config.aws.accounts;
    const roles =
      accounts !== undefined && !('organization' in accounts)
        ? accounts.map((a) => a.roleArn ?? `arn:${partition}:iam::${a.accountId}:role/${DEFAULT_DISCOVERY_ROLE_NAME}`)
        : [`arn:${partition}:iam::*:role/${DEFAULT_DISCOVERY_ROLE_NAME}`];
    fn.addToRolePolicy(new PolicyStatement({ actions: ['sts:AssumeRole'], resources: [...new Set(roles)] }));
    fn.addToRolePolicy(
      new PolicyStatement({ actions: Object.values(DISCOVERY_READ_ACTIONS).flat(), resources: ['*'] }),
    );
    fn.addToRolePolicy(
      new PolicyStatement({ effect: Effect.DENY, actions: [...DISCOVERY_DENIED_ACTIONS], resources: ['*'] }),
    );
    Validations.of(fn.role ?? fn).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'Discovery lists and describes the identities of its own account (IAM, ACM, Secrets Manager metadata, KMS), ' +
        'which IAM grants on "*" for List calls; all are reads of metadata, and secret values and key use are denied.',
    });
    if (roles.some((r) => r.includes(':*:'))) {
      Validations.of(fn.role ?? fn).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${DEFAULT_DISCOVERY_ROLE_NAME}]`,
        reason:
          'With the organization (or no account list) configured, the accounts are only known at run time: the ' +
          `worker may assume the one read-only role ${DEFAULT_DISCOVERY_ROLE_NAME} in any account, which trusts it ` +
          'only with the external id.',
      });
    }
  }
}
