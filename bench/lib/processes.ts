// The peers a benchmark measures against, each in its own Node 24 process so that the measured
// client never shares an event loop with them: the gateway emulator (emulator/main.ts), `npm start`
// (local/start.ts), and one-shot measurement children. Every wait is bounded; every child is
// killed when the benchmark exits, however it exits.
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const PROJECT_ROOT = new URL('../..', import.meta.url).pathname;
const NODE_FLAGS = ['--disable-warning=ExperimentalWarning'];

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

export interface GatewayProcess {
  readonly url: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface GatewayProcessOptions {
  readonly latencyMs: number;
  readonly usageObjects?: number;
  readonly usageItems?: number;
  /** Start of the first statistics period (emulator/main.ts --usage-start). */
  readonly usageStart?: Date;
}

/** `node emulator/main.ts --latency-ms N ...` on 127.0.0.1; resolves once it has printed its system user. */
export async function startGatewayProcess(options: GatewayProcessOptions): Promise<GatewayProcess> {
  const args = ['emulator/main.ts', '--host', '127.0.0.1', '--latency-ms', String(options.latencyMs)];
  if (options.usageObjects !== undefined) args.push('--usage-objects', String(options.usageObjects));
  if (options.usageItems !== undefined) args.push('--usage-items', String(options.usageItems));
  if (options.usageStart !== undefined) args.push('--usage-start', options.usageStart.toISOString());
  const child = track(
    spawn(process.execPath, [...NODE_FLAGS, ...args], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    }),
  );
  const output = collect(child);
  const line = await waitFor(child, output, /^(\{.*\})\s*$/m, 30_000, 'gateway emulator');
  const started = JSON.parse(line) as { url: string; accessKeyId: string; secretAccessKey: string };
  return { ...started, pid: pidOf(child), stop: () => stop(child) };
}

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  stop(): Promise<void>;
}

/** `npm start` (local/start.ts) with exactly `env` (plus PATH and HOME); resolves on `listening on`. */
export async function startServerProcess(env: Readonly<Record<string, string>>): Promise<ServerProcess> {
  const child = track(
    spawn(process.execPath, [...NODE_FLAGS, 'local/start.ts'], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    }),
  );
  const output = collect(child);
  const url = await waitFor(child, output, /listening on (http:\/\/\S+)/, 30_000, 'npm start');
  return { url, pid: pidOf(child), output: () => output.text, stop: () => stop(child) };
}

/**
 * Runs `script` (relative to the project root) in a fresh Node 24 process with --expose-gc and
 * answers the last line it prints on stdout, parsed as JSON. Killed after `timeoutMs`.
 */
export async function runChild(
  script: string,
  env: Readonly<Record<string, string>>,
  timeoutMs: number,
): Promise<unknown> {
  const child = track(
    spawn(process.execPath, [...NODE_FLAGS, '--expose-gc', join(PROJECT_ROOT, script)], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    }),
  );
  const output = collect(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  if (code !== 0) {
    throw new Error(`${script} exited with ${code ?? 'a signal (timeout?)'}:\n${output.stderr.slice(-4000)}`);
  }
  // Diagnostics the child printed on stderr (e.g. SWEEP_TRACE_MEMORY) go on to ours.
  if (env.SWEEP_TRACE_MEMORY === '1') process.stderr.write(output.stderr);
  const last = output.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as unknown;
}

/** User + system CPU seconds a live process has used so far (Linux /proc). */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the line.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    const answer = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim());
    ticks = Number.isInteger(answer) && answer > 0 ? answer : 100;
  }
  return ticks;
}

// --- plumbing ---------------------------------------------------------------------------------

interface Output {
  text: string;
  stdout: string;
  stderr: string;
}

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

function pidOf(child: ChildProcess): number {
  if (child.pid === undefined) throw new Error('child process has no pid');
  return child.pid;
}

function collect(child: ChildProcess): Output {
  const output: Output = { text: '', stdout: '', stderr: '' };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output.stdout += chunk;
    output.text += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output.stderr += chunk;
    output.text += chunk;
  });
  return output;
}

function waitFor(
  child: ChildProcess,
  output: Output,
  pattern: RegExp,
  timeoutMs: number,
  what: string,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const finish = (error: Error | undefined, value?: string) => {
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.off('exit', exited);
      if (error === undefined) resolve(value as string);
      else reject(error);
    };
    const check = () => {
      const match = pattern.exec(output.stdout);
      if (match?.[1] !== undefined) finish(undefined, match[1]);
    };
    const exited = (code: number | null) =>
      finish(new Error(`${what} exited with ${code} before it was ready:\n${output.text.slice(-4000)}`));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`${what} was not ready within ${timeoutMs} ms:\n${output.text.slice(-4000)}`));
    }, timeoutMs);
    child.stdout?.on('data', check);
    child.once('exit', exited);
    check();
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
