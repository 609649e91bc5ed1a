// How each function is bundled, in one place: the stack hands these options to NodejsFunction and
// `bench/bundles.bench.ts` hands the same ones to esbuild, so the measured bundles are the deployed ones.
// No aws-cdk-lib import here: the benchmark loads this module without the CDK.
import { fileURLToPath } from 'node:url';
import {
  ADAPTER_FUNCTIONS,
  type AdapterFunction,
  ALL_FUNCTIONS,
  type AnyFunction,
  EVENT_TYPES,
  type EventType,
} from '../shared/lifecycle/event-types.ts';

/** The six lifecycle functions, by the folder name under `functions/` (also their route and envelope type). */
export const FUNCTION_NAMES = EVENT_TYPES;
export type FunctionName = EventType;
/** The billing adapters' functions (`stripe`): a route each, taking the billing system's own webhooks. */
export const ADAPTER_FUNCTION_NAMES = ADAPTER_FUNCTIONS;
export type AdapterFunctionName = AdapterFunction;
/** Every function the stack deploys: the six, then the adapters. */
export const DEPLOYED_FUNCTION_NAMES = ALL_FUNCTIONS;
export type DeployedFunctionName = AnyFunction;

/** The repository root (the folder holding package.json and package-lock.json). */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export function entryOf(name: DeployedFunctionName): string {
  return fileURLToPath(new URL(`../functions/${name}/handler.ts`, import.meta.url));
}

/**
 * Packages left out of the bundles because no function needs them at run time on Lambda. The SDK's
 * default credential chain reaches each of them only through a dynamic `import()` made when the
 * environment holds no credentials, and Lambda always puts the role's credentials in the
 * environment (the chain's first link). Should one ever be needed (no credentials in the
 * environment), the import would have to resolve to the runtime's own copy of the SDK, a version
 * other than the bundled one; that path is not exercised anywhere. Leaving them out keeps about
 * 110 KB of STS/SSO clients out of every bundle.
 */
export const RUNTIME_PROVIDED_MODULES = [
  '@aws-sdk/credential-provider-http',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/nested-clients',
  '@aws-sdk/token-providers',
  '@smithy/credential-provider-imds',
] as const;

/**
 * undici's llhttp parser without SIMD: a second 72 KB copy of the WebAssembly parser, compiled only
 * when the SIMD build cannot be (ppc64 before Node 24.12, or UNDICI_NO_WASM_SIMD=1). V8 compiles
 * the SIMD build on both Lambda architectures, so the fallback is left out; were it ever reached,
 * the first gateway connection would fail with "Cannot find module '../llhttp/llhttp-wasm.js'".
 */
export const UNUSED_FALLBACKS = ['*/llhttp/llhttp-wasm.js'] as const;

/**
 * esbuild settings shared by the stack and the benchmark.
 * - ESM, so top-level await and `import.meta` work and the runtime loads `index.mjs`.
 * - `module` before `main`: ESM builds of dependencies tree-shake better.
 * - The banner gives CommonJS dependencies bundled into an ESM file the `require` they expect
 *   (esbuild's shim calls it for Node built-ins such as `crypto`).
 * - The AWS SDK is bundled, tree-shaken from its ESM build, except what is never loaded on Lambda
 *   (RUNTIME_PROVIDED_MODULES). The runtime does ship SDK v3, but importing its copy (CommonJS,
 *   every command and schema of each client) took ~59 ms of a cold start on its own, and the whole
 *   function 105-110 ms over bare Node; bundled, the same function imports in ~70 ms over bare Node.
 *   The bundle also pins the SDK version the tests ran against. `npm run bench -- bundles` measures
 *   both layouts side by side.
 * - `node:` built-ins (node:sqlite of the local store included) are external by nature.
 * - Linked source maps without sources. Node's --enable-source-maps is not set: it costs every cold
 *   start ~10 ms (Node reads the whole bundle to index its lines and parses the map at import).
 *   Instead shared/runtime/stack-map.ts maps the stack of an error our logger writes, reading the
 *   map on the first such error (~50 ms on a full core and ~20 MB of heap, once per instance, paid
 *   only by an instance that fails).
 */
export const BUNDLING = {
  target: 'node24',
  platform: 'node',
  format: 'esm',
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  externalModules: [...RUNTIME_PROVIDED_MODULES, ...UNUSED_FALLBACKS],
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
  /** The file the runtime loads (`index.handler`). */
  outputFile: 'index.mjs',
} as const;

/**
 * Compile-time constants of a function's bundle (esbuild `define`). collect-usage gets the usage
 * sink the stack configures (`usageSink`, webhook by default), so the other sinks' code is left
 * out (shared/runtime/usage.ts): two native sinks at ~6 KB each would take it past 800 KB.
 */
export function definesOf(name: DeployedFunctionName, usageSink = 'webhook'): Record<string, string> {
  return name === 'collect-usage' ? { 'process.env.VHI_BUNDLED_USAGE_SINK': JSON.stringify(usageSink) } : {};
}

/**
 * NODE_OPTIONS of collect-usage. With V8's defaults the sweep's resident memory grew with the
 * number of statistics objects (151 MiB at 1k, 191 at 10k, 236 at 30k) although the heap it
 * retains stays near 25 MiB: V8 let the young generation and the old space's capacity grow with
 * the allocation rate and collected late. A 4 MB semi-space and a 256 MB old-space ceiling keep it
 * flat (127 MiB at 3k, 136 at 30k) at the same speed; the ceiling is several times the ~60 MiB
 * the sweep uses at its peak with 32 objects in flight. Measured by `npm run bench -- sweep`.
 */
export const SWEEP_NODE_OPTIONS = '--max-semi-space-size=4 --max-old-space-size=256';

/**
 * The NODE_OPTIONS a function runs with, or undefined for none: only collect-usage has any (the
 * webhook functions need no flag; source maps are applied by our logger, see BUNDLING). The stack,
 * its tests and the benchmarks all take it from here.
 */
export function nodeOptionsOf(name: DeployedFunctionName): string | undefined {
  return name === 'collect-usage' ? SWEEP_NODE_OPTIONS : undefined;
}
