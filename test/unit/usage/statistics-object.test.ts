import { describe, expect, it } from 'vitest';
import { closesAtMs, isPeriodClosed, parseObjectName } from '../../../shared/usage/statistics-object.ts';

const GUIDE_NAME = 's3-usage-8000000000000065-2017-02-01T16:31:54.000Z-1800';

describe('statistics object names', () => {
  it('splits the guide example into service id, start and nominal period', () => {
    // Act
    const parsed = parseObjectName(GUIDE_NAME);

    // Assess
    expect(parsed).toEqual({
      name: GUIDE_NAME,
      serviceId: '8000000000000065',
      start: '2017-02-01T16:31:54.000Z',
      startMs: Date.UTC(2017, 1, 1, 16, 31, 54),
      periodSeconds: 1800,
    });
  });

  it('keeps a hexadecimal service id as text, unrounded', () => {
    // Act
    const parsed = parseObjectName('s3-usage-800000000000006a-2017-02-01T16:31:08.000Z-1800');

    // Assess
    expect(parsed?.serviceId).toBe('800000000000006a');
  });

  it.each([
    ['another prefix', 's3-stats-8000000000000065-2017-02-01T16:31:54.000Z-1800'],
    ['no period', 's3-usage-8000000000000065-2017-02-01T16:31:54.000Z'],
    ['a local time', 's3-usage-8000000000000065-2017-02-01T16:31:54.000-1800'],
    ['an impossible time', 's3-usage-8000000000000065-2017-02-01T25:31:54.000Z-1800'],
    ['trailing text', 's3-usage-8000000000000065-2017-02-01T16:31:54.000Z-1800x'],
    ['an empty name', ''],
  ])('refuses %s', (_case, name) => {
    // Act
    const parsed = parseObjectName(name);

    // Assess
    expect(parsed).toBeUndefined();
  });
});

describe('the period rule: start + period (from the name) + grace', () => {
  const name = parseObjectName(GUIDE_NAME);
  if (name === undefined) throw new Error('the guide name must parse');
  const end = Date.UTC(2017, 1, 1, 16, 31, 54) + 1800_000;

  it('closes exactly at start + period + grace', () => {
    // Act
    const closesAt = closesAtMs(name, 300);

    // Assess
    expect(closesAt).toBe(end + 300_000);
    expect(isPeriodClosed(name, end + 300_000, 300)).toBe(true);
  });

  it('is still open one millisecond before', () => {
    // Act
    const closed = isPeriodClosed(name, end + 300_000 - 1, 300);

    // Assess
    expect(closed).toBe(false);
  });

  it('uses the nominal period of the name, not the shorter period inside the object', () => {
    // Prepare: the guide's object holds period 1390 under a name that says 1800
    const contentEnd = Date.UTC(2017, 1, 1, 16, 31, 54) + 1390_000;

    // Act
    const closed = isPeriodClosed(name, contentEnd + 1, 0);

    // Assess
    expect(closed).toBe(false);
    expect(isPeriodClosed(name, end, 0)).toBe(true);
  });
});
