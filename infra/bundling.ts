// How each function is bundled, in one place: the stack hands these options to NodejsFunction and
// `bench/bundles.bench.ts` hands the same ones to esbuild, so the measured bundles are the deployed ones.
// No aws-cdk-lib import here: the benchmark loads this module without the CDK.
import { fileURLToPath } from 'node:url';
import { EVENT_TYPES, type EventType } from '../shared/lifecycle/event-types.ts';

/** The six functions, by the folder name under `functions/` (also their route and envelope type). */
export const FUNCTION_NAMES = EVENT_TYPES;
export type FunctionName = EventType;

/** The five the billing system calls over a Function URL; collect-usage runs on a schedule. */
export const WEBHOOK_FUNCTIONS = [
  'provision',
  'suspend',
  'resume',
  'terminate',
  'rotate-key',
] as const satisfies readonly FunctionName[];

/** The repository root (the folder holding package.json and package-lock.json). */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export function entryOf(name: FunctionName): string {
  return fileURLToPath(new URL(`../functions/${name}/handler.ts`, import.meta.url));
}

/**
 * esbuild settings shared by the stack and the benchmark.
 * - ESM, so top-level await and `import.meta` work and the runtime loads `index.mjs`.
 * - `module` before `main`: ESM builds of dependencies tree-shake better.
 * - The banner gives CommonJS dependencies bundled into an ESM file the `require` they expect
 *   (esbuild's shim calls it for Node built-ins such as `crypto`).
 * - `@aws-sdk/*` stays external: the nodejs24.x runtime ships AWS SDK v3, so bundling it would only
 *   add weight. `@smithy/*` (used directly by the signers) is bundled: the runtime's copy is an
 *   implementation detail of its SDK, not a promise. `node:` built-ins (node:sqlite of the local
 *   store included) are external by nature on platform node.
 * - Linked source maps without sources: stack traces map back to the TypeScript (NODE_OPTIONS has
 *   --enable-source-maps) while the package carries no copy of the source.
 */
export const BUNDLING = {
  target: 'node24',
  platform: 'node',
  format: 'esm',
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  externalModules: ['@aws-sdk/*'],
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
  /** The file the runtime loads (`index.handler`). */
  outputFile: 'index.mjs',
} as const;

/** NODE_OPTIONS of every function: source-mapped stack traces in the logs. */
export const NODE_OPTIONS = '--enable-source-maps';

/**
 * NODE_OPTIONS of collect-usage. With V8's defaults the sweep's resident memory grew with the
 * number of statistics objects (151 MiB at 1k, 191 at 10k, 236 at 30k) although the heap it
 * retains stays near 25 MiB: V8 let the young generation and the old space's capacity grow with
 * the allocation rate and collected late. A 4 MB semi-space and a 256 MB old-space ceiling keep it
 * flat (127 MiB at 3k, 136 at 30k) at the same speed; the ceiling is several times the ~60 MiB
 * the sweep uses at its peak with 32 objects in flight. Measured by `npm run bench -- sweep`.
 */
export const SWEEP_NODE_OPTIONS = `${NODE_OPTIONS} --max-semi-space-size=4 --max-old-space-size=256`;
