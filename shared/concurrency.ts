// Bounded concurrency for the whole house: a fixed number of workers take items from one source
// until it runs out, something fails or the caller says stop. The only such pool in the project
// (the usage sweep, terminate's bucket purge), so every caller gets the same failure rule.
// Imports nothing: domain code and adapters alike may use it.

export interface ConcurrencyOptions {
  /** Asked before each new item is taken; true stops the taking (items in flight finish). */
  readonly stop?: () => boolean;
}

/**
 * Runs `work` over `items`, at most `concurrency` at a time (at least one). The first error stops
 * the taking of new items; the items in flight finish, then that error is thrown. An async source
 * is asked for its next item by one worker at a time, so a paged listing is read in order; it is
 * closed (`return()`) when the pool leaves it before its end. Answers whether the items ran out
 * (false when `stop` ended the pool first).
 */
export async function forEachConcurrently<T>(
  items: Iterable<T> | AsyncIterable<T>,
  concurrency: number,
  work: (item: T) => Promise<void>,
  options: ConcurrencyOptions = {},
): Promise<boolean> {
  const iterator: Iterator<T> | AsyncIterator<T> =
    Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]();
  const stop = options.stop ?? (() => false);
  let exhausted = false;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && !exhausted && !stop()) {
      try {
        const item = await iterator.next();
        if (item.done === true) {
          exhausted = true;
          return;
        }
        await work(item.value);
      } catch (error) {
        failure ??= { error };
        return;
      }
    }
  };
  const workers = Math.max(1, Math.floor(concurrency));
  await Promise.all(Array.from({ length: workers }, worker));
  if (!exhausted) {
    // Left before the end: let the source release what it holds (a prefetched page, a cursor).
    await Promise.resolve(iterator.return?.()).catch(() => {});
  }
  if (failure !== undefined) throw failure.error;
  return exhausted;
}
