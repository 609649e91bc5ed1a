// Which statistics objects a sweep may take: the name says when the period ends, and an object is
// taken only once that end plus a grace has passed (the gateway may still be writing it before).
import type { StatisticsObjectName } from '../ostor/validate.ts';
import { parseStatisticsObjectName } from '../ostor/validate.ts';

export type { StatisticsObjectName };

/**
 * The name's parts, or undefined when it is not a statistics object name. The name is the
 * authority for listing decisions: its period is the nominal one (the content's `period` may be
 * shorter, as in the guide's example: 1800 in the name, 1390 inside).
 */
export function parseObjectName(name: string): StatisticsObjectName | undefined {
  return parseStatisticsObjectName(name);
}

/** When the object may be taken: the period's end per its name, plus the grace (milliseconds since the epoch). */
export function closesAtMs(name: StatisticsObjectName, graceSeconds: number): number {
  return name.startMs + (name.periodSeconds + graceSeconds) * 1000;
}

/** True once `start + period + grace` has been reached (the boundary itself counts as closed). */
export function isPeriodClosed(name: StatisticsObjectName, nowMs: number, graceSeconds: number): boolean {
  return nowMs >= closesAtMs(name, graceSeconds);
}
