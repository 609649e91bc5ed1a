// The one front door: an API Gateway HTTP API whose routes reach the six functions and the billing
// adapters' (`POST /stripe`), so a billing system is configured with one base URL (the `BaseUrl`
// output) and one secret. No authorizer: the signature over the raw body (Standard Webhooks, or
// Stripe's own) is the authentication, checked in each function (an HTTP API authorizer never
// sees the body). Throttled, so a flood of forged requests is turned
// away before it can use up the account's Lambda concurrency, and access-logged.
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { DeployedFunctionName, FunctionName } from '../bundling.ts';
import type { Functions } from './functions.ts';
import { pascal } from './functions.ts';

/** The path of each function's route: its name, as `npm start` serves it. */
export const routeOf = (name: DeployedFunctionName): string => `/${name}`;

/** The route that says the API and its functions are deployed, answered by this function without a gateway call. */
export const HEALTH_ROUTE = { path: '/healthz', function: 'provision' } as const satisfies {
  path: string;
  function: FunctionName;
};

/**
 * A sweep started over HTTP runs in another invocation slot than the scheduled one, and each call
 * can list every statistics object: one a second (two at once) is plenty for a billing system that
 * asks for usage before invoicing, and keeps a careless caller from starving the schedule.
 */
export const COLLECT_USAGE_ROUTE_THROTTLE = { rateLimit: 1, burstLimit: 2 } as const;

export interface HttpApiFrontDoorProps {
  readonly functions: Functions;
  readonly rateLimit: number;
  readonly burstLimit: number;
  readonly logRetention: RetentionDays;
}

export class HttpApiFrontDoor extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: HttpApiFrontDoorProps) {
    super(scope, id);
    this.api = new HttpApi(this, 'Api', {
      description: 'VHI S3 billing: signed lifecycle webhooks and usage sweeps (Standard Webhooks)',
      // The stage is made below, with throttling and access logs, which the default stage cannot take.
      createDefaultStage: false,
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        // One JSON line per request; no headers, so no signature or body ever reaches this log.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            route: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationLatencyMs: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    const cfnStage = this.stage.node.defaultChild as CfnStage;
    // RouteSettings is free-form JSON in CloudFormation: CloudFormation's own key names.
    cfnStage.routeSettings = {
      [`POST ${routeOf('collect-usage')}`]: {
        ThrottlingRateLimit: COLLECT_USAGE_ROUTE_THROTTLE.rateLimit,
        ThrottlingBurstLimit: COLLECT_USAGE_ROUTE_THROTTLE.burstLimit,
      },
    };

    // Every function built (DEPLOYED_FUNCTION_NAMES, as far as each has its infrastructure).
    for (const [name, fn] of props.functions.functions) {
      const integration = new HttpLambdaIntegration(`${pascal(name)}Integration`, fn, {
        // The Function URL event shape: the handlers read one format, whatever the front.
        payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
        // The most an HTTP API waits for an integration; every function answers inside it (collect-usage
        // by sweeping for at most 25 s when called over HTTP).
        timeout: Duration.seconds(29),
      });
      this.api.addRoutes({ path: routeOf(name), methods: [HttpMethod.POST], integration });
    }
    this.api.addRoutes({
      path: HEALTH_ROUTE.path,
      methods: [HttpMethod.GET],
      integration: new HttpLambdaIntegration(
        'HealthIntegration',
        props.functions.get(HEALTH_ROUTE.function),
        {
          payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
          timeout: Duration.seconds(10),
        },
      ),
    });

    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        "Billing systems authenticate every request with an HMAC signature over the raw body (Standard Webhooks; Stripe's Stripe-Signature on /stripe), which each function verifies before anything else (401 otherwise); an HTTP API authorizer never sees the body, and IAM or Cognito is not something a billing system can sign with. GET /healthz reveals nothing and touches nothing.",
    });
  }

  /** The base URL of every route (`https://<id>.execute-api.<region>.amazonaws.com/`). */
  get baseUrl(): string {
    return this.stage.url;
  }
}
