// The usage sweep's clock: an EventBridge Scheduler schedule that starts collect-usage (every 15
// minutes unless configured otherwise), with a retry policy, a dead-letter queue and no flexible window.
import { Duration, Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import {
  ContextAttribute,
  type IScheduleTarget,
  Schedule,
  ScheduleExpression,
  ScheduleTargetInput,
  TimeWindow,
} from 'aws-cdk-lib/aws-scheduler';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { deadLetterQueue } from './operations.ts';

/** Scheduler's attempts to hand the event to Lambda (throttling, service errors), within the event's age. */
export const SCHEDULE_RETRY_ATTEMPTS = 3;

export interface UsageScheduleProps {
  readonly fn: IFunction;
  /** `rate(...)` or `cron(...)`, already validated (infra/config.ts). */
  readonly expression: string;
  /** How long Scheduler keeps trying to deliver one tick: one interval, after which the next tick has come. */
  readonly maxEventAge: Duration;
}

export class UsageSchedule extends Construct {
  readonly schedule: Schedule;
  readonly deadLetters: Queue;

  constructor(scope: Construct, id: string, props: UsageScheduleProps) {
    super(scope, id);
    this.deadLetters = deadLetterQueue(this, 'DeadLetters');
    this.schedule = new Schedule(this, 'Schedule', {
      description: 'Starts the collect-usage sweep',
      schedule: ScheduleExpression.expression(props.expression),
      // Off: ticks keep their spacing, and a statistics period is collected when it is due.
      timeWindow: TimeWindow.off(),
      target: this.#target(props),
    });
  }

  /**
   * Scheduler's templated Lambda target, written out: `aws-scheduler-targets`' LambdaInvoke grants
   * `lambda:InvokeFunction` on the function's ARN and `<arn>:*` (every version and alias); this role
   * may invoke the unqualified function only, and only for schedules of this account's default group.
   */
  #target(props: UsageScheduleProps): IScheduleTarget {
    const stack = Stack.of(this);
    const role = new Role(this, 'SchedulerRole', {
      description: 'Lets EventBridge Scheduler start the collect-usage sweep',
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': stack.formatArn({
              service: 'scheduler',
              resource: 'schedule-group',
              resourceName: 'default',
            }),
          },
        },
      }),
    });
    role.addToPolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [props.fn.functionArn] }),
    );
    role.addToPolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetters.queueArn] }),
    );
    // The scheduled-event shape shared/runtime/invocation.ts recognises; Scheduler fills in the
    // tick's own time and id, so a retried tick keeps them.
    const input = ScheduleTargetInput.fromObject({
      source: 'aws.scheduler',
      'detail-type': 'Scheduled Event',
      id: ContextAttribute.executionId,
      time: ContextAttribute.scheduledTime,
      resources: [ContextAttribute.scheduleArn],
      detail: {},
    });
    return {
      bind: () => ({
        arn: props.fn.functionArn,
        role,
        input,
        retryPolicy: {
          maximumRetryAttempts: SCHEDULE_RETRY_ATTEMPTS,
          maximumEventAgeInSeconds: props.maxEventAge.toSeconds(),
        },
        deadLetterConfig: { arn: this.deadLetters.queueArn },
      }),
    };
  }
}

/** One schedule interval for `rate(...)` (clamped to what Scheduler and Lambda accept); 15 minutes for `cron(...)`. */
export function scheduleInterval(expression: string): Duration {
  const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression);
  if (rate === null) return Duration.minutes(15);
  const seconds =
    Number(rate[1]) * { minute: 60, hour: 3600, day: 86_400 }[rate[2] as 'minute' | 'hour' | 'day'];
  return Duration.seconds(Math.min(Math.max(seconds, 60), 6 * 3600));
}
