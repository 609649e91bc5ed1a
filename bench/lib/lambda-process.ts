// A function's bundle run the way Lambda runs it: a fresh Node process with a Lambda's environment
// imports the bundle (the cold start), calls its handler once with an HTTP API event and a
// context, writes the answer to fd 3 (apart from the logs on stdout), and exits as soon as it has
// answered (Lambda freezes the process there; its keep-alive sockets would otherwise hold it open).
// Shared by test/infra/bundle-run.test.ts and bench/bundles.bench.ts.
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Webhook } from 'standardwebhooks';

/** What the stack and Lambda would set; static gateway credentials stand in for Secrets Manager. */
export interface LambdaEnvironmentOptions {
  readonly functionName: string;
  /** HOME and the task root: a folder of the caller's, so no ~/.aws of this machine is read. */
  readonly home: string;
  readonly dynamodbEndpoint: string;
  readonly idempotencyTable: string;
  readonly gatewayUrl: string;
  readonly gateway: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly signatureVersion: 2 | 4;
  readonly webhookSecret: string;
}

export function lambdaEnvironment(options: LambdaEnvironmentOptions): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: options.home,
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SESSION_TOKEN: 'local',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: options.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    LAMBDA_TASK_ROOT: options.home,
    _HANDLER: 'index.handler',
    AWS_ENDPOINT_URL_DYNAMODB: options.dynamodbEndpoint,
    IDEMPOTENCY_TABLE_NAME: options.idempotencyTable,
    // Plain http is allowed for a loopback gateway without OSTOR_ALLOW_INSECURE_HTTP.
    OSTOR_GATEWAY_URL: options.gatewayUrl,
    OSTOR_ACCESS_KEY_ID: options.gateway.accessKeyId,
    OSTOR_SECRET_ACCESS_KEY: options.gateway.secretAccessKey,
    OSTOR_SIGNATURE_VERSION: String(options.signatureVersion),
    WEBHOOK_SECRET: options.webhookSecret,
    // No POWERTOOLS_LOG_LEVEL, as deployed: INFO.
  };
}

/** An HTTP API (payload format 2.0) event for `POST /<name>` carrying `body`, signed now with the Standard Webhooks reference package. */
export function httpApiEvent(name: string, webhookSecret: string, body: string, id: string) {
  const now = new Date();
  const host = 'abc123.execute-api.us-east-1.amazonaws.com';
  return {
    version: '2.0',
    routeKey: `POST /${name}`,
    rawPath: `/${name}`,
    rawQueryString: '',
    headers: {
      'content-type': 'application/json',
      host,
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(webhookSecret).sign(id, now, body),
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: host,
      domainPrefix: 'abc123',
      http: {
        method: 'POST',
        path: `/${name}`,
        protocol: 'HTTP/1.1',
        sourceIp: '192.0.2.1',
        userAgent: 'billing',
      },
      requestId: randomUUID(),
      routeKey: `POST /${name}`,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body,
    isBase64Encoded: false,
  };
}

/**
 * The `node --input-type=module -e` script of one cold start and one invocation: the handler's
 * answer, or `{ thrown: { name, message, stack } }` for an error it throws to the runtime, on fd 3.
 */
export function invocationScript(bundle: string, functionName: string, event: unknown): string {
  return `
    import { writeSync } from 'node:fs';
    const { handler } = await import(${JSON.stringify(pathToFileURL(bundle).href)});
    const deadline = Date.now() + 30_000;
    const context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: ${JSON.stringify(functionName)},
      functionVersion: '$LATEST',
      invokedFunctionArn: ${JSON.stringify(`arn:aws:lambda:us-east-1:000000000000:function:${functionName}`)},
      memoryLimitInMB: '512',
      awsRequestId: crypto.randomUUID(),
      logGroupName: ${JSON.stringify(`/aws/lambda/${functionName}`)},
      logStreamName: 'local',
      getRemainingTimeInMillis: () => deadline - Date.now(),
    };
    try {
      const answer = await handler(${JSON.stringify(event)}, context);
      writeSync(3, JSON.stringify(answer));
    } catch (error) {
      // Thrown to the runtime (console and scheduled invocations): what Lambda would print.
      writeSync(3, JSON.stringify({ thrown: { name: error.name, message: error.message, stack: error.stack } }));
    }
    process.exit(0);
  `;
}
