// One measurement of bench/sweep.bench.ts in a fresh process, so that CPU time and peak RSS belong
// to one sweep alone. Prints one JSON line (SweepRunResult) last on stdout.
//
//   SWEEP_MODE=sweep       the real thing: functions/collect-usage/handler.ts invoked directly (as
//                          from the Lambda console) with a 15-minute budget, configured by the
//                          ordinary environment (OSTOR_*, USAGE_WEBHOOK_*, DATA_DIR), so it runs the
//                          runtime's OstorClient, the SQLite ledger and the WebhookSink;
//   SWEEP_MODE=sequential  the vendor scripts' way (bench/lib/sweep-sequential.ts), on the first
//                          SWEEP_LIMIT objects of the listing when set;
//   SWEEP_MODE=requests    the sweep's requests alone (bench/lib/sweep-requests.ts): what they cost
//                          without the ledger and the sweep's bookkeeping (the listing is not timed).
// SWEEP_TRACE_MEMORY=1 adds a memory line every 250 ms on stderr (diagnostics).
import { readFileSync } from 'node:fs';
import { parseWebhookSecrets } from '../../shared/signing/index.ts';

export type SweepMode = 'sweep' | 'sequential' | 'requests';

export interface SweepRunResult {
  readonly mode: SweepMode;
  readonly objects: number;
  readonly records: number;
  readonly delivered: number;
  readonly deleted: number;
  /** Objects the sweep left (failed, skipped); 0 in a good run. */
  readonly failed: number;
  readonly seconds: number;
  readonly cpuUserMicros: number;
  readonly cpuSystemMicros: number;
  /** RSS after the imports, just before the sweep, bytes. */
  readonly baselineRssBytes: number;
  /** Peak RSS of this process (VmHWM), bytes. */
  readonly peakRssBytes: number;
  /** V8 heap in use after a full GC at the end: what the sweep still holds. */
  readonly liveHeapBytes: number;
}

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

/** VmHWM from /proc (the kernel's high-water mark); resourceUsage().maxRSS elsewhere. */
function peakRss(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match?.[1] !== undefined) return Number(match[1]) * 1024;
  } catch {
    // Not Linux.
  }
  return process.resourceUsage().maxRSS * 1024;
}

type Counts = Pick<SweepRunResult, 'objects' | 'records' | 'delivered' | 'deleted' | 'failed'>;

async function prepare(mode: SweepMode): Promise<() => Promise<Counts>> {
  if (mode === 'sweep') {
    // SWEEP_HANDLER names the esbuild bundle of the function as the stack deploys it; without it
    // the TypeScript sources run (which costs Node's type stripping some 40 MB of RSS).
    const entry = process.env.SWEEP_HANDLER ?? '../../functions/collect-usage/handler.ts';
    const [{ handler }, { localContext }] = (await Promise.all([
      import(entry),
      import('../../local/lambda-context.ts'),
    ])) as [
      { handler: (event: unknown, context: unknown) => Promise<unknown> },
      typeof import('../../local/lambda-context.ts'),
    ];
    return async () => {
      const event = { type: 'collect-usage', timestamp: new Date().toISOString(), data: {} };
      const result = (await handler(event, localContext('bench-collect-usage', 15 * 60_000))) as {
        objects: number;
        records: number;
        delivered: number;
        deleted: number;
        failed: number;
        skipped: number;
      };
      const { objects, records, delivered, deleted } = result;
      return { objects, records, delivered, deleted, failed: result.failed + result.skipped };
    };
  }
  const peers = {
    gateway: env('OSTOR_GATEWAY_URL'),
    credentials: {
      accessKeyId: env('OSTOR_ACCESS_KEY_ID'),
      secretAccessKey: env('OSTOR_SECRET_ACCESS_KEY'),
    },
    receiver: new URL(env('USAGE_WEBHOOK_URL')),
    secrets: parseWebhookSecrets(env('USAGE_WEBHOOK_SECRET')),
  };
  if (mode === 'requests') {
    const { requestsOnly } = await import('./sweep-requests.ts');
    const requests = requestsOnly(peers);
    await requests.prepare();
    return async () => {
      const result = await requests.run();
      return { ...result, failed: result.objects - result.deleted };
    };
  }
  const { sequentialSweep } = await import('./sweep-sequential.ts');
  const limit = process.env.SWEEP_LIMIT;
  return async () => {
    const result = await sequentialSweep({
      ...peers,
      ...(limit === undefined ? {} : { limit: Number(limit) }),
    });
    return { ...result, failed: result.objects - result.deleted };
  };
}

async function main(): Promise<void> {
  const mode = env('SWEEP_MODE');
  if (mode !== 'sweep' && mode !== 'sequential' && mode !== 'requests') {
    throw new Error('SWEEP_MODE: sweep, sequential or requests');
  }
  const run = await prepare(mode);
  if (process.env.SWEEP_TRACE_MEMORY === '1') {
    // Diagnostics: the process's memory every 250 ms, on stderr.
    setInterval(() => {
      const m = process.memoryUsage();
      process.stderr.write(
        `memory: rss ${m.rss >> 20} heapTotal ${m.heapTotal >> 20} heapUsed ${m.heapUsed >> 20} external ${m.external >> 20} arrayBuffers ${m.arrayBuffers >> 20} MiB\n`,
      );
    }, 250).unref();
  }

  globalThis.gc?.();
  const baselineRssBytes = process.memoryUsage.rss();
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const counts = await run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  globalThis.gc?.();
  const liveHeapBytes = process.memoryUsage().heapUsed;

  const result: SweepRunResult = {
    mode,
    ...counts,
    seconds,
    cpuUserMicros: used.user,
    cpuSystemMicros: used.system,
    baselineRssBytes,
    peakRssBytes: peakRss(),
    liveHeapBytes,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  // The runtime keeps pools and the ledger open for the next invocation, as a warm Lambda does.
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `sweep-runner: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
