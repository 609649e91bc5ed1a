// Stack frames of a bundled function map back to the TypeScript sources when an error is logged:
// a fixture is bundled by esbuild with the production settings and run in a fresh Node, as on Lambda.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { esbuildOptions } from '../../bench/lib/bundle.ts';

const STACK_MAP = fileURLToPath(new URL('../../shared/runtime/stack-map.ts', import.meta.url));
const LOGGING = fileURLToPath(new URL('../../shared/runtime/logging.ts', import.meta.url));
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** The fixture whose positions are asserted; line 3 throws, line 8 calls through an arrow. */
const CHARGE = [
  '// A charge that always fails, from a known line and column.',
  'export function chargeCustomer(detail: string): never {',
  "  throw new Error('card declined: ' + detail);",
  '}',
  '',
  'export async function settleInvoice(details: string[]): Promise<void> {',
  '  await Promise.resolve();',
  '  details.forEach((detail) => chargeCustomer(detail));',
  '}',
  '',
];
/** 1-based column of `text` on 1-based `line` of the fixture. */
const columnOf = (line: number, text: string): number => (CHARGE[line - 1] ?? '').indexOf(text) + 1;
const THROW_AT = `src/billing/charge.ts:3:${columnOf(3, 'new Error')}`;
const CALL_AT = `src/billing/charge.ts:8:${columnOf(8, 'chargeCustomer(detail)')}`;
/** A frame `    at <minified name> (<location>)`, as a whole line. */
const namedFrame = (location: string, prefix = ''): RegExp =>
  new RegExp(`^ {4}at ${prefix}\\S+ \\(${location.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`, 'm');

const ZOD = fileURLToPath(import.meta.resolve('zod'));

const ENTRY = `
import * as z from ${JSON.stringify(ZOD)};
import { createLogger } from ${JSON.stringify(LOGGING)};
import { chargeCustomer, settleInvoice } from './billing/charge.ts';
export { mapStack, withMappedStack } from ${JSON.stringify(STACK_MAP)};

export function failNow(): Error {
  try {
    chargeCustomer('now');
  } catch (error) {
    return error as Error;
  }
  return new Error('chargeCustomer did not fail');
}

export function failInDependency(): Error {
  try {
    // Thrown inside zod's parse, so zod's own functions are on the stack.
    z.string().transform((): string => { throw new Error('refused in a transform'); }).parse('x');
  } catch (error) {
    return error as Error;
  }
  return new Error('zod accepted a number');
}

export async function failLater(detail: string): Promise<Error> {
  try {
    await settleInvoice([detail]);
  } catch (error) {
    return error as Error;
  }
  return new Error('settleInvoice did not fail');
}

export async function logFailure(detail: string): Promise<void> {
  createLogger('fixture').error('charge failed', { cause: await failLater(detail) });
}
`;

const ENTRY_LINES = ENTRY.split('\n');
const AWAIT_LINE = ENTRY_LINES.findIndex((line) => line.includes('await settleInvoice'));
const AWAIT_AT = `src/entry.ts:${AWAIT_LINE + 1}:${(ENTRY_LINES[AWAIT_LINE] ?? '').indexOf('await') + 1}`;

/**
 * Imports the bundle, prints the stacks as thrown, as mapped and as mapped a second time (one JSON
 * line), and logs a failure through the logger. Given a map to copy beside the bundle, copies it
 * after the import ('import') or after the first mapping ('first-map').
 */
const PROBE = `
import { EventEmitter } from 'node:events';
import { copyFileSync } from 'node:fs';

const [file, mapFrom, mapTo, copyAfter] = process.argv.slice(2);
const copyMap = (moment) => {
  if (moment === copyAfter) copyFileSync(mapFrom, mapTo);
};
const bundle = await import(file);
copyMap('import');
// Through an emitter, so the stack also holds a frame of Node's own (node:events).
const emitter = new EventEmitter();
let now;
emitter.on('charge', () => {
  now = bundle.failNow();
});
emitter.emit('charge');
const later = await bundle.failLater('later');
const stacks = { now: now.stack, later: later.stack };
const mapped = { now: bundle.mapStack(now.stack), later: bundle.mapStack(later.stack) };
copyMap('first-map');
const remapped = { now: bundle.mapStack(now.stack), later: bundle.mapStack(later.stack) };
const rethrown = bundle.withMappedStack(bundle.failNow()).stack;
const dependency = bundle.mapStack(bundle.failInDependency().stack);
// The other forms V8 writes a frame in, at the position of the throw.
const location = /\\((file:[^)]+)\\)/.exec(now.stack.split('\\n')[1])[1];
const forms = bundle.mapStack([
  'Error: forms',
  \`    at new Charge (\${location})\`,
  \`    at Object.charge [as run] (\${location})\`,
  '    at async Promise.all (index 0)',
  \`    at async \${location}\`,
].join('\\n'));
process.stdout.write(JSON.stringify({ stacks, mapped, remapped, rethrown, dependency, forms }) + '\\n');
await bundle.logFailure(${JSON.stringify(SECRET)});
`;

const folder = mkdtempSync(join(tmpdir(), 'stack-map-'));
/** Like `cdk.out/bundling-temp-…/`: two levels below the root the sources are named from. */
const outDir = join(folder, 'dist', 'fn');
const bundle = join(outDir, 'index.mjs');
const probe = join(folder, 'probe.mjs');

beforeAll(async () => {
  mkdirSync(join(folder, 'src', 'billing'), { recursive: true });
  writeFileSync(join(folder, 'src', 'billing', 'charge.ts'), CHARGE.join('\n'));
  writeFileSync(join(folder, 'src', 'entry.ts'), ENTRY);
  writeFileSync(probe, PROBE);
  // The stack's own settings (infra/bundling.ts).
  await build({
    ...esbuildOptions(),
    entryPoints: [join(folder, 'src', 'entry.ts')],
    outfile: bundle,
    logLevel: 'silent',
  });
});

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

interface ProbeOutput {
  stacks: { now: string; later: string };
  mapped: { now: string; later: string };
  remapped: { now: string; later: string };
  rethrown: string;
  dependency: string;
  forms: string;
  logLines: Record<string, unknown>[];
}

/** Runs the probe against `file` in a fresh Node (vitest rewrites stacks of what it imports itself). */
async function runProbe(file: string, copyMap: string[] = []): Promise<ProbeOutput> {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [probe, file, ...copyMap], {
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'INFO' },
  });
  // Powertools prints ERROR lines with console.error; on Lambda both streams reach the same log.
  const logLines = stderr.split('\n').filter((line) => line.startsWith('{'));
  return { ...JSON.parse(stdout), logLines: logLines.map((line) => JSON.parse(line)) };
}

/** A copy of the bundle under another name, so it looks for `<name>.map` beside it. */
function copyOfBundle(name: string, map?: string): string {
  const file = join(outDir, name);
  copyFileSync(bundle, file);
  if (map !== undefined) writeFileSync(`${file}.map`, map);
  return file;
}

describe('mapStack', () => {
  it('maps named, anonymous and async frames of the bundle to source, line and column, keeping the names', async () => {
    // Act
    const { stacks, mapped, remapped } = await runProbe(bundle);
    // Assess
    const url = pathToFileURL(bundle).href;
    const rawNow = stacks.now.split('\n');
    const rawName = /^ {4}at (\S+) \(/.exec(rawNow[1] ?? '')?.[1];
    expect(rawNow[1]).toContain(url);
    expect(mapped.now.split('\n')[1]).toBe(`    at ${rawName} (${THROW_AT})`);

    const later = mapped.later.split('\n');
    expect(later[0]).toBe('Error: card declined: later');
    expect(later[1]).toMatch(namedFrame(THROW_AT));
    expect(later[2]).toBe(`    at ${CALL_AT}`);
    expect(later[3]).toBe('    at Array.forEach (<anonymous>)');
    expect(later[4]).toMatch(namedFrame(`src/billing/charge.ts:8:${columnOf(8, 'forEach')}`));
    expect(later[5]).toMatch(namedFrame(AWAIT_AT, 'async '));
    expect(mapped.later).not.toContain(url);
    expect(remapped).toEqual(mapped);
  });

  it('maps constructor, aliased and async frames alike, and leaves frames without a location', async () => {
    // Act
    const { forms } = await runProbe(bundle);
    // Assess
    expect(forms.split('\n')).toEqual([
      'Error: forms',
      `    at new Charge (${THROW_AT})`,
      `    at Object.charge [as run] (${THROW_AT})`,
      '    at async Promise.all (index 0)',
      `    at async ${THROW_AT}`,
    ]);
  });

  it('names a frame inside a dependency from its node_modules folder on', async () => {
    // Act
    const { dependency } = await runProbe(bundle);
    // Assess
    expect(dependency).toMatch(/^ {4}at \S+ \(node_modules\/zod\/v4\/\S+\.js:\d+:\d+\)$/m);
    expect(dependency).not.toContain(pathToFileURL(bundle).href);
  });

  it('reads the map on the first stack to map, not when the bundle is imported', async () => {
    // Prepare
    const file = copyOfBundle('lazy.mjs');
    // Act
    const { mapped } = await runProbe(file, [`${bundle}.map`, `${file}.map`, 'import']);
    // Assess
    expect(mapped.now.split('\n')[1]).toMatch(namedFrame(THROW_AT));
  });

  it('looks for a missing map once: one that appears later is not read', async () => {
    // Prepare
    const file = copyOfBundle('late.mjs');
    // Act
    const { stacks, remapped } = await runProbe(file, [`${bundle}.map`, `${file}.map`, 'first-map']);
    // Assess
    expect(remapped).toEqual(stacks);
  });

  it("leaves the frames of other files, Node's own included, as they were", async () => {
    // Act
    const { stacks, mapped } = await runProbe(bundle);
    // Assess
    const url = pathToFileURL(bundle).href;
    const raw = stacks.now.split('\n');
    const others = raw.flatMap((frame, index) => (frame.includes(url) ? [] : [index]));
    expect(raw.some((frame) => frame.includes('(node:events:'))).toBe(true);
    expect(raw.some((frame) => frame.includes(pathToFileURL(probe).href))).toBe(true);
    const lines = mapped.now.split('\n');
    expect(lines).toHaveLength(raw.length);
    for (const index of others) expect(lines[index]).toBe(raw[index]);
  });

  it('returns the stack unchanged when no map lies beside the bundle', async () => {
    // Prepare
    const file = copyOfBundle('unmapped.mjs');
    // Act
    const { stacks, mapped } = await runProbe(file);
    // Assess
    expect(stacks.now).toContain(`${pathToFileURL(file).href}:`);
    expect(mapped).toEqual(stacks);
  });

  it.each([
    ['truncated JSON', '{"version":3,"sources":["../../src/billing/charge.ts"'],
    ['JSON that is no source map', '{"version":3,"sources":[1],"mappings":"AAAA"}'],
    ['the wrong version', '{"version":2,"sources":[],"mappings":""}'],
  ])('returns the stack unchanged when the map is %s', async (_, map) => {
    // Prepare
    const file = copyOfBundle(`corrupt-${map.length}.mjs`, map);
    // Act
    const { stacks, mapped } = await runProbe(file);
    // Assess
    expect(stacks.later).toContain(`${pathToFileURL(file).href}:`);
    expect(mapped).toEqual(stacks);
  });
});

describe('withMappedStack', () => {
  it('maps the stack of an error in place, for errors rethrown to the Lambda runtime', async () => {
    // Act
    const { rethrown } = await runProbe(bundle);
    // Assess
    expect(rethrown.split('\n')[0]).toBe('Error: card declined: now');
    expect(rethrown.split('\n')[1]).toMatch(namedFrame(THROW_AT));
    expect(rethrown).not.toContain(pathToFileURL(bundle).href);
  });
});

describe('the logger', () => {
  it('prints the stack of a logged error mapped to the sources, and redacted', async () => {
    // Act
    const { logLines } = await runProbe(bundle);
    // Assess
    expect(logLines).toHaveLength(1);
    const cause = logLines[0]?.cause as { message: string; stack: string };
    expect(cause.message).toBe('card declined: [redacted]');
    expect(cause.stack.split('\n')[0]).toBe('Error: card declined: [redacted]');
    expect(cause.stack).toMatch(namedFrame(THROW_AT));
    expect(cause.stack).toContain(`    at ${CALL_AT}\n`);
    expect(cause.stack).not.toContain('index.mjs');
    expect(cause.stack).not.toContain('MfKQ9r8GKYqr');
  });
});
