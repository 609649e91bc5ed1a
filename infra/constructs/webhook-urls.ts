// Function URLs of the five webhook functions, each printed as a stack output. Auth NONE: the
// Standard Webhooks signature over the raw body is the authentication (shared/runtime).
import { CfnOutput } from 'aws-cdk-lib';
import type { FunctionUrl } from 'aws-cdk-lib/aws-lambda';
import { FunctionUrlAuthType, InvokeMode } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { FunctionName } from '../bundling.ts';
import { WEBHOOK_FUNCTIONS } from '../bundling.ts';
import type { Functions } from './functions.ts';
import { pascal } from './functions.ts';

export class WebhookUrls extends Construct {
  readonly urls: ReadonlyMap<FunctionName, FunctionUrl>;

  constructor(scope: Construct, id: string, props: { readonly functions: Functions }) {
    super(scope, id);
    const urls = new Map<FunctionName, FunctionUrl>();
    for (const name of WEBHOOK_FUNCTIONS) {
      const url = props.functions.get(name).addFunctionUrl({
        authType: FunctionUrlAuthType.NONE,
        // One JSON answer per webhook; no streaming. No CORS: billing systems call server to server.
        invokeMode: InvokeMode.BUFFERED,
      });
      urls.set(name, url);
      // Outputs belong to the stack, so their names stay `ProvisionUrl`, ... whatever this construct is called.
      new CfnOutput(scope, `${pascal(name)}Url`, {
        value: url.url,
        description: `POST signed "${name}" webhooks here (Standard Webhooks; see CONTRACT.md §3)`,
      });
    }
    this.urls = urls;
  }
}
