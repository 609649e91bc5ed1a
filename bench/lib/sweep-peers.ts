// The billing receiver of bench/sweep.bench.ts as a separate process (bench/lib/sweep-receiver.ts),
// and the check that a gateway holds no statistics objects any more. Like bench/lib/processes.ts,
// every wait is bounded and the child is killed when the benchmark exits, however it exits.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { OstorClient } from '../../shared/ostor/index.ts';
import type { GatewayProcess } from './processes.ts';
import { PROJECT_ROOT } from './processes.ts';
import type { ReceiverStats } from './sweep-receiver.ts';

export interface ReceiverProcess {
  /** USAGE_WEBHOOK_URL. */
  readonly url: string;
  readonly pid: number;
  stats(): Promise<ReceiverStats>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export async function startReceiverProcess(secret: string, delayMs: number): Promise<ReceiverProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', 'bench/lib/sweep-receiver.ts', '--delay-ms', String(delayMs)],
    {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SWEEP_RECEIVER_SECRET: secret },
    },
  );
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      kill();
      reject(new Error('the receiver did not start within 20 s'));
    }, 20_000);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const line = /^(\{.*\})\s*$/m.exec(out)?.[1];
      if (line === undefined) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the receiver exited with ${code} before it was ready`));
    });
  });
  if (child.pid === undefined) throw new Error('the receiver has no pid');
  const origin = new URL(url).origin;
  return {
    url,
    pid: child.pid,
    async stats() {
      const response = await fetch(`${origin}/stats`, { signal: AbortSignal.timeout(10_000) });
      return (await response.json()) as ReceiverStats;
    },
    async reset() {
      const response = await fetch(`${origin}/reset`, {
        method: 'POST',
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer();
    },
    async stop() {
      process.off('exit', kill);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(kill, 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** How many statistics objects the gateway still lists. */
export async function remainingObjects(gateway: GatewayProcess): Promise<number> {
  const client = new OstorClient({
    endpoint: gateway.url,
    credentials: { accessKeyId: gateway.accessKeyId, secretAccessKey: gateway.secretAccessKey },
  });
  try {
    let count = 0;
    for await (const _name of client.usageObjectNames()) count += 1;
    return count;
  } finally {
    await client.close();
  }
}
