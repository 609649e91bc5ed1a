// `npm run bench [-- name ...]`: runs each bench/<name>.bench.ts in a fresh Node 24 process (so one
// benchmark's heap and JIT state cannot colour the next), collects the Markdown each prints on
// stdout, and rewrites that benchmark's section of BENCHMARKS.md. Progress goes to stderr.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const benchDir = join(root, 'bench');
const output = join(root, 'BENCHMARKS.md');

const available = readdirSync(benchDir)
  .filter((file) => file.endsWith('.bench.ts'))
  .map((file) => file.replace(/\.bench\.ts$/, ''))
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  process.stderr.write(
    `bench: unknown benchmark ${unknown.join(', ')}; available: ${available.join(', ')}\n`,
  );
  process.exit(2);
}
const selected = wanted.length > 0 ? wanted : available;

const results = new Map<string, string>();
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
let failed = false;
for (const name of selected) {
  process.stderr.write(`bench: ${name} ...\n`);
  const started = Date.now();
  const result = spawnSync(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', '--expose-gc', join(benchDir, `${name}.bench.ts`)],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (result.status !== 0) {
    process.stderr.write(`bench: ${name} failed (exit ${result.status ?? result.signal})\n`);
    failed = true;
    continue;
  }
  const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
  results.set(
    name,
    `${result.stdout.trim()}\n\n_Measured ${when} UTC on ${machine} in ${((Date.now() - started) / 1000).toFixed(0)} s. Reproduce: \`npm run bench -- ${name}\`._`,
  );
}

const header = `# Benchmarks

Every number here was produced by \`npm run bench\` (all) or \`npm run bench -- <name>\` (one
section), each benchmark in a fresh process, with its baseline measured side by side in the same
run. Sections are rewritten in place; the date under each says when.
`;
// Read the file only now, so a benchmark run elsewhere meanwhile keeps its section.
const sections = readSections(existsSync(output) ? readFileSync(output, 'utf8') : '');
for (const [name, text] of results) sections.set(name, text);
const body = [...sections.entries()]
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([name, text]) => `<!-- bench:${name} -->\n${text}\n<!-- /bench:${name} -->`)
  .join('\n\n');
writeFileSync(output, `${header}\n${body}\n`);
process.exit(failed ? 1 : 0);

function readSections(text: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of text.matchAll(/<!-- bench:([\w-]+) -->\n([\s\S]*?)\n<!-- \/bench:\1 -->/g)) {
    found.set(match[1] as string, match[2] as string);
  }
  return found;
}
