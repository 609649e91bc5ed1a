// One sweep of bench/sweep.bench.ts through `npm start` (local/start.ts as a child process, local
// mode: the SQLite ledger in a fresh DATA_DIR, the WebhookSink to the bench's receiver): one signed
// `POST /collect-usage`, as a billing system or an operator would ask for a sweep, timed from the
// request to its answer. CPU time and peak RSS are the npm start process's own (from /proc), and
// include what its first call of the function costs (importing collect-usage), which the sweep
// runner of the bundled function leaves out.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateWebhookSecret, parseWebhookSecrets, webhookHeaders } from '../../shared/signing/index.ts';
import type { GatewayProcess } from './processes.ts';
import { processCpuSeconds, startServerProcess } from './processes.ts';
import type { SweepRunResult } from './sweep-runner.ts';

interface SweepAnswer {
  objects: number;
  records: number;
  delivered: number;
  deleted: number;
  failed: number;
  skipped: number;
  complete: boolean;
}

export async function sweepThroughStart(
  gateway: GatewayProcess,
  receiver: { readonly url: string },
  usageSecret: string,
): Promise<SweepRunResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-sweep-start-'));
  const inbound = generateWebhookSecret();
  const server = await startServerProcess({
    DATA_DIR: dataDir,
    PORT: '0',
    USAGE_SWEEP_INTERVAL_SECONDS: '0',
    WEBHOOK_SECRET: inbound,
    OSTOR_GATEWAY_URL: gateway.url,
    OSTOR_ACCESS_KEY_ID: gateway.accessKeyId,
    OSTOR_SECRET_ACCESS_KEY: gateway.secretAccessKey,
    USAGE_WEBHOOK_URL: receiver.url,
    USAGE_WEBHOOK_SECRET: usageSecret,
    POWERTOOLS_LOG_LEVEL: 'WARN',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  try {
    const body = JSON.stringify({ type: 'collect-usage', timestamp: new Date().toISOString(), data: {} });
    const headers = webhookHeaders(
      { id: `msg_bench_sweep_${Date.now()}`, timestamp: Math.floor(Date.now() / 1000), body },
      parseWebhookSecrets(inbound, 'WEBHOOK_SECRET'),
    );
    const rssBefore = status(server.pid, 'VmRSS');
    const cpu = processCpuSeconds(server.pid);
    const started = process.hrtime.bigint();
    const response = await fetch(`${server.url}/collect-usage`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(120_000),
    });
    const text = await response.text();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpuSeconds = processCpuSeconds(server.pid) - cpu;
    if (response.status !== 200) throw new Error(`POST /collect-usage answered ${response.status}: ${text}`);
    const answer = JSON.parse(text) as SweepAnswer;
    if (!answer.complete)
      throw new Error('the sweep through npm start stopped before the end of the listing');
    return {
      mode: 'sweep',
      objects: answer.objects,
      records: answer.records,
      delivered: answer.delivered,
      deleted: answer.deleted,
      failed: answer.failed + answer.skipped,
      seconds,
      cpuUserMicros: cpuSeconds * 1e6,
      cpuSystemMicros: 0,
      baselineRssBytes: rssBefore,
      peakRssBytes: status(server.pid, 'VmHWM'),
      liveHeapBytes: Number.NaN,
    };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A `kB` line of /proc/<pid>/status, in bytes. */
function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match?.[1] === undefined ? Number.NaN : Number(match[1]) * 1024;
}
