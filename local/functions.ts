// The functions the local server and `npm run invoke` can call, by route name: one per event type
// (what `npm run send` signs envelopes for), and the billing adapters (`/stripe`).
import {
  ALL_FUNCTIONS,
  type AnyFunction,
  EVENT_TYPES,
  type EventType,
} from '../shared/lifecycle/event-types.ts';
import type { LambdaHandler } from '../shared/runtime/lifecycle-handler.ts';

export const FUNCTION_NAMES = EVENT_TYPES;
export type FunctionName = EventType;
/** Every route the local server serves, as the HTTP API does deployed. */
export const ROUTE_NAMES = ALL_FUNCTIONS;
export type RouteName = AnyFunction;

export function isFunctionName(value: string): value is FunctionName {
  return (FUNCTION_NAMES as readonly string[]).includes(value);
}

export function isRouteName(value: string): value is RouteName {
  return (ROUTE_NAMES as readonly string[]).includes(value);
}

/** Imported on first use, as a Lambda cold start would. */
export async function loadHandler(name: RouteName): Promise<LambdaHandler> {
  const module = (await import(`../functions/${name}/handler.ts`)) as { handler: LambdaHandler };
  return module.handler;
}
