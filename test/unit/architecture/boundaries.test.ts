// The shape of the house, checked: the domain (shared/lifecycle, shared/usage) reaches no wiring,
// no AWS SDK, no Powertools and no Lambda types, directly or through the modules it imports; the
// composition root (shared/runtime) is where those meet. A new import that breaks this fails here.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const DOMAIN = ['shared/lifecycle', 'shared/usage', 'shared/stripe', 'shared/lago'];
// (@smithy/signature-v4 is allowed: the Signature V4 algorithm under shared/signing, not an AWS client.)
const FORBIDDEN_PACKAGES = [/^@aws-sdk\//, /^@aws-lambda-powertools\//, /^aws-lambda$/, /^aws-cdk-lib/];
const FORBIDDEN_FOLDERS = ['shared/runtime/', 'shared/store/', 'infra/', 'functions/', 'local/'];

function tsFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder)).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(join(ROOT, path)).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports, type-only imports included. */
function specifiersOf(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*import\s+(?:type\s+)?[^'"]*?\s+from\s+['"]([^'"]+)['"]/gm,
    /^\s*import\s+['"]([^'"]+)['"]/gm,
    /^\s*export\s+(?:type\s+)?(?:\*|\{[^}]*\})\s+from\s+['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1] ?? '');
  return found;
}

/** Where each domain file leads, following the repository's own modules: [path of imports, the offending target]. */
function violations(start: string): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const walk = (file: string, trail: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of specifiersOf(readFileSync(join(ROOT, file), 'utf8'))) {
      if (specifier.startsWith('.')) {
        const target = relative(ROOT, resolve(ROOT, dirname(file), specifier));
        if (FORBIDDEN_FOLDERS.some((folder) => target.startsWith(folder))) {
          problems.push(`${[...trail, file].join(' → ')} → ${target}`);
        } else if (target.endsWith('.ts')) walk(target, [...trail, file]);
      } else if (FORBIDDEN_PACKAGES.some((pattern) => pattern.test(specifier))) {
        problems.push(`${[...trail, file].join(' → ')} → ${specifier}`);
      }
    }
  };
  walk(start, []);
  return problems;
}

describe('the domain folders', () => {
  it.each(DOMAIN)(
    '%s reach no wiring, AWS SDK, Powertools or Lambda types, even through what they import',
    (folder) => {
      const files = tsFiles(folder);
      expect(files.length).toBeGreaterThan(0);
      expect(files.flatMap(violations)).toEqual([]);
    },
  );

  it('the check sees every kind of import it is meant to catch', () => {
    const source = [
      "import type { Context } from 'aws-lambda';",
      "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
      "export { x } from '../runtime/runtime.ts';",
      "export * from './y.ts';",
      "const m = await import('../store/sqlite.ts');",
      "import './side-effect.ts';",
    ].join('\n');
    expect(specifiersOf(source)).toEqual(
      expect.arrayContaining([
        'aws-lambda',
        '@aws-sdk/client-dynamodb',
        '../runtime/runtime.ts',
        './y.ts',
        '../store/sqlite.ts',
        './side-effect.ts',
      ]),
    );
  });
});

describe('the shared code', () => {
  it('keeps every module of the sweep under 300 lines', () => {
    const long = tsFiles('shared/usage')
      .map((file) => ({ file, lines: readFileSync(join(ROOT, file), 'utf8').split('\n').length }))
      .filter(({ lines }) => lines > 300);
    expect(long).toEqual([]);
  });

  it('inspects errors through hasCode, systemCode or instanceof, never a cast to an ad-hoc shape', () => {
    const casts = tsFiles('shared').flatMap((file) =>
      readFileSync(join(ROOT, file), 'utf8')
        .split('\n')
        .flatMap((line, i) =>
          /\((error|err|e|cause) as \{/.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [],
        ),
    );
    expect(casts).toEqual([]);
  });
});
