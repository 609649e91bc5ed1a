// Synthesizes the stack for the template tests: without bundling by default (the template is the
// same, assets get a placeholder hash), with real esbuild bundling when a test needs the code.
import { App, CfnElement, type Stack } from 'aws-cdk-lib';
import { Annotations, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import type { StackConfigInput } from '../../infra/config.ts';
import { VhiS3BillingStack } from '../../infra/stack.ts';

export interface Synthesized {
  readonly app: App;
  readonly stack: VhiS3BillingStack;
  readonly template: Template;
  readonly annotations: Annotations;
}

export function synthesize(
  options: {
    context?: Record<string, unknown>;
    config?: StackConfigInput;
    bundle?: boolean;
    outdir?: string;
  } = {},
): Synthesized {
  const app = new App({
    context: { ...(options.bundle === true ? {} : { 'aws:cdk:bundling-stacks': [] }), ...options.context },
    ...(options.outdir === undefined ? {} : { outdir: options.outdir }),
  });
  const stack = new VhiS3BillingStack(
    app,
    'VhiS3Billing',
    options.config === undefined ? {} : { config: options.config },
  );
  return { app, stack, template: Template.fromStack(stack), annotations: Annotations.fromStack(stack) };
}

export type Resources = Record<
  string,
  { Type: string; Properties: Record<string, unknown>; [key: string]: unknown }
>;

export function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

/** The logical id of a construct's CloudFormation resource (its default child, or itself). */
export function idOf(stack: Stack, construct: IConstruct): string {
  const resource = construct.node.defaultChild ?? construct;
  if (!(resource instanceof CfnElement))
    throw new Error(`${construct.node.path} is not a CloudFormation resource`);
  return stack.getLogicalId(resource);
}
