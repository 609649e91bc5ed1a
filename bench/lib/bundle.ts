// Bundles a function exactly as the stack does (infra/bundling.ts), for benchmarks that measure
// the deployed artifact rather than the TypeScript sources.

import { join } from 'node:path';
import { type BuildOptions, build, type Metafile, type Plugin } from 'esbuild';
import {
  BUNDLING,
  type DeployedFunctionName,
  definesOf,
  entryOf,
  PROJECT_ROOT,
} from '../../infra/bundling.ts';

/** What a benchmark may change to bundle a layout other than the deployed one (its baseline). */
export interface BundleOverrides {
  /** Modules left outside the bundle instead of BUNDLING.externalModules. */
  readonly external?: readonly string[];
  /** The stack's usageSink the bundle is made for (collect-usage). Default webhook. */
  readonly usageSink?: string;
  /** esbuild plugins, for a layout that swaps a module (none deployed). */
  readonly plugins?: readonly Plugin[];
}

/** The stack's bundling settings (BUNDLING) in esbuild's own option names, for any entry point. */
export function esbuildOptions(overrides: BundleOverrides = {}): BuildOptions {
  return {
    bundle: true,
    platform: BUNDLING.platform,
    target: BUNDLING.target,
    format: BUNDLING.format,
    minify: BUNDLING.minify,
    sourcemap: BUNDLING.sourceMap,
    sourcesContent: BUNDLING.sourcesContent,
    mainFields: [...BUNDLING.mainFields],
    external: [...(overrides.external ?? BUNDLING.externalModules)],
    banner: { js: BUNDLING.banner },
  };
}

export async function bundleFunction(
  name: DeployedFunctionName,
  outdir: string,
  overrides: BundleOverrides = {},
): Promise<{ file: string; metafile: Metafile }> {
  const file = join(outdir, BUNDLING.outputFile);
  const result = await build({
    ...esbuildOptions(overrides),
    // As the stack deploys it (usageSink webhook unless asked): collect-usage carries that sink only.
    define: definesOf(name, overrides.usageSink),
    entryPoints: [entryOf(name)],
    outfile: file,
    metafile: true,
    ...(overrides.plugins === undefined ? {} : { plugins: [...overrides.plugins] }),
    logLevel: 'warning',
    absWorkingDir: PROJECT_ROOT,
  });
  return { file, metafile: result.metafile };
}
