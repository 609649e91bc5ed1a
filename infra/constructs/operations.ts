// Operations: where failed asynchronous invocations land, the alarm topic, and the alarms — errors,
// throttles and answered faults of every function, dead-letter depth, and failed usage deliveries.
import { Duration, Validations } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, type ILogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** The EMF namespace and metric of shared/runtime/logging.ts and lifecycle-handler.ts. */
export const METRICS_NAMESPACE = 'VhiS3Billing';
export const EVENTS_METRIC = 'events';
/** Metrics this stack derives from collect-usage's "usage sweep finished" log line. */
export const USAGE_FAILED_METRIC = 'usageFailed';
export const USAGE_STORAGE_FAILED_METRIC = 'usageStorageFailed';
export const DUPLICATE_EMAILS_METRIC = 'duplicateEmails';
/** Counted by the stripe function (shared/runtime/stripe-handler.ts) for each refused termination. */
export const TERMINATIONS_REFUSED_METRIC = 'terminationsRefused';
/** Counted by the stripe function for each meter error report Stripe sends (thin events). */
export const METER_ERROR_REPORTS_METRIC = 'meterErrorReports';
/** The message of the stripe function's log line for such a report. */
export const METER_ERROR_REPORT_MESSAGE = 'stripe dropped meter events';
/** The message of the sweep's summary line (shared/usage/sweep.ts). */
export const SWEEP_FINISHED_MESSAGE = 'usage sweep finished';

/** SQS keeps a message at most 14 days: long enough for an operator to look at a failed event. */
const DEAD_LETTER_RETENTION = Duration.days(14);

export interface OperationsProps {
  readonly alarmEmail: string | undefined;
}

export class Operations extends Construct {
  /** On-failure destination of every function's asynchronous invocations. */
  readonly failedInvocations: Queue;
  readonly alarmTopic: Topic;
  readonly alarms: Alarm[] = [];
  readonly #action: SnsAction;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    this.failedInvocations = deadLetterQueue(this, 'FailedInvocations');

    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: 'VHI S3 billing alarms',
      enforceSSL: true,
    });
    Validations.of(this.alarmTopic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'The topic carries CloudWatch alarm state changes only (alarm names and metric values, no customer data). CloudWatch cannot publish to a topic encrypted with the AWS-managed aws/sns key, and a customer-managed key would add a key policy and a monthly charge for no protected content.',
    });
    if (props.alarmEmail !== undefined)
      this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.#action = new SnsAction(this.alarmTopic);
    this.watchQueue(
      'FailedInvocations',
      this.failedInvocations,
      'an asynchronous invocation failed and was kept',
    );
  }

  /** Lambda errors (crashes, timeouts, refused direct invocations), throttles, and faults answered as 5xx. */
  watchFunction(label: string, serviceName: string, fn: IFunction): void {
    const period = Duration.minutes(5);
    this.#alarm(`${label}Errors`, fn.metricErrors({ period, statistic: 'Sum' }), {
      description: `${serviceName}: the function failed (error thrown, timeout or out of memory). See its log group.`,
    });
    this.#alarm(`${label}Throttles`, fn.metricThrottles({ period, statistic: 'Sum' }), {
      description: `${serviceName}: invocations were throttled (concurrency limit).`,
    });
    // A webhook whose gateway call failed is answered 5xx: not a Lambda error, so counted by the
    // EMF metric every function emits (dimensions service and outcome).
    this.#alarm(
      `${label}Faults`,
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: EVENTS_METRIC,
        dimensionsMap: { service: serviceName, outcome: 'fault' },
        statistic: 'Sum',
        period,
      }),
      { description: `${serviceName}: events failed on our side or the gateway's (answered 5xx or thrown).` },
    );
  }

  /**
   * A billing adapter's termination refused because the user's buckets hold data and purge is off:
   * the user is left suspended, and stays so until an operator empties or keeps its data and
   * terminates it (or the subscription comes back).
   */
  watchTerminationsRefused(label: string, serviceName: string): void {
    this.#alarm(
      `${label}TerminationsRefused`,
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: TERMINATIONS_REFUSED_METRIC,
        dimensionsMap: { service: serviceName },
        statistic: 'Sum',
        period: Duration.hours(1),
      }),
      {
        description: `${serviceName}: a subscription ended but its S3 user's buckets hold data and purge is off, so the user was left suspended, not deleted. The user id and buckets are in the function's "termination refused" log line; empty the buckets and terminate the user, or set the purge setting.`,
      },
    );
  }

  /**
   * Stripe dropped meter events it had answered 200 (`v1.billing.meter.error_report_triggered`,
   * `v1.billing.meter.no_meter_found`): that usage is not billed until it is sent again right.
   */
  watchMeterErrorReports(label: string, serviceName: string): void {
    this.#alarm(
      `${label}MeterErrorReports`,
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: METER_ERROR_REPORTS_METRIC,
        dimensionsMap: { service: serviceName },
        statistic: 'Sum',
        period: Duration.hours(1),
      }),
      {
        description: `${serviceName}: Stripe dropped meter events after accepting them, so that usage is not billed. The function's "${METER_ERROR_REPORT_MESSAGE}" log line names the meter, the error codes with their counts, the window and sample identifiers (<statistics object>:<user id>:<metric>). Fix the cause (the user's billingId, the meter's event name or customer mapping), then correct the usage in Stripe; see the README, "Billing with Stripe".`,
      },
    );
  }

  /** Anything in a dead-letter queue is an event nobody processed. */
  watchQueue(label: string, queue: IQueue, what: string): void {
    this.#alarm(
      `${label}Depth`,
      queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      { description: `${label}: ${what}. Inspect the messages, fix the cause, then redrive or delete them.` },
    );
  }

  /**
   * Read from collect-usage's summary line. `failed` counts statistics objects left on the gateway
   * (delivery refused, unreadable or changed), `storage.failed` the hourly storage messages not
   * delivered: both are retried next run, the alarm says they keep failing. `duplicateEmails`
   * counts emails the gateway holds several users for: lifecycle events reach one user of each, so
   * a suspended customer could keep access through another; the alarm fires once when such a
   * customer appears and recovers when the users are merged.
   */
  watchUsage(logGroup: ILogGroup): void {
    const filters = [
      {
        id: 'UsageFailed',
        metricName: USAGE_FAILED_METRIC,
        value: '$.failed',
        statistic: 'Sum',
        description:
          'collect-usage: statistics objects were not delivered to the usage webhook (kept and retried every run). Check the receiver and the "usage not delivered" log lines.',
      },
      {
        id: 'UsageStorageFailed',
        metricName: USAGE_STORAGE_FAILED_METRIC,
        value: '$.storage.failed',
        statistic: 'Sum',
        description:
          'collect-usage: storage messages were not delivered to the usage webhook (kept and retried every run). Check the receiver and the "storage message not delivered" log lines.',
      },
      {
        id: 'DuplicateEmails',
        metricName: DUPLICATE_EMAILS_METRIC,
        value: '$.duplicateEmails',
        statistic: 'Maximum',
        description:
          'The gateway holds several users for one email: suspend, resume, rotate-key and terminate reach only the one the gateway answers for it. The user ids are in collect-usage\'s "several gateway users share an email" log line; merge or delete the extra users.',
      },
    ];
    for (const filter of filters) {
      const metricFilter = new MetricFilter(this, `${filter.id}Filter`, {
        logGroup,
        filterPattern: FilterPattern.stringValue('$.message', '=', SWEEP_FINISHED_MESSAGE),
        metricNamespace: METRICS_NAMESPACE,
        metricName: filter.metricName,
        metricValue: filter.value,
        defaultValue: 0,
      });
      this.#alarm(
        filter.id,
        metricFilter.metric({ statistic: filter.statistic, period: Duration.hours(1) }),
        {
          description: filter.description,
        },
      );
    }
  }

  #alarm(id: string, metric: IMetric, options: { description: string }): Alarm {
    const alarm = new Alarm(this, id, {
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No data means nothing happened: no invocation, no message, no sweep.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: options.description,
    });
    alarm.addAlarmAction(this.#action);
    alarm.addOkAction(this.#action);
    this.alarms.push(alarm);
    return alarm;
  }
}

/** An encrypted, TLS-only queue that only ever receives failures. */
export function deadLetterQueue(scope: Construct, id: string): Queue {
  const queue = new Queue(scope, id, {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: DEAD_LETTER_RETENTION,
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      'This queue is itself a dead-letter queue (a Lambda on-failure destination or an EventBridge Scheduler DLQ); nothing consumes it automatically, and its depth is alarmed.',
  });
  return queue;
}
