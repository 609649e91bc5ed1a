// `npm run bench -- bundles`: bundles each function with esbuild exactly as the stack does (the
// options come from infra/bundling.ts), then reports each bundle's size and its cold import time:
// the median of 10 fresh `node` processes importing the bundle, beside bare Node's start
// (`node -e 0`) measured in the same rounds. As on Lambda, `@aws-sdk/*` is not in the bundle but
// provided next to it (a node_modules holding only the SDK), and NODE_OPTIONS has
// --enable-source-maps. Two more columns say where the time and the bytes go: the SDK imported
// alone, and the largest packages inside the bundles. Markdown on stdout, progress on stderr.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Metafile } from 'esbuild';
import type { FunctionName } from '../infra/bundling.ts';
import { BUNDLING, FUNCTION_NAMES, NODE_OPTIONS, PROJECT_ROOT } from '../infra/bundling.ts';
import { bundleFunction } from './lib/bundle.ts';

const ROUNDS = 10;
const SIZE_TARGET_BYTES = 800 * 1024;
const IMPORT_TARGET_MS = 80;
const BUILTINS = 'node built-ins';

interface Bundle {
  readonly name: FunctionName;
  readonly file: string;
  readonly bytes: number;
  readonly mapBytes: number;
  /** Imports left outside the bundle: the SDK packages and Node's built-ins. */
  readonly externals: readonly string[];
  /** Bytes of the bundle by npm package (or `project` for our own sources). */
  readonly packages: ReadonlyMap<string, number>;
}

const work = mkdtempSync(join(tmpdir(), 'vhi-bundles-'));
try {
  // The runtime's AWS SDK: only @aws-sdk is reachable from the bundles, so anything else left
  // external by mistake fails the import here as it would on Lambda.
  mkdirSync(join(work, 'node_modules'));
  symlinkSync(join(PROJECT_ROOT, 'node_modules', '@aws-sdk'), join(work, 'node_modules', '@aws-sdk'), 'dir');

  const bundles: Bundle[] = [];
  for (const name of FUNCTION_NAMES) {
    process.stderr.write(`bundles: bundling ${name}\n`);
    bundles.push(await bundle(name));
  }
  const sdk = [...new Set(bundles.flatMap((item) => item.externals))]
    .filter((path) => path !== BUILTINS)
    .sort();

  const bare: number[] = [];
  const sdkAlone: number[] = [];
  const times = new Map<FunctionName, number[]>(FUNCTION_NAMES.map((name) => [name, []]));
  const rss = new Map<FunctionName, number[]>(FUNCTION_NAMES.map((name) => [name, []]));
  const sdkScript = sdk.map((path) => `await import(${JSON.stringify(path)});`).join(' ');
  // Interleaved rounds: a slow moment of the machine touches every column alike.
  for (let round = 1; round <= ROUNDS; round++) {
    process.stderr.write(`bundles: import round ${round}/${ROUNDS}\n`);
    bare.push(run(['-e', '0']).ms);
    sdkAlone.push(run(['--input-type=module', '-e', sdkScript]).ms);
    for (const item of bundles) {
      const script = `await import(${JSON.stringify(pathToFileURL(item.file).href)}); process.stdout.write(String(process.memoryUsage().rss));`;
      const result = run(['--input-type=module', '-e', script]);
      times.get(item.name)?.push(result.ms);
      rss.get(item.name)?.push(Number(result.stdout));
    }
  }

  const bareMs = median(bare);
  const sdkMs = median(sdkAlone) - bareMs;
  const lines = [
    '## Function bundles',
    '',
    `Each function bundled by esbuild with the stack's options (\`infra/bundling.ts\`: ${BUNDLING.format}, ${BUNDLING.target}, minified, linked source map, \`${BUNDLING.externalModules.join(', ')}\` external). Cold import = wall time of a fresh \`node ${NODE_OPTIONS}\` process that imports the bundle and exits, median of ${ROUNDS}; bare Node (\`node -e 0\`) measured in the same interleaved rounds: **${fmt(bareMs)} ms**. RSS is the process's resident memory right after the import (median).`,
    '',
    '| function | bundle | source map | cold import | over bare Node | RSS after import |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  let failed = false;
  for (const item of bundles) {
    const ms = median(times.get(item.name) ?? []);
    const over = ms - bareMs;
    const sizeOk = item.bytes <= SIZE_TARGET_BYTES;
    const timeOk = over <= IMPORT_TARGET_MS;
    if (!sizeOk || !timeOk) failed = true;
    lines.push(
      `| ${item.name} | ${kb(item.bytes)} KB${sizeOk ? '' : ' ⚠'} | ${kb(item.mapBytes)} KB | ${fmt(ms)} ms | ${fmt(over)} ms${timeOk ? '' : ' ⚠'} | ${(median(rss.get(item.name) ?? []) / 2 ** 20).toFixed(0)} MiB |`,
    );
  }
  lines.push(
    '',
    `Targets: at most ${SIZE_TARGET_BYTES / 1024} KB per bundle and at most ${IMPORT_TARGET_MS} ms over bare Node; ⚠ marks a miss.${failed ? ' **Some target was missed.**' : ' All met.'}`,
    '',
    `Where the time goes: importing only the runtime-provided SDK packages the bundles import (${sdk.map((path) => `\`${path}\``).join(', ')}), in the same rounds, takes **${fmt(sdkMs)} ms** over bare Node; the rest of each cold import is the bundle itself.`,
    '',
    `Where the bytes go (${bundles[0]?.name ?? ''}; the others differ by a few KB): ${topPackages(bundles[0]?.packages ?? new Map())}.`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

async function bundle(name: FunctionName): Promise<Bundle> {
  const outdir = join(work, name);
  const { file, metafile } = await bundleFunction(name, outdir);
  const result = { metafile };
  const externals = new Set<string>();
  for (const input of Object.values(result.metafile.inputs)) {
    for (const imported of input.imports) {
      if (!imported.external) continue;
      const builtin = imported.path.startsWith('node:') || builtinModules.includes(imported.path);
      externals.add(builtin ? BUILTINS : imported.path);
    }
  }
  const unexpected = [...externals].filter((path) => path !== BUILTINS && !path.startsWith('@aws-sdk/'));
  if (unexpected.length > 0) {
    throw new Error(
      `${name}: imports left outside the bundle that the runtime does not provide: ${unexpected.join(', ')}`,
    );
  }
  return {
    name,
    file,
    bytes: statSync(file).size,
    mapBytes: statSync(`${file}.map`).size,
    externals: [...externals].sort(),
    packages: bytesByPackage(result.metafile),
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
  const top = sorted.slice(0, 5).map(([name, bytes]) => `${name} ${kb(bytes)} KB`);
  const rest = sorted.slice(5).reduce((sum, [, bytes]) => sum + bytes, 0);
  return `${top.join(', ')}, everything else ${kb(rest)} KB`;
}

function run(args: readonly string[]): { ms: number; stdout: string } {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [NODE_OPTIONS, ...args], {
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
