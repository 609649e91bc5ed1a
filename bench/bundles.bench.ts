// `npm run bench -- bundles`: bundles each function with esbuild exactly as the stack does (the
// options come from infra/bundling.ts), then reports each bundle's size and its cold import time:
// the median of 10 fresh `node` processes importing the bundle with the function's own
// NODE_OPTIONS, beside bare Node's start (`node -e 0`) measured in the same rounds. The baseline,
// in the same rounds, is the layout the functions had before: the AWS SDK left to the runtime
// (`@aws-sdk/*` external, imported from a node_modules holding only the SDK, as on Lambda) and
// --enable-source-maps. Markdown on stdout, progress on stderr.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Metafile } from 'esbuild';
import type { FunctionName } from '../infra/bundling.ts';
import {
  BUNDLING,
  FUNCTION_NAMES,
  nodeOptionsOf,
  PROJECT_ROOT,
  RUNTIME_PROVIDED_MODULES,
} from '../infra/bundling.ts';
import { bundleFunction } from './lib/bundle.ts';

const ROUNDS = 10;
const SIZE_TARGET_BYTES = 800 * 1024;
const IMPORT_TARGET_MS = 80;
/** The layout before: every `@aws-sdk/*` package from the runtime, Node applying the source maps. */
const BASELINE = { external: ['@aws-sdk/*'], nodeOptions: ['--enable-source-maps'] } as const;
/** The one external that is neither a built-in nor runtime-provided: undici's unused fallback. */
const UNUSED_FALLBACK_IMPORT = '../llhttp/llhttp-wasm.js';

interface Bundle {
  readonly name: FunctionName;
  readonly file: string;
  readonly bytes: number;
  readonly mapBytes: number;
  /** The SDK packages imported from outside the bundle (the baseline's). */
  readonly sdkImports: readonly string[];
  /** Bytes of the bundle by npm package (or `project` for our own sources). */
  readonly packages: ReadonlyMap<string, number>;
}

const work = mkdtempSync(join(tmpdir(), 'vhi-bundles-'));
try {
  // The runtime's AWS SDK: only @aws-sdk is reachable from the bundles, so anything else left
  // external by mistake fails the import here as it would on Lambda.
  mkdirSync(join(work, 'node_modules'));
  symlinkSync(join(PROJECT_ROOT, 'node_modules', '@aws-sdk'), join(work, 'node_modules', '@aws-sdk'), 'dir');

  const deployed: Bundle[] = [];
  const baseline: Bundle[] = [];
  for (const name of FUNCTION_NAMES) {
    process.stderr.write(`bundles: bundling ${name} (deployed and baseline)\n`);
    deployed.push(await bundle(name, 'deployed'));
    baseline.push(await bundle(name, 'baseline'));
  }
  const sdk = [...new Set(baseline.flatMap((item) => item.sdkImports))].sort();

  const bare: number[] = [];
  const sdkAlone: number[] = [];
  const times = new Map<string, number[]>();
  const rss = new Map<string, number[]>();
  const sdkScript = sdk.map((path) => `await import(${JSON.stringify(path)});`).join(' ');
  const importOf = (item: Bundle, options: readonly string[]) => {
    const script = `await import(${JSON.stringify(pathToFileURL(item.file).href)}); process.stdout.write(String(process.memoryUsage().rss));`;
    const result = run([...options, '--input-type=module', '-e', script]);
    const key = item.file;
    times.set(key, [...(times.get(key) ?? []), result.ms]);
    rss.set(key, [...(rss.get(key) ?? []), Number(result.stdout)]);
  };
  // Interleaved rounds: a slow moment of the machine touches every column alike.
  for (let round = 1; round <= ROUNDS; round++) {
    process.stderr.write(`bundles: import round ${round}/${ROUNDS}\n`);
    bare.push(run(['-e', '0']).ms);
    sdkAlone.push(run(['--input-type=module', '-e', sdkScript]).ms);
    for (const [index, item] of deployed.entries()) {
      importOf(item, optionsOf(item.name));
      const before = baseline[index];
      if (before !== undefined) importOf(before, BASELINE.nodeOptions);
    }
  }

  const bareMs = median(bare);
  const sdkMs = median(sdkAlone) - bareMs;
  const over = (item: Bundle) => median(times.get(item.file) ?? []) - bareMs;
  const lines = [
    '## Function bundles',
    '',
    `Each function bundled by esbuild with the stack's options (\`infra/bundling.ts\`: ${BUNDLING.format}, ${BUNDLING.target}, minified, linked source map, the AWS SDK bundled except the credential providers Lambda never loads, undici's non-SIMD parser left out). Cold import = wall time of a fresh Node process, started with the function's own NODE_OPTIONS (none for the webhook functions; collect-usage's memory flags), that imports the bundle and exits, median of ${ROUNDS}; bare Node (\`node -e 0\`) measured in the same interleaved rounds: **${fmt(bareMs)} ms**. RSS is the process's resident memory right after the import (median). **Baseline**, in the same rounds: the layout before this change, \`@aws-sdk/*\` left to the runtime (imported from a node_modules holding only the SDK, as on Lambda) and \`node --enable-source-maps\`.`,
    '',
    '| function | bundle | source map | cold import | over bare Node | RSS after import | baseline bundle | baseline over bare Node |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  let failed = false;
  for (const [index, item] of deployed.entries()) {
    const before = baseline[index];
    const ms = median(times.get(item.file) ?? []);
    const sizeOk = item.bytes <= SIZE_TARGET_BYTES;
    const timeOk = over(item) <= IMPORT_TARGET_MS;
    if (!sizeOk || !timeOk) failed = true;
    lines.push(
      `| ${item.name} | ${kb(item.bytes)} KB${sizeOk ? '' : ' ⚠'} | ${kb(item.mapBytes)} KB | ${fmt(ms)} ms | **${fmt(over(item))} ms**${timeOk ? '' : ' ⚠'} | ${(median(rss.get(item.file) ?? []) / 2 ** 20).toFixed(0)} MiB | ${before === undefined ? '' : `${kb(before.bytes)} KB`} | ${before === undefined ? '' : `${fmt(over(before))} ms`} |`,
    );
  }
  const saved = deployed.map((item, index) => {
    const before = baseline[index];
    return before === undefined ? 0 : over(before) - over(item);
  });
  const largest = [...deployed].sort((a, b) => b.bytes - a.bytes)[0];
  lines.push(
    '',
    `Targets: at most ${SIZE_TARGET_BYTES / 1024} KB per bundle and at most ${IMPORT_TARGET_MS} ms over bare Node; ⚠ marks a miss.${failed ? ' **Some target was missed.**' : ' All met.'} Against the baseline each cold import is ${fmt(Math.min(...saved))}–${fmt(Math.max(...saved))} ms shorter.`,
    '',
    `Where the baseline's time went: importing only the runtime-provided SDK packages it imports (${sdk.map((path) => `\`${path}\``).join(', ')}), CommonJS builds holding every command and schema of each client, takes **${fmt(sdkMs)} ms** over bare Node by itself, in the same rounds.`,
    '',
    `Where the bytes go (${largest?.name ?? ''}, the largest): ${topPackages(largest?.packages ?? new Map())}.`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

function optionsOf(name: FunctionName): string[] {
  return (nodeOptionsOf(name) ?? '').split(' ').filter((option) => option !== '');
}

async function bundle(name: FunctionName, layout: 'deployed' | 'baseline'): Promise<Bundle> {
  const outdir = join(work, layout, name);
  const { file, metafile } = await bundleFunction(
    name,
    outdir,
    layout === 'baseline' ? { external: BASELINE.external } : {},
  );
  const sdkImports = new Set<string>();
  const unexpected = new Set<string>();
  for (const input of Object.values(metafile.inputs)) {
    for (const imported of input.imports) {
      if (!imported.external) continue;
      if (imported.path.startsWith('node:') || builtinModules.includes(imported.path)) continue;
      if (layout === 'baseline' && imported.path.startsWith('@aws-sdk/')) {
        sdkImports.add(imported.path);
        continue;
      }
      // Deployed: the runtime-provided credential providers only behind a dynamic import (never
      // loaded at init), and undici's fallback parser only behind its lazy require.
      const runtimeProvided = (RUNTIME_PROVIDED_MODULES as readonly string[]).includes(imported.path);
      if (runtimeProvided && imported.kind === 'dynamic-import') continue;
      if (imported.path === UNUSED_FALLBACK_IMPORT && imported.kind === 'require-call') continue;
      unexpected.add(`${imported.path} (${imported.kind})`);
    }
  }
  if (unexpected.size > 0) {
    throw new Error(
      `${name} (${layout}): imports left outside the bundle that Lambda would load: ${[...unexpected].join(', ')}`,
    );
  }
  return {
    name,
    file,
    bytes: statSync(file).size,
    mapBytes: statSync(`${file}.map`).size,
    sdkImports: [...sdkImports].sort(),
    packages: bytesByPackage(metafile),
  };
}

function bytesByPackage(metafile: Metafile): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
      const key = match?.[1] ?? 'project';
      sizes.set(key, (sizes.get(key) ?? 0) + input.bytesInOutput);
    }
  }
  return sizes;
}

function topPackages(sizes: ReadonlyMap<string, number>): string {
  const sorted = [...sizes].sort((a, b) => b[1] - a[1]);
  const top = sorted.slice(0, 6).map(([name, bytes]) => `${name} ${kb(bytes)} KB`);
  const rest = sorted.slice(6).reduce((sum, [, bytes]) => sum + bytes, 0);
  return `${top.join(', ')}, everything else ${kb(rest)} KB`;
}

function run(args: readonly string[]): { ms: number; stdout: string } {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, {
    cwd: work,
    encoding: 'utf8',
    // A clean environment, as a cold Lambda has: no NODE_OPTIONS from npm, no inspector.
    env: { PATH: process.env.PATH ?? '', HOME: work, AWS_REGION: 'us-east-1' },
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) {
    throw new Error(
      `node ${args.join(' ')} failed (exit ${result.status ?? result.signal}): ${result.stderr}`,
    );
  }
  return { ms, stdout: result.stdout };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function kb(bytes: number): string {
  return (bytes / 1024).toFixed(0);
}

function fmt(ms: number): string {
  return ms.toFixed(1);
}
