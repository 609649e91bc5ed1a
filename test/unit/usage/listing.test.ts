// The statistics object listing when the gateway lists a name the client cannot send back as
// `after=` (issue 10, item 5): the page it ends is still handed out whole, then the listing stops
// with a MalformedResponseError (a 502, a fault of the answer) — before, the client's own refusal
// surfaced as a 400 blaming the caller, once that page's objects had been delivered and deleted.
import { describe, expect, it } from 'vitest';
import { MalformedResponseError } from '../../../shared/ostor/index.ts';
import type { UsageGateway } from '../../../shared/usage/sweep.ts';
import { listNames } from '../../../shared/usage/sweep.ts';

function gatewayListing(pages: readonly { names: string[]; truncated: boolean }[]) {
  const calls: (string | undefined)[] = [];
  const gateway: UsageGateway = {
    listUsage: async ({ after }) => {
      calls.push(after);
      const page = pages[calls.length - 1];
      if (page === undefined) throw new Error('listed past the last page');
      return page;
    },
    getUsage: async () => {
      throw new Error('not read here');
    },
    deleteUsage: async () => {},
    listUsers: async () => [],
    listBuckets: async () => [],
  };
  return { gateway, calls };
}

async function drain(names: AsyncGenerator<string>): Promise<{ seen: string[]; error: unknown }> {
  const seen: string[] = [];
  try {
    for await (const name of names) seen.push(name);
    return { seen, error: undefined };
  } catch (error) {
    return { seen, error };
  }
}

describe('listNames', () => {
  it('hands out a page ending in a name unusable as after=, then stops as a malformed answer', async () => {
    // Prepare: a truncated page whose last name is longer than any continuation the client sends.
    const tooLong = `s3-usage-${'f'.repeat(5_000)}`;
    const { gateway, calls } = gatewayListing([{ names: ['a', 'b', tooLong], truncated: true }]);
    // Act
    const { seen, error } = await drain(listNames(gateway, 500));
    // Assess: every name of the page, one listing call, and a 502-class error that does not quote the name.
    expect(seen).toEqual(['a', 'b', tooLong]);
    expect(calls).toEqual([undefined]);
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect((error as MalformedResponseError).code).toBe('malformed_response');
    expect((error as Error).message).toContain('5009 characters');
    expect((error as Error).message).not.toContain(tooLong);
  });

  it('pages on with after= the last name when it is usable', async () => {
    // Prepare
    const { gateway, calls } = gatewayListing([
      { names: ['a', 'b'], truncated: true },
      { names: ['c'], truncated: false },
    ]);
    // Act
    const { seen, error } = await drain(listNames(gateway, 2));
    // Assess
    expect(error).toBeUndefined();
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(calls).toEqual([undefined, 'b']);
  });
});
