// The functions the local server and `npm run invoke` can call, by route name.
import type { LambdaHandler } from '../shared/runtime/lifecycle-handler.ts';

export const FUNCTION_NAMES = [
  'provision',
  'suspend',
  'resume',
  'terminate',
  'rotate-key',
  'collect-usage',
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

export function isFunctionName(value: string): value is FunctionName {
  return (FUNCTION_NAMES as readonly string[]).includes(value);
}

/** Imported on first use, as a Lambda cold start would. */
export async function loadHandler(name: FunctionName): Promise<LambdaHandler> {
  const module = (await import(`../functions/${name}/handler.ts`)) as { handler: LambdaHandler };
  return module.handler;
}
