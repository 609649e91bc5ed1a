// The statistics object listing as one stream of names, page after page, the next page fetched
// while the current one is worked on.
import { MalformedResponseError } from '../ostor/errors.ts';
import { continuationTokenProblem } from '../ostor/validate.ts';
import type { UsageGateway } from './ports.ts';

/**
 * Every statistics object name, page by page (`after=` the last name of the previous page), the
 * next page fetched while the current one is worked on. A page that brings nothing new while
 * claiming more is an error rather than a loop. A last name the client could not send back as
 * `after=` is found when its page arrives: that page is still handed out whole (each object is
 * safe to take by itself), then the listing ends with a MalformedResponseError — a fault of the
 * gateway's answer, not a 400 blaming the caller as the client's own refusal would have been.
 */
export async function* listNames(
  gateway: Pick<UsageGateway, 'listUsage'>,
  pageSize: number,
): AsyncGenerator<string, void, undefined> {
  const limit = Math.min(500, Math.max(1, Math.floor(pageSize)));
  const list = (after: string | undefined) =>
    gateway.listUsage(after === undefined ? { limit } : { after, limit });
  let after: string | undefined;
  let page = list(undefined);
  for (;;) {
    const current = await page;
    const last = current.names[current.names.length - 1];
    const more = current.truncated && last !== undefined && last !== after;
    if (current.truncated && !more) {
      throw new MalformedResponseError(
        `a truncated page brought no new statistics object names (after ${after ?? 'the start'})`,
        { operation: 'usage.list' },
      );
    }
    const unusable = more ? continuationTokenProblem(last) : undefined;
    if (more && unusable === undefined) {
      page = list(last);
      // Handled when awaited; this only keeps an abandoned prefetch from being an unhandled rejection.
      page.catch(() => {});
    }
    for (const name of current.names) if (name !== after) yield name;
    if (unusable !== undefined) {
      throw new MalformedResponseError(
        `the listing cannot go on: the last name of a truncated page (${String(last?.length)} characters) ${unusable} as after=`,
        { operation: 'usage.list' },
      );
    }
    if (!more) return;
    after = last;
  }
}
