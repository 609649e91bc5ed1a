// `npm run bench -- sweep-stripe`: the usage sweep with the Stripe sink (USAGE_SINK=stripe) beside
// the same sweep with the webhook sink, at 1,000 and 3,000 statistics objects of 8 items, the
// gateway emulator, the billing receiver and the Stripe fake each a process of its own adding a
// 2 ms round trip to every request (as bench/sweep.bench.ts). Each sweep is collect-usage bundled
// as the stack bundles it for that sink, invoked directly in a fresh process
// (bench/lib/sweep-runner.ts) against a freshly seeded emulator. The Stripe runs give billing ids
// to 7 of every 8 users (the rest are `unbilled`) and must leave Stripe holding, per customer and
// meter, exactly the seeded counters, each identifier once. Markdown on stdout, progress on
// stderr; exits non-zero when a sweep loses, repeats or leaves something.
//
// Knobs: BENCH_STRIPE_SMALL (default 1,000), BENCH_STRIPE_OBJECTS (default 3,000; the seeded
// periods must fit in Stripe's 35-day window: at most ~6,000), BENCH_STRIPE_ROUNDS (default 1),
// BENCH_SWEEP_LATENCY_MS (default 2).
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmulatorState } from '../emulator/state.ts';
import { seedUsageObjects } from '../emulator/usage-generator.ts';
import { SWEEP_NODE_OPTIONS } from '../infra/bundling.ts';
import { generateWebhookSecret } from '../shared/signing/index.ts';
import { SqliteStore } from '../shared/store/sqlite.ts';
import { bundleFunction } from './lib/bundle.ts';
import { knob } from './lib/knobs.ts';
import { PROJECT_ROOT, processCpuSeconds, runChild, startGatewayProcess } from './lib/processes.ts';
import { fmt, median, mib } from './lib/stats.ts';
import { remainingObjects, startReceiverProcess } from './lib/sweep-peers.ts';
import type { SweepRunResult } from './lib/sweep-runner.ts';

const SMALL = knob('BENCH_STRIPE_SMALL', 1_000, 10, 6_000);
const LARGE = knob('BENCH_STRIPE_OBJECTS', 3_000, SMALL, 6_000);
const ROUNDS = knob('BENCH_STRIPE_ROUNDS', 1, 1, 5);
const LATENCY_MS = knob('BENCH_SWEEP_LATENCY_MS', 2, 0, 100);
const ITEMS = 8;
const SEED = 1;
const RUN_TIMEOUT_MS = 600_000;
const SECRET = generateWebhookSecret();
const METERS = {
  STRIPE_METER_DOWNLOADED_BYTES: 's3_downloaded_bytes',
  STRIPE_METER_UPLOADED_BYTES: 's3_uploaded_bytes',
  STRIPE_METER_REQUESTS: 's3_requests',
} as const;

const log = (line: string) => process.stderr.write(`sweep-stripe: ${line}\n`);
const failures: string[] = [];

interface Run {
  readonly sink: 'webhook' | 'stripe';
  readonly seeded: number;
  readonly result: SweepRunResult;
  /** Requests the peer answered (usage messages, or meter events incl. retries and duplicates). */
  readonly peerRequests: number;
  readonly peerCpuSeconds: number;
}

/** The objects the emulator process seeds (same generator, seed and start), read in this process. */
function seeded(objects: number, start: Date) {
  const state = new EmulatorState();
  const names = seedUsageObjects(state, { objects, itemsPerObject: ITEMS, start, seed: SEED });
  const items = names.flatMap((name) => {
    const content = state.usage.get(name);
    return content === undefined || typeof content === 'string' ? [] : content.items;
  });
  const users = [...new Set(items.map((item) => item.key.user_id))].sort();
  // 7 of every 8 users carry a Stripe customer id; the 8th is unbilled.
  const billing = new Map(users.filter((_, i) => i % 8 !== 7).map((user) => [user, `cus_${user}`]));
  const totals = new Map<string, bigint>();
  const add = (key: string, value: bigint) => totals.set(key, (totals.get(key) ?? 0n) + value);
  for (const item of items) {
    const customer = billing.get(item.key.user_id);
    if (customer === undefined) continue;
    const { ops, net_io } = item.counters;
    add(`${customer} ${METERS.STRIPE_METER_DOWNLOADED_BYTES}`, BigInt(net_io.downloaded));
    add(`${customer} ${METERS.STRIPE_METER_UPLOADED_BYTES}`, BigInt(net_io.uploaded));
    add(`${customer} ${METERS.STRIPE_METER_REQUESTS}`, BigInt(ops.put + ops.get + ops.list + ops.other));
  }
  for (const [key, value] of totals) if (value === 0n) totals.delete(key);
  return { billing, totals };
}

interface StripePeer {
  readonly url: string;
  readonly apiKey: string;
  readonly pid: number;
  stats(): Promise<{
    accepted: number;
    duplicates: number;
    requests: number;
    totals: Record<string, string>;
  }>;
  stop(): Promise<void>;
}

async function startStripePeer(): Promise<StripePeer> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', 'bench/lib/stripe-peer.ts', '--delay-ms', String(LATENCY_MS)],
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env.PATH ?? '' } },
  );
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const started = await new Promise<{ url: string; apiKey: string }>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the Stripe peer did not start within 20 s')), 20_000);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const line = /^(\{.*\})\s*$/m.exec(out)?.[1];
      if (line === undefined) return;
      clearTimeout(timer);
      resolve(JSON.parse(line) as { url: string; apiKey: string });
    });
    child.once('exit', (code) => reject(new Error(`the Stripe peer exited with ${code}`)));
  });
  if (child.pid === undefined) throw new Error('the Stripe peer has no pid');
  return {
    ...started,
    pid: child.pid,
    async stats() {
      const response = await fetch(`${started.url}/__fake/stats`, { signal: AbortSignal.timeout(10_000) });
      return (await response.json()) as Awaited<ReturnType<StripePeer['stats']>>;
    },
    async stop() {
      process.off('exit', kill);
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function measure(sink: Run['sink'], objects: number, bundle: string): Promise<Run> {
  // Periods that ended within Stripe's 35-day window (30 minutes each, 4 services).
  const start = new Date(
    Math.floor((Date.now() - (objects / 4) * 1_800_000 - 86_400_000) / 3_600_000) * 3_600_000,
  );
  log(
    `${sink}: starting the emulator (--latency-ms ${LATENCY_MS}, ${fmt(objects)} objects × ${ITEMS} items)`,
  );
  const gateway = await startGatewayProcess({
    latencyMs: LATENCY_MS,
    usageObjects: objects,
    usageItems: ITEMS,
    usageStart: start,
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-sweep-stripe-'));
  const receiver = sink === 'webhook' ? await startReceiverProcess(SECRET, LATENCY_MS) : undefined;
  const stripe = sink === 'stripe' ? await startStripePeer() : undefined;
  try {
    const expected = seeded(objects, start);
    if (stripe !== undefined) {
      const store = new SqliteStore(join(dataDir, 'state.sqlite'));
      for (const [user, customer] of expected.billing) await store.billingIds.set(user, customer);
      store.close();
    }
    const peerPid = receiver?.pid ?? stripe?.pid ?? 0;
    const peerCpu = processCpuSeconds(peerPid);
    log(`${sink}: sweeping`);
    const result = (await runChild(
      'bench/lib/sweep-runner.ts',
      {
        SWEEP_MODE: 'sweep',
        SWEEP_HANDLER: bundle,
        NODE_OPTIONS: SWEEP_NODE_OPTIONS,
        OSTOR_GATEWAY_URL: gateway.url,
        OSTOR_ACCESS_KEY_ID: gateway.accessKeyId,
        OSTOR_SECRET_ACCESS_KEY: gateway.secretAccessKey,
        DATA_DIR: dataDir,
        POWERTOOLS_METRICS_DISABLED: 'true',
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        ...(receiver === undefined ? {} : { USAGE_WEBHOOK_URL: receiver.url, USAGE_WEBHOOK_SECRET: SECRET }),
        ...(stripe === undefined
          ? {}
          : { USAGE_SINK: 'stripe', STRIPE_API_KEY: stripe.apiKey, STRIPE_API_BASE: stripe.url, ...METERS }),
      },
      RUN_TIMEOUT_MS,
    )) as SweepRunResult;
    const peerCpuSeconds = processCpuSeconds(peerPid) - peerCpu;
    const left = await remainingObjects(gateway);
    const problems: (string | false)[] = [
      result.deleted !== objects && `deleted ${result.deleted} of ${objects}`,
      result.failed !== 0 && `${result.failed} failed or skipped`,
      left !== 0 && `the gateway still lists ${left} objects`,
    ];
    let peerRequests = 0;
    if (receiver !== undefined) {
      const stats = await receiver.stats();
      peerRequests = stats.received;
      problems.push(stats.collected !== objects && `the receiver acknowledged ${stats.collected} messages`);
    }
    if (stripe !== undefined) {
      const stats = await stripe.stats();
      peerRequests = stats.requests;
      const held = new Map(Object.entries(stats.totals).map(([key, value]) => [key, BigInt(value)]));
      const same =
        held.size === expected.totals.size &&
        [...expected.totals].every(([key, value]) => held.get(key) === value);
      problems.push(!same && 'Stripe holds other totals than the seeded counters');
      problems.push(stats.duplicates !== 0 && `${stats.duplicates} duplicate identifiers in a clean run`);
    }
    const wrong = problems.filter((problem): problem is string => typeof problem === 'string');
    for (const problem of wrong) failures.push(`${sink} over ${fmt(objects)}: ${problem}`);
    log(
      `${sink}: ${fmt(result.objects / result.seconds)} objects/s, ${fmt(result.seconds, 1)} s, ${fmt(peerRequests)} requests${wrong.length > 0 ? `; WRONG: ${wrong.join('; ')}` : ''}`,
    );
    return { sink, seeded: objects, result, peerRequests, peerCpuSeconds };
  } finally {
    await Promise.all([gateway.stop(), receiver?.stop(), stripe?.stop()]);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const cacheDir = join(PROJECT_ROOT, 'node_modules', '.cache', 'bench-sweep-stripe');
  log('bundling collect-usage as the stack does, for each sink');
  const bundles = {
    webhook: (await bundleFunction('collect-usage', join(cacheDir, 'webhook'))).file,
    stripe: (await bundleFunction('collect-usage', join(cacheDir, 'stripe'), { usageSink: 'stripe' })).file,
  };
  const loadBefore = loadavg()[0] ?? 0;
  const runs: Run[] = [];
  for (const objects of [...new Set([SMALL, LARGE])]) {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const sink of ['webhook', 'stripe'] as const)
        runs.push(await measure(sink, objects, bundles[sink]));
    }
  }

  const rows = [...new Set(runs.map((run) => `${run.sink} ${run.seeded}`))].map((key) => {
    const group = runs.filter((run) => `${run.sink} ${run.seeded}` === key);
    const first = group[0] as Run;
    const m = (f: (run: Run) => number) => median(group.map(f));
    const seconds = m((run) => run.result.seconds);
    return `| ${first.sink} | ${fmt(first.seeded)} | ${fmt(m((run) => run.peerRequests))} | ${fmt(seconds, 1)} s | **${fmt(first.seeded / seconds)}** | ${fmt(m((run) => run.peerRequests) / seconds)} | ${fmt(m((run) => (run.result.cpuUserMicros + run.result.cpuSystemMicros) / run.result.objects))} µs | ${fmt(m((run) => (run.peerCpuSeconds * 1e6) / run.result.objects))} µs | ${mib(m((run) => run.result.peakRssBytes))} |`;
  });
  const lines = [
    '## Usage sweep to Stripe',
    '',
    `The sweep with \`USAGE_SINK=stripe\` beside the same sweep with the webhook sink, ${ROUNDS === 1 ? 'one run' : `median of ${ROUNDS} runs`} each: collect-usage bundled as the stack bundles it for each sink (\`infra/bundling.ts\`), invoked directly in a fresh process (\`bench/lib/sweep-runner.ts\`, local configuration: SQLite ledger, and for Stripe the SQLite billing ids and meter receipts) against a freshly seeded gateway emulator (${ITEMS} items an object, the first objects of the same generator as \`npm run bench -- sweep\`, periods moved into Stripe's 35-day window). The peer is the Standard Webhooks receiver (\`bench/lib/sweep-receiver.ts\`, one message per object) or the tests' fake of the Stripe API (\`bench/lib/stripe-peer.ts\`: one \`POST /v1/billing/meter_events\` per object × user with a billing id × meter; 3 meters; 7 of every 8 users have a billing id). Gateway, receiver and Stripe each run as their own process and add a **${LATENCY_MS} ms** round trip to every request. Every Stripe run must leave Stripe holding, per customer and meter, exactly the seeded counters, each identifier once.`,
    '',
    '| sink | objects | peer requests | time | objects/s | requests/s | sweep CPU / object | peer CPU / object | peak RSS |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `The machine's 1-minute load average was ${fmt(loadBefore, 1)} when the runs began and ${fmt(loadavg()[0] ?? 0, 1)} when they ended: other work inflates time and CPU alike, so compare the rows with each other rather than with other sections.`,
    '',
    failures.length === 0
      ? 'Every run: every object read, delivered, acknowledged and deleted; the Stripe totals equal the counters.'
      : `**Wrong:** ${failures.join('; ')}.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (failures.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(
    `sweep-stripe: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
