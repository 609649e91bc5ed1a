// The functions the local server and `npm run invoke` can call, by route name: one per event type.
import { EVENT_TYPES, type EventType } from '../shared/lifecycle/event-types.ts';
import type { LambdaHandler } from '../shared/runtime/lifecycle-handler.ts';

export const FUNCTION_NAMES = EVENT_TYPES;
export type FunctionName = EventType;

export function isFunctionName(value: string): value is FunctionName {
  return (FUNCTION_NAMES as readonly string[]).includes(value);
}

/** Imported on first use, as a Lambda cold start would. */
export async function loadHandler(name: FunctionName): Promise<LambdaHandler> {
  const module = (await import(`../functions/${name}/handler.ts`)) as { handler: LambdaHandler };
  return module.handler;
}
