// `npm run bench -- client`: reading statistics objects through the pooled gateway client versus
// the vendor scripts' way (one request per new TCP connection, one at a time), against the same
// gateway emulator process with a 2 ms round trip, in the same run. Each measurement runs in its
// own process (bench/lib/statistics-reader.ts) so CPU time and peak RSS belong to one strategy;
// rounds interleave the strategies and the table shows medians. A second emulator without added
// latency gives the secondary rows. Markdown on stdout, progress on stderr.
//
// Knobs: BENCH_STATS_OBJECTS (default 1500: the whole benchmark in about a minute), BENCH_STATS_ITEMS (items per object, default 8),
// BENCH_STATS_ROUNDS (default 3).

import { knob } from './lib/knobs.ts';
import type { GatewayProcess } from './lib/processes.ts';
import { processCpuSeconds, runChild, startGatewayProcess } from './lib/processes.ts';
import type { ReaderMode, ReaderResult } from './lib/statistics-reader.ts';
import { fmt, median, mib } from './lib/stats.ts';

const OBJECTS = knob('BENCH_STATS_OBJECTS', 1500, 10, 20_000);
const ITEMS = knob('BENCH_STATS_ITEMS', 8, 1, 1000);
const ROUNDS = knob('BENCH_STATS_ROUNDS', 3, 1, 20);
const WARMUP = Math.min(100, Math.ceil(OBJECTS / 10));
/** One measurement may take this long before it counts as a failure. */
const READER_TIMEOUT_MS = 120_000;
/** Give up on the whole benchmark after this long. */
const BENCH_DEADLINE = Date.now() + 15 * 60_000;

const LABELS: Readonly<Record<ReaderMode, string>> = {
  pooled: 'pooled client, 32 in flight (as the usage sweep)',
  'pooled-serial': 'pooled client, one at a time',
  'per-connection': 'one request per new connection, one at a time (vendor scripts)',
};

interface Sample {
  readonly result: ReaderResult;
  /** CPU seconds the emulator process spent on this measurement (warm-up included). */
  readonly gatewayCpuSeconds: number;
}

interface Row {
  readonly latencyMs: number;
  readonly mode: ReaderMode;
  readonly samples: readonly Sample[];
}

const log = (line: string) => process.stderr.write(`client: ${line}\n`);

async function measure(gateway: GatewayProcess, mode: ReaderMode): Promise<Sample> {
  if (Date.now() > BENCH_DEADLINE) throw new Error('the benchmark ran past its deadline');
  const cpuBefore = processCpuSeconds(gateway.pid);
  const result = (await runChild(
    'bench/lib/statistics-reader.ts',
    {
      READER_MODE: mode,
      READER_GATEWAY_URL: gateway.url,
      READER_ACCESS_KEY_ID: gateway.accessKeyId,
      READER_SECRET_ACCESS_KEY: gateway.secretAccessKey,
      READER_OBJECTS: String(OBJECTS),
      READER_WARMUP: String(WARMUP),
      READER_TIMEOUT_MS: String(READER_TIMEOUT_MS),
    },
    READER_TIMEOUT_MS + 10_000,
  )) as ReaderResult;
  const gatewayCpuSeconds = processCpuSeconds(gateway.pid) - cpuBefore;
  if (result.objects !== OBJECTS || result.items !== OBJECTS * ITEMS) {
    throw new Error(
      `${mode}: read ${result.objects} objects with ${result.items} items, expected ${OBJECTS} with ${OBJECTS * ITEMS}`,
    );
  }
  log(
    `  ${mode}: ${fmt(result.objects / result.seconds)} objects/s, ${fmt(result.seconds, 2)} s, ${fmt(
      (result.cpuUserMicros + result.cpuSystemMicros) / result.objects,
    )} µs CPU/object`,
  );
  return { result, gatewayCpuSeconds };
}

async function measureAt(latencyMs: number, modes: readonly ReaderMode[]): Promise<Row[]> {
  log(
    `starting the gateway emulator: --latency-ms ${latencyMs}, ${OBJECTS} statistics objects × ${ITEMS} items`,
  );
  const gateway = await startGatewayProcess({ latencyMs, usageObjects: OBJECTS, usageItems: ITEMS });
  const samples = new Map<ReaderMode, Sample[]>(modes.map((mode) => [mode, []]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order each round: a slow moment of the shared machine touches every strategy alike.
      const order = modes.map((_, i) => modes[(i + round) % modes.length] as ReaderMode);
      log(`latency ${latencyMs} ms, round ${round + 1}/${ROUNDS}: ${order.join(', ')}`);
      for (const mode of order) samples.get(mode)?.push(await measure(gateway, mode));
    }
  } finally {
    await gateway.stop();
  }
  return modes.map((mode) => ({ latencyMs, mode, samples: samples.get(mode) ?? [] }));
}

const rate = (s: Sample) => s.result.objects / s.result.seconds;
const clientCpuMicros = (s: Sample) => (s.result.cpuUserMicros + s.result.cpuSystemMicros) / s.result.objects;
const gatewayCpuMicros = (s: Sample) =>
  (s.gatewayCpuSeconds * 1e6) / (s.result.objects + s.result.warmupRequests);

function medianRate(rows: readonly Row[], latencyMs: number, mode: ReaderMode): number {
  const row = rows.find((r) => r.latencyMs === latencyMs && r.mode === mode);
  return median(row?.samples.map(rate) ?? []);
}

function tableRow(row: Row, baseline: number): string {
  const rates = row.samples.map(rate);
  const objectsPerSecond = median(rates);
  return `| ${row.latencyMs} ms | ${LABELS[row.mode]} | **${fmt(objectsPerSecond)}** | ${fmt(Math.min(...rates))}–${fmt(
    Math.max(...rates),
  )} | ${fmt(objectsPerSecond / baseline, 2)}× | ${fmt(median(row.samples.map(clientCpuMicros)))} µs | ${fmt(
    median(row.samples.map(gatewayCpuMicros)),
  )} µs | ${mib(median(row.samples.map((s) => s.result.maxRssBytes)))} (${mib(
    median(row.samples.map((s) => s.result.baselineRssBytes)),
  )}) |`;
}

async function main(): Promise<void> {
  const modes: readonly ReaderMode[] = ['pooled', 'pooled-serial', 'per-connection'];
  const rows = [...(await measureAt(2, modes)), ...(await measureAt(0, modes))];

  const ratio = medianRate(rows, 2, 'pooled') / medianRate(rows, 2, 'per-connection');
  const serialRatio = medianRate(rows, 2, 'pooled-serial') / medianRate(rows, 2, 'per-connection');
  const bareRatio = medianRate(rows, 0, 'pooled') / medianRate(rows, 0, 'per-connection');
  // What `--latency-ms 2` really adds to a request: Node timers fire on a 1 ms clock, so a little more.
  const addedMs = 1000 / medianRate(rows, 2, 'pooled-serial') - 1000 / medianRate(rows, 0, 'pooled-serial');
  const lines = [
    '## Statistics objects: pooled client vs one connection per request',
    '',
    `Each run lists ${fmt(OBJECTS)} statistics objects (${ITEMS} items each, seeded by \`emulator/main.ts --usage-objects ${OBJECTS} --usage-items ${ITEMS}\`) in pages of 500 and reads every one with \`GET ?ostor-usage&obj=\`, signed with Signature V2 and parsed by the same zod schema, against one gateway emulator process on 127.0.0.1 that waits \`--latency-ms\` before every answer (2 ms models a LAN round trip; in this run it added ${fmt(addedMs, 1)} ms per request, measured one at a time against the 0 ms emulator, because Node timers run on a 1 ms clock). The pooled client is \`OstorClient\` with its defaults (undici Pool, 32 keep-alive connections), driven 32 reads at a time as the usage sweep drives it, and also one read at a time to separate keep-alive from concurrency; the vendor scripts' way opens a new TCP connection for every request (a fresh undici \`Client\`, closed after the answer) and sends one request at a time. Every run is its own Node 24 process (a ${WARMUP}-object warm-up first, not timed), so client CPU (\`process.cpuUsage\`, user + system, per object) and peak RSS (\`maxRSS\` of that process; in brackets its RSS just before the timed part) belong to one strategy; gateway CPU is the emulator process's from \`/proc\`. ${ROUNDS} rounds with the strategies interleaved in rotating order; medians, with the range of objects/s. The 0 ms rows are secondary: on bare loopback, with the client and the emulator sharing 2 cores, they measure CPU contention between the two processes, not the network.`,
    '',
    '| gateway latency | strategy | objects/s | range | vs vendor way | client CPU/object | gateway CPU/object | peak RSS (before) |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const latency of [2, 0]) {
    const baseline = medianRate(rows, latency, 'per-connection');
    for (const row of rows.filter((r) => r.latencyMs === latency)) lines.push(tableRow(row, baseline));
  }
  lines.push(
    '',
    `With a 2 ms round trip the pooled client reads statistics objects **${fmt(ratio, 1)}× as fast** as one request per new connection (keep-alive alone, one read at a time, gives ${fmt(serialRatio, 2)}×; the rest comes from 32 reads in flight); on bare loopback the ratio is ${fmt(bareRatio, 1)}×.`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  if (!(ratio > 1)) {
    log(`the pooled client was not faster than one connection per request (ratio ${fmt(ratio, 2)})`);
    process.exitCode = 1;
  }
}

await main();
