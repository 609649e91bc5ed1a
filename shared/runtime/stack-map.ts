// Maps the stack frames of the bundled function back to the TypeScript sources, on demand.
// Node's --enable-source-maps would do it for every error, but parses the 1 MB map and measures
// the whole bundle at import, ~10 ms of every cold start. Here the map is read when the first error
// is logged: decoding it takes ~50 ms on a full core and keeps ~20 MB of heap, once per instance,
// and only an instance that fails pays it.
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';

/**
 * Bundled, every module shares the bundle's URL (`file:///var/task/index.mjs`), and esbuild writes
 * the linked map beside it. From sources this is the .ts file, which has no map: stacks stay as they are.
 */
const OWN_URL = import.meta.url;

/**
 * `    at name (URL:1:2)`, `    at async name (URL:1:2)`, `    at URL:1:2` or `    at async URL:1:2`,
 * for our own URL only.
 */
const OWN_FRAME = new RegExp(
  `^(\\s*at (?:async )?(?:.+ \\()?)${OWN_URL.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):(\\d+)(\\)?)$`,
);

/** The part of a source map the lookup reads; anything else in the file is ignored. */
const SourceMapFile = z.lazy(() =>
  z.object({
    version: z.literal(3),
    file: z.string().default(''),
    sources: z.array(z.string()),
    names: z.array(z.string()).default([]),
    mappings: z.string(),
  }),
);

/** The map, and the folder every project source lies in (`../../` from `cdk.out/bundling-temp-…/`). */
interface OwnMap {
  readonly map: SourceMap;
  readonly projectFolder: string;
}

/** `undefined` until first needed; `null` once the map proved missing or unusable (not retried). */
let ownMap: OwnMap | null | undefined;

function loadOwnMap(): OwnMap | null {
  try {
    const payload = SourceMapFile.parse(JSON.parse(readFileSync(`${fileURLToPath(OWN_URL)}.map`, 'utf8')));
    return {
      map: new SourceMap({ ...payload, sourceRoot: '', sourcesContent: [] }),
      projectFolder: commonFolder(payload.sources.filter((source) => !isDependency(source))),
    };
  } catch {
    return null;
  }
}

const isDependency = (source: string): boolean => source.includes('node_modules/');

/** The longest folder (ending in `/`) that holds every path; '' when they share none. */
function commonFolder(paths: readonly string[]): string {
  const [first, ...rest] = paths;
  if (first === undefined) return '';
  let folder = first.slice(0, first.lastIndexOf('/') + 1);
  for (const path of rest) {
    while (!path.startsWith(folder)) folder = folder.slice(0, folder.lastIndexOf('/', folder.length - 2) + 1);
  }
  return folder;
}

/**
 * esbuild names sources relative to the bundle's folder (`../../shared/runtime/logging.ts` from
 * `cdk.out/bundling-temp-…/`). Ours read from the project's root (the folder holding all of them),
 * a dependency's from its `node_modules/` on, wherever the bundle was built.
 */
function displayPath(own: OwnMap, source: string): string {
  if (isDependency(source)) return source.slice(source.indexOf('node_modules/'));
  return source.startsWith(own.projectFolder) ? source.slice(own.projectFolder.length) : source;
}

/**
 * Rewrites the frames of `stack` that point into this bundle to `source.ts:line:column` (1-based),
 * keeping the (minified) function name. Frames of other files, frames without a mapping, and every
 * frame when the map is missing or invalid are returned unchanged; this never throws.
 */
export function mapStack(stack: string): string {
  // A stack without a frame of ours (every stack when running from sources) never loads the map.
  if (!stack.includes(OWN_URL)) return stack;
  if (ownMap === undefined) ownMap = loadOwnMap();
  const own = ownMap;
  if (own === null) return stack;
  try {
    return stack
      .split('\n')
      .map((frame) => mapFrame(own, frame))
      .join('\n');
  } catch {
    // A valid-looking map with nonsense mappings must not cost the log line that carries the stack.
    return stack;
  }
}

function mapFrame(own: OwnMap, frame: string): string {
  const match = OWN_FRAME.exec(frame);
  if (match === null) return frame;
  const [, head, line, column, tail] = match;
  const lineOffset = Number(line) - 1;
  const entry = own.map.findEntry(lineOffset, Number(column) - 1);
  // findEntry answers with the nearest mapping before the position, even one on an earlier line
  // (the banner's line has none): only a mapping on the frame's own line locates the frame.
  if (!('originalSource' in entry) || typeof entry.originalSource !== 'string') return frame;
  if (entry.generatedLine !== lineOffset) return frame;
  return `${head}${displayPath(own, entry.originalSource)}:${entry.originalLine + 1}:${entry.originalColumn + 1}${tail}`;
}

/**
 * Maps `error.stack` in place and returns the error: for an error rethrown to the Lambda runtime
 * (console and scheduled invocations), which prints its stack and answers it to the caller.
 */
export function withMappedStack<T>(error: T): T {
  if (error instanceof Error && typeof error.stack === 'string') error.stack = mapStack(error.stack);
  return error;
}
