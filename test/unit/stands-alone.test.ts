// The repository stands alone: no file reaches above its root with a relative path (a `../` that
// climbs past the top, as test data once read from a folder beside the checkout), and every
// relative link in its Markdown lands on a file inside it. `.ci/run` also runs the whole suite
// from a copy with nothing beside it; this test says which line is at fault, in any `npm test`.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Folders that are not the repository's own content (all of them in .gitignore). */
const NOT_OURS = new Set(['.git', 'node_modules', 'cdk.out', '.data', 'coverage', 'scratch']);
const SKIPPED_FILES = /(?:^|\/)package-lock\.json$|\.(?:png|jpg|zip|lock)$/;

/** Built, not written out, so that this file does not trip its own check. */
const up = (levels: number): string => '../'.repeat(levels);

/** The files of the repository, relative to its root with `/`: git's list, or a walk in a copy without git. */
function repositoryFiles(): string[] {
  if (existsSync(join(ROOT, '.git'))) {
    try {
      return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
        .split('\0')
        .filter((file) => file !== '');
    } catch {
      // No git on this machine: walk the folder instead.
    }
  }
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!NOT_OURS.has(entry.name)) walk(join(dir, entry.name));
      } else if (entry.isFile()) {
        files.push(relative(ROOT, join(dir, entry.name)).split(sep).join('/'));
      }
    }
  };
  walk(ROOT);
  return files;
}

/** The text of a file, or undefined for a binary one or one listed by git but deleted since. */
function textOf(file: string): string | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(ROOT, file));
  } catch {
    return undefined;
  }
  if (bytes.includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

interface Reach {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

/**
 * Lines of `text` (the content of `file`, relative to the root) where a run of `../` climbs more
 * levels than `file` is deep: from the root one `../` is too many, from `test/unit/x/` four are.
 */
function reachesAboveRoot(file: string, text: string): Reach[] {
  const depth = file.split('/').length - 1;
  const found: Reach[] = [];
  text.split('\n').forEach((line, index) => {
    for (const match of line.matchAll(/((?:\.\.\/)+)[A-Za-z0-9_.-]/g)) {
      if ((match[1] ?? '').length / 3 > depth) {
        found.push({ file, line: index + 1, text: line.trim().slice(0, 120) });
        break;
      }
    }
  });
  return found;
}

/** Relative Markdown link targets of `text` (`[x](target)`), without their `#anchor`. */
function relativeLinks(text: string): string[] {
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1] ?? '')
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'))
    .map((target) => target.replace(/#.*$/, ''));
}

describe('the check itself', () => {
  it('flags a climb above the root, from the root and from a nested file', () => {
    expect(reachesAboveRoot('README.md', `see ${up(1)}shared/CONTRACT.md`)).toEqual([
      { file: 'README.md', line: 1, text: `see ${up(1)}shared/CONTRACT.md` },
    ]);
    const nested = `ok ${up(3)}shared/errors.ts\nread(new URL('${up(4)}shared/vectors/x.json'))`;
    expect(reachesAboveRoot('test/unit/signing/x.test.ts', nested).map((reach) => reach.line)).toEqual([2]);
  });

  it('lets paths that stay inside pass', () => {
    expect(
      reachesAboveRoot('test/unit/signing/x.test.ts', `${up(3)}shared/x.ts and ${up(2)}vectors/`),
    ).toEqual([]);
    expect(reachesAboveRoot('README.md', 'docs/contract.md, ./BENCHMARKS.md, a/b/..')).toEqual([]);
  });

  it('finds relative links only', () => {
    expect(relativeLinks('[a](docs/x.md#part) [b](https://e.com) [c](#top) [d](mailto:x@y.z)')).toEqual([
      'docs/x.md',
    ]);
  });
});

describe('the repository stands alone', () => {
  const files = repositoryFiles();

  it('lists its own files', () => {
    expect(files).toContain('package.json');
    expect(files.length).toBeGreaterThan(100);
  });

  it('has no file that reaches above its root', () => {
    const found = files
      .filter((file) => !SKIPPED_FILES.test(file))
      .flatMap((file) => {
        const text = textOf(file);
        return text === undefined ? [] : reachesAboveRoot(file, text);
      });
    expect(found.map((reach) => `${reach.file}:${reach.line}: ${reach.text}`)).toEqual([]);
  });

  it('links, in its Markdown, only to files inside it', () => {
    const broken = files
      .filter((file) => file.endsWith('.md'))
      .flatMap((file) =>
        relativeLinks(textOf(file) ?? '')
          .filter((target) => {
            const path = join(ROOT, dirname(file), decodeURIComponent(target));
            return relative(ROOT, path).startsWith('..') || !existsSync(path);
          })
          .map((target) => `${file}: ${target}`),
      );
    expect(broken).toEqual([]);
  });
});
