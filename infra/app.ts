// The CDK app (`cdk.json` runs it under Node 24): one environment-agnostic stack, checked by
// cdk-nag's AWS Solutions rules on every synth, so an unacknowledged finding fails `npm run synth`.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { StackConfigError } from './config.ts';
import { VhiS3BillingStack } from './stack.ts';

const app = new App();
const stackName = app.node.tryGetContext('stackName');
try {
  new VhiS3BillingStack(app, typeof stackName === 'string' && stackName !== '' ? stackName : 'VhiS3Billing');
} catch (error) {
  // A bad setting is the operator's to fix: one line naming it, no stack trace.
  if (!(error instanceof StackConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
