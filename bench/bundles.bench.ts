// `npm run bench -- bundles`: bundles each function with esbuild exactly as the stack does (the
// options come from infra/bundling.ts), then reports each bundle's size and its cold import time:
// the median of 10 fresh `node` processes importing the bundle with the function's own
// NODE_OPTIONS, beside bare Node's start (`node -e 0`) measured in the same rounds. The baseline,
// in the same rounds, is the layout the functions had before: the AWS SDK left to the runtime
// (`@aws-sdk/*` external, imported from a node_modules holding only the SDK, as on Lambda) and
// --enable-source-maps. Also in the same rounds: provision and collect-usage with undici's Pool
// taken from the package root instead of its module (shared/http/pool.ts says why it is not).
// Markdown on stdout, progress on stderr.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { Metafile, Plugin } from 'esbuild';
import { startEmulator } from '../emulator/gateway.ts';
import type { FunctionName } from '../infra/bundling.ts';
import {
  BUNDLING,
  FUNCTION_NAMES,
  nodeOptionsOf,
  PROJECT_ROOT,
  RUNTIME_PROVIDED_MODULES,
} from '../infra/bundling.ts';
import { generateWebhookSecret } from '../shared/signing/index.ts';
import { bundleFunction } from './lib/bundle.ts';
import { startDynalite } from './lib/dynalite.ts';
import { httpApiEvent, invocationScript, lambdaEnvironment } from './lib/lambda-process.ts';

const ROUNDS = 10;
const SIZE_TARGET_BYTES = 800 * 1024;
const IMPORT_TARGET_MS = 80;
/** The layout before: every `@aws-sdk/*` package from the runtime, Node applying the source maps. */
const BASELINE = { external: ['@aws-sdk/*'], nodeOptions: ['--enable-source-maps'] } as const;
/** The one external that is neither a built-in nor runtime-provided: undici's unused fallback. */
const UNUSED_FALLBACK_IMPORT = '../llhttp/llhttp-wasm.js';

/** The deployed layout with `undici/lib/dispatcher/pool.js` answered by the package root's Pool. */
const UNDICI_ROOT: Plugin = {
  name: 'undici-root',
  setup(build) {
    build.onResolve({ filter: /^undici\/lib\/dispatcher\/pool\.js$/ }, () => ({
      path: 'pool',
      namespace: 'undici-root',
    }));
    build.onLoad({ filter: /.*/, namespace: 'undici-root' }, () => ({
      contents: "module.exports = require('undici').Pool;",
      loader: 'js',
      resolveDir: PROJECT_ROOT,
    }));
  },
};

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
  const rootCompared: FunctionName[] = ['provision', 'collect-usage'];
  const undiciRoot: Bundle[] = [];
  for (const name of rootCompared) {
    process.stderr.write(`bundles: bundling ${name} with undici's package root\n`);
    undiciRoot.push(await bundle(name, 'undici-root'));
  }

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
    for (const item of undiciRoot) importOf(item, optionsOf(item.name));
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
  lines.push(
    '',
    '### undici: its Pool module, or the package root',
    '',
    `\`shared/http/pool.ts\` loads undici's \`Pool\` from its own module (\`undici/lib/dispatcher/pool.js\`, the very class the package root exports: a test checks it) and uses only the public dispatch API on it. The alternative, \`import { Pool } from 'undici'\`, bundled the same way, measured in the same rounds:`,
    '',
    '| function | Pool from | bundle | cold import over bare Node |',
    '|---|---|---:|---:|',
    ...undiciRoot.flatMap((root) => {
      const own = deployed.find((item) => item.name === root.name);
      if (own === undefined) return [];
      return [
        `| ${own.name} | its module (deployed) | ${kb(own.bytes)} KB | ${fmt(over(own))} ms |`,
        `| ${root.name} | the package root | ${kb(root.bytes)} KB (+${kb(root.bytes - own.bytes)} KB)${root.bytes <= SIZE_TARGET_BYTES ? '' : ' ⚠'} | ${fmt(over(root))} ms (+${fmt(over(root) - over(own))} ms)${over(root) <= IMPORT_TARGET_MS ? '' : ' ⚠'} |`,
      ];
    }),
    '',
    "The root's CommonJS requires every dispatcher, fetch, WebSocket, EventSource, the mock agents and the cache stores (and with them Node's http2, web streams and sqlite modules) before it answers, and no bundler can leave unused CommonJS out.",
  );
  const provisionIndex = FUNCTION_NAMES.indexOf('provision');
  const deployedProvision = deployed[provisionIndex];
  const baselineProvision = baseline[provisionIndex];
  if (deployedProvision !== undefined && baselineProvision !== undefined) {
    const importSaved = over(baselineProvision) - over(deployedProvision);
    lines.push('', ...(await coldStarts(deployedProvision, baselineProvision, importSaved)));
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

/**
 * The whole cold start, not just the import: a fresh process imports the provision bundle and
 * answers one signed HTTP API delivery (the idempotency record written to DynamoDB, the user
 * created on the gateway), deployed layout and baseline side by side, beside bare Node, in
 * interleaved rounds. dynalite and the gateway emulator run in this process (loopback, no added
 * latency), so the children are spawned asynchronously.
 */
async function coldStarts(
  deployedBundle: Bundle,
  baselineBundle: Bundle,
  importSaved: number,
): Promise<string[]> {
  const emulator = await startEmulator({ host: '127.0.0.1' });
  const system = emulator.createSystemUser('system@bench.local');
  // DynamoDB over https, as on Lambda (dynalite's own self-signed certificate, not verified): over
  // plain http the bundled SDK would load its http agent on the first request, which it never does
  // on Lambda, and charge the deployed layout ~10 ms no deployment pays.
  const dynamo = await startDynalite({ ssl: true });
  const table = await dynamo.newTable({ prefix: 'idempotency' });
  const webhookSecret = generateWebhookSecret();
  const env = {
    ...lambdaEnvironment({
      functionName: 'provision',
      home: work,
      dynamodbEndpoint: dynamo.endpoint,
      idempotencyTable: table,
      gatewayUrl: emulator.url,
      gateway: system,
      signatureVersion: 2,
      webhookSecret,
    }),
    NODE_TLS_REJECT_UNAUTHORIZED: '0',
  };
  const layouts = [
    { label: 'deployed', bundle: deployedBundle, options: optionsOf('provision') },
    { label: 'baseline', bundle: baselineBundle, options: [...BASELINE.nodeOptions] },
  ] as const;
  const bare: number[] = [];
  const times = new Map<string, number[]>(layouts.map((layout) => [layout.label, []]));
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      process.stderr.write(`bundles: cold start round ${round}/${ROUNDS}\n`);
      bare.push((await runAsync(['-e', '0'], env)).ms);
      for (const layout of layouts) {
        const email = `bench.${randomUUID().slice(0, 8)}@example.com`;
        const body = JSON.stringify({
          type: 'provision',
          timestamp: new Date().toISOString(),
          data: { email },
        });
        const event = httpApiEvent('provision', webhookSecret, body, `msg_${randomUUID()}`);
        const script = invocationScript(layout.bundle.file, 'provision', event);
        const result = await runAsync([...layout.options, '--input-type=module', '-e', script], env);
        const answer = JSON.parse(result.answer) as { statusCode?: number };
        if (answer.statusCode !== 200 || emulator.state.usersWithEmail(email).length !== 1) {
          throw new Error(`${layout.label} provision did not provision ${email}: ${result.answer}`);
        }
        times.get(layout.label)?.push(result.ms);
      }
    }
  } finally {
    await emulator.close();
    await dynamo.close();
  }
  const bareMs = median(bare);
  const cell = (label: string) => {
    const ms = median(times.get(label) ?? []);
    return `${fmt(ms)} ms | **${fmt(ms - bareMs)} ms**`;
  };
  const saved = median(times.get('baseline') ?? []) - median(times.get('deployed') ?? []);
  return [
    '### The whole cold start: import and first delivery',
    '',
    `The import is not the whole cold start: the first invocation also builds the SDK clients, reads the secrets, signs and makes its calls. Here a fresh process imports the provision bundle and answers one signed HTTP API delivery of a new customer (idempotency record written to DynamoDB — dynalite, over https as on Lambda — and the user created on the gateway emulator, both on loopback in the benchmark's process, Signature V2), then exits; wall time from spawn to exit, median of ${ROUNDS}, bare Node (${fmt(bareMs)} ms) in the same interleaved rounds.`,
    '',
    '| provision | process, import and first delivery | over bare Node |',
    '|---|---:|---:|',
    `| deployed (SDK bundled, no --enable-source-maps) | ${cell('deployed')} |`,
    `| baseline (SDK from the runtime, --enable-source-maps) | ${cell('baseline')} |`,
    '',
    `The deployed layout answers its first delivery ${fmt(saved)} ms sooner; its import alone was ${fmt(importSaved)} ms sooner (table above), so ${saved >= importSaved ? 'none' : `${fmt(importSaved - saved)} ms`} of that saving is paid back during the first invocation.`,
  ];
}

/** Runs Node without blocking this process's event loop (the servers the child calls live here). */
function runAsync(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ ms: number; answer: string }> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, args, {
    cwd: work,
    env,
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let answer = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  (child.stdio[3] as Readable | null)?.setEncoding('utf8').on('data', (chunk: string) => {
    answer += chunk;
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // The one line expected on stderr: Node's warning about the unverified certificate.
      const unexpected = stderr
        .split('\n')
        .filter((line) => line.trim() !== '' && !/NODE_TLS_REJECT_UNAUTHORIZED|--trace-warnings/.test(line));
      if (code !== 0 || unexpected.length > 0) reject(new Error(`node exited ${code}: ${stderr}`));
      else resolve({ ms, answer });
    });
  });
}

function optionsOf(name: FunctionName): string[] {
  return (nodeOptionsOf(name) ?? '').split(' ').filter((option) => option !== '');
}

async function bundle(name: FunctionName, layout: 'deployed' | 'baseline' | 'undici-root'): Promise<Bundle> {
  const outdir = join(work, layout, name);
  const { file, metafile } = await bundleFunction(
    name,
    outdir,
    layout === 'baseline'
      ? { external: BASELINE.external }
      : layout === 'undici-root'
        ? { plugins: [UNDICI_ROOT] }
        : {},
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
