import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITable, Table } from 'aws-cdk-lib/aws-dynamodb';
import { type EventPattern as CdkEventPattern, EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type Function as LambdaFunction, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '#events/catalog.ts';
import type { EventPattern } from '#events/pattern.ts';
import type { EventRule } from '#events/rules.ts';
import { ENV } from '#lib/config/env.ts';
import { STREAM_PUBLISHER_SETTINGS, SUMMARY_BATCHING_WINDOW_SECONDS } from './event-backbone-settings.ts';

/** What the backbone keeps: dead letters for two weeks, the bus archive (for replay) for a year. */
const DEAD_LETTER_RETENTION = Duration.days(14);
const ARCHIVE_RETENTION = Duration.days(365);

/**
 * The events backbone: a custom EventBridge bus with an archive of every event (replayable), the stream publisher's
 * wiring (the inventory table's stream, with partial batch responses, bisection on error, bounded retries and an SQS
 * dead-letter queue for records that keep failing), and the rules that route events to consumer functions, each with
 * its own retry policy and dead-letter queue.
 */
export class EventBackbone extends Construct {
  readonly bus: EventBus;
  readonly publisherDeadLetters: Queue;
  readonly consumerDeadLetters: Queue;
  /** Stream records the inventory summary's consumer gave up on: its own queue, so a redrive goes to it alone. */
  readonly summaryDeadLetters: Queue;

  constructor(scope: Construct, id: string, props: { readonly busName: string }) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', { eventBusName: props.busName });
    this.bus.archive('Archive', {
      description: 'Every control plane event, replayable',
      eventPattern: { source: [EVENT_SOURCE] },
      retention: ARCHIVE_RETENTION,
    });
    const deadLetters = (name: string) => {
      const queue = new Queue(this, name, {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: DEAD_LETTER_RETENTION,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(queue).acknowledge({
        id: 'AwsSolutions::AwsSolutions-SQS3',
        reason:
          'This queue is itself a dead-letter queue (of a stream consumer or of the event rules): what lands here ' +
          'is kept 14 days for an operator to inspect and redrive; a queue behind it would only move the problem.',
      });
      return queue;
    };
    this.publisherDeadLetters = deadLetters('PublisherDeadLetters');
    this.consumerDeadLetters = deadLetters('ConsumerDeadLetters');
    this.summaryDeadLetters = deadLetters('SummaryDeadLetters');
  }

  /**
   * The function publishes the table's committed changes: its event source mapping reads the table's stream from the
   * oldest record, reports partial batch failures (so a retry resumes at the first record not done) and sends the
   * records that exhaust their retries to the dead-letter queue. It may put events on this bus only; sets the env var
   * naming the bus.
   */
  attachPublisher(fn: LambdaFunction, table: Table): void {
    this.readStream(fn, table, this.publisherDeadLetters);
    fn.addToRolePolicy(new PolicyStatement({ actions: ['events:PutEvents'], resources: [this.bus.eventBusArn] }));
    fn.addEnvironment(ENV.eventBusName, this.bus.eventBusName);
  }

  /**
   * The function keeps the inventory summary's counters from the table's committed changes: a second event source
   * mapping on the same stream, with the publisher's settings (oldest record first, partial batch responses,
   * bisection, bounded retries), a batching window, and a dead-letter queue of its own. Its table grants are given apart (they set the env
   * var naming the table); it publishes nothing.
   */
  attachSummarizer(fn: LambdaFunction, table: Table): void {
    this.readStream(fn, table, this.summaryDeadLetters, Duration.seconds(SUMMARY_BATCHING_WINDOW_SECONDS));
  }

  /** An event source mapping of the table's stream to `fn`, with the settings every stream consumer here shares. */
  private readStream(fn: LambdaFunction, table: Table, deadLetters: Queue, batchingWindow?: Duration): void {
    fn.addEventSource(
      // A Table is an ITable; only exactOptionalPropertyTypes (tableStreamArn?: vs string | undefined) says otherwise.
      new DynamoEventSource(table as unknown as ITable, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: STREAM_PUBLISHER_SETTINGS.batchSize,
        bisectBatchOnError: true,
        retryAttempts: STREAM_PUBLISHER_SETTINGS.retryAttempts,
        maxRecordAge: Duration.hours(STREAM_PUBLISHER_SETTINGS.maxRecordAgeHours),
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(deadLetters),
        ...(batchingWindow === undefined ? {} : { maxBatchingWindow: batchingWindow }),
      }),
    );
    Validations.of(fn.role ?? fn).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        "CDK's DynamoDB event source grants dynamodb:ListStreams, which IAM only allows on '*'; the role may read " +
        "records (DescribeStream, GetShardIterator, GetRecords) of the inventory table's stream only.",
    });
  }

  /** One EventBridge rule per declared rule, on this bus, to its consumer function, retried then dead-lettered. */
  addRules(rules: readonly EventRule[], functionOf: (rule: EventRule) => LambdaFunction): void {
    for (const rule of rules) {
      new Rule(this, rule.name, {
        eventBus: this.bus,
        description: rule.description,
        eventPattern: cdkPattern(rule.pattern),
        targets: [
          new LambdaTarget(functionOf(rule), {
            retryAttempts: 8,
            maxEventAge: Duration.hours(24),
            deadLetterQueue: this.consumerDeadLetters,
          }),
        ],
      });
    }
  }

  /** The bus's name as the functions see it. */
  static busName(caId: string): string {
    return `mim-${caId}-events`;
  }
}

/**
 * CDK spells the top-level fields of a pattern in camelCase (`detailType`) and writes them back as EventBridge's
 * (`detail-type`); our patterns are written as EventBridge reads them, which the local bus matches directly.
 */
function cdkPattern(pattern: EventPattern): CdkEventPattern {
  const renamed: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(pattern)) {
    renamed[field.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())] = value;
  }
  return renamed as CdkEventPattern;
}
