// `npm run bench -- sweep`: the usage sweep (collect-usage) over 10,000 statistics objects of 8
// items, against the gateway emulator and a billing receiver that each add a 2 ms round trip and
// run as processes of their own, versus a sequential sweep with one new connection per request
// (the vendor scripts' way), in the same run. Every sweep runs in a fresh process
// (bench/lib/sweep-runner.ts) so CPU time and peak RSS are its own, against a freshly started
// emulator seeded with the same objects (the sweep deletes them). Markdown on stdout, progress on
// stderr; exits non-zero when a sweep loses, repeats or leaves an object.
//
// Knobs: BENCH_SWEEP_OBJECTS (default 10,000), BENCH_SWEEP_SMALL (the smaller size for peak RSS,
// default 1,000), BENCH_SWEEP_ROUNDS (sweeps at each size, default 3), BENCH_SWEEP_BASELINE_OBJECTS
// (objects the sequential sweep takes, default all: about 90 s at 10,000; fewer makes its rate an
// extrapolation from a sample, and the output says so), BENCH_SWEEP_ITEMS (default 8),
// BENCH_SWEEP_LATENCY_MS (default 2).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SWEEP_NODE_OPTIONS as DEPLOYED_SWEEP_NODE_OPTIONS, PROJECT_ROOT } from '../infra/bundling.ts';
import { generateWebhookSecret } from '../shared/signing/index.ts';
import { bundleFunction } from './lib/bundle.ts';
import { knob } from './lib/knobs.ts';
import { processCpuSeconds, runChild, startGatewayProcess } from './lib/processes.ts';
import { fmt, median, mib } from './lib/stats.ts';
import type { ReceiverProcess } from './lib/sweep-peers.ts';
import { remainingObjects, startReceiverProcess } from './lib/sweep-peers.ts';
import type { SweepMode, SweepRunResult } from './lib/sweep-runner.ts';

const OBJECTS = knob('BENCH_SWEEP_OBJECTS', 10_000, 100, 100_000);
const SMALL = knob('BENCH_SWEEP_SMALL', 1_000, 10, OBJECTS);
const BASELINE = knob('BENCH_SWEEP_BASELINE_OBJECTS', OBJECTS, 10, OBJECTS);
const ROUNDS = knob('BENCH_SWEEP_ROUNDS', 3, 1, 10);
const ITEMS = knob('BENCH_SWEEP_ITEMS', 8, 1, 1000);
const LATENCY_MS = knob('BENCH_SWEEP_LATENCY_MS', 2, 0, 100);
/** One sweep may take this long before it counts as a failure. */
const RUN_TIMEOUT_MS = 300_000;
const TARGET_RATIO = 10;
const TARGET_RSS_BYTES = 200 * 2 ** 20;
/** Peak RSS counts as flat when the larger sweep's is within this factor of the smaller's. */
const FLAT_WITHIN = 1.15;

/** USAGE_WEBHOOK_SECRET of the sweeps and the receiver. */
const SECRET = generateWebhookSecret();

const log = (line: string) => process.stderr.write(`sweep: ${line}\n`);

interface Run {
  readonly mode: SweepMode;
  /** Objects seeded in the gateway. */
  readonly seeded: number;
  readonly result: SweepRunResult;
  readonly gatewayCpuSeconds: number;
  readonly receiverCpuSeconds: number;
}

const failures: string[] = [];
let handlerBundle = '';
/** NODE_OPTIONS of the sweeping process: the collect-usage function's own (infra), overridable. */
const SWEEP_NODE_OPTIONS = process.env.BENCH_SWEEP_NODE_OPTIONS ?? DEPLOYED_SWEEP_NODE_OPTIONS;

async function measure(
  mode: SweepMode,
  seeded: number,
  take: number,
  receiver: ReceiverProcess,
): Promise<Run> {
  log(`${mode}: starting the emulator (--latency-ms ${LATENCY_MS}, ${fmt(seeded)} objects × ${ITEMS} items)`);
  const gateway = await startGatewayProcess({
    latencyMs: LATENCY_MS,
    usageObjects: seeded,
    usageItems: ITEMS,
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-sweep-'));
  try {
    await receiver.reset();
    const gatewayCpu = processCpuSeconds(gateway.pid);
    const receiverCpu = processCpuSeconds(receiver.pid);
    log(`${mode}: sweeping ${fmt(take)} of them`);
    const result = (await runChild(
      'bench/lib/sweep-runner.ts',
      {
        SWEEP_MODE: mode,
        SWEEP_HANDLER: handlerBundle,
        ...(process.env.SWEEP_TRACE_MEMORY === undefined
          ? {}
          : { SWEEP_TRACE_MEMORY: process.env.SWEEP_TRACE_MEMORY }),
        ...(mode === 'sweep' && SWEEP_NODE_OPTIONS !== '' ? { NODE_OPTIONS: SWEEP_NODE_OPTIONS } : {}),
        ...(take < seeded ? { SWEEP_LIMIT: String(take) } : {}),
        OSTOR_GATEWAY_URL: gateway.url,
        OSTOR_ACCESS_KEY_ID: gateway.accessKeyId,
        OSTOR_SECRET_ACCESS_KEY: gateway.secretAccessKey,
        USAGE_WEBHOOK_URL: receiver.url,
        USAGE_WEBHOOK_SECRET: SECRET,
        DATA_DIR: dataDir,
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
      RUN_TIMEOUT_MS,
    )) as SweepRunResult;
    const run: Run = {
      mode,
      seeded,
      result,
      gatewayCpuSeconds: processCpuSeconds(gateway.pid) - gatewayCpu,
      receiverCpuSeconds: processCpuSeconds(receiver.pid) - receiverCpu,
    };
    // Every object taken delivered once, acknowledged, deleted; the rest still there.
    const stats = await receiver.stats();
    const left = await remainingObjects(gateway);
    const problems = [
      result.objects !== take && `read ${result.objects} objects, expected ${take}`,
      result.delivered !== take && `delivered ${result.delivered}`,
      result.deleted !== take && `deleted ${result.deleted}`,
      result.failed !== 0 && `${result.failed} failed or skipped`,
      stats.collected !== take && `the receiver acknowledged ${stats.collected} usage messages`,
      stats.duplicates !== 0 && `the receiver got ${stats.duplicates} duplicate webhook-ids`,
      stats.unauthorized !== 0 && `the receiver refused ${stats.unauthorized} signatures`,
      stats.records !== result.records && `records: ${stats.records} received, ${result.records} sent`,
      left !== seeded - take && `the gateway still lists ${left} objects, expected ${seeded - take}`,
    ].filter((problem): problem is string => typeof problem === 'string');
    for (const problem of problems) failures.push(`${mode} over ${fmt(seeded)}: ${problem}`);
    log(
      `${mode}: ${fmt(result.objects / result.seconds)} objects/s, ${fmt(result.seconds, 1)} s, ${fmt(
        cpuMicros(run),
      )} µs CPU/object, peak RSS ${mib(result.peakRssBytes)}${problems.length > 0 ? `; WRONG: ${problems.join('; ')}` : ''}`,
    );
    return run;
  } finally {
    await gateway.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const rate = (run: Run) => run.result.objects / run.result.seconds;
const cpuMicros = (run: Run) => (run.result.cpuUserMicros + run.result.cpuSystemMicros) / run.result.objects;
const peerMicros = (seconds: number, run: Run) => (seconds * 1e6) / run.result.objects;
const medianOf = (runs: readonly Run[], f: (run: Run) => number) => median(runs.map(f));
const rangeOf = (runs: readonly Run[], f: (run: Run) => number, format: (n: number) => string) =>
  runs.length > 1 ? `${format(Math.min(...runs.map(f)))}–${format(Math.max(...runs.map(f)))}` : '';

/** The deployed artifact: collect-usage bundled as the stack bundles it (inside node_modules, so
 * the runtime-provided @aws-sdk packages resolve as they would on Lambda). */
const BUNDLE_DIR = join(PROJECT_ROOT, 'node_modules', '.cache', 'bench-sweep');

async function main(): Promise<void> {
  log('bundling collect-usage as the stack does');
  const { file: bundle } = await bundleFunction('collect-usage', BUNDLE_DIR);
  handlerBundle = bundle;
  const receiver = await startReceiverProcess(SECRET, LATENCY_MS);
  const small: Run[] = [];
  const large: Run[] = [];
  let baseline: Run;
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      log(`round ${round}/${ROUNDS}`);
      small.push(await measure('sweep', SMALL, SMALL, receiver));
      large.push(await measure('sweep', OBJECTS, OBJECTS, receiver));
    }
    baseline = await measure('sequential', OBJECTS, BASELINE, receiver);
  } finally {
    await receiver.stop();
  }

  const baselineRate = rate(baseline);
  const largeRate = medianOf(large, rate);
  const ratio = largeRate / baselineRate;
  const sampled = BASELINE < OBJECTS;
  const peakSmall = medianOf(small, (r) => r.result.peakRssBytes);
  const peakLarge = medianOf(large, (r) => r.result.peakRssBytes);
  const peakMax = Math.max(...[...small, ...large].map((r) => r.result.peakRssBytes));
  const rssUnder = peakMax < TARGET_RSS_BYTES;
  const rssFlat = peakLarge <= peakSmall * FLAT_WITHIN;
  const liveSmall = medianOf(small, (r) => r.result.liveHeapBytes);
  const liveLarge = medianOf(large, (r) => r.result.liveHeapBytes);

  const row = (label: string, runs: readonly Run[], objects: string) => {
    const r = (f: (run: Run) => number) => medianOf(runs, f);
    const range = rangeOf(runs, rate, (n) => fmt(n));
    const rssRange = rangeOf(runs, (run) => run.result.peakRssBytes, mib);
    return `| ${label} | ${objects} | ${runs.length} | ${fmt(
      r((run) => run.result.seconds),
      1,
    )} s | **${fmt(
      r(rate),
    )}**${range === '' ? '' : ` (${range})`} | ${fmt(r(rate) / baselineRate, 1)}× | ${fmt(r(cpuMicros))} µs | ${fmt(
      r((run) => peerMicros(run.gatewayCpuSeconds, run)),
    )} / ${fmt(r((run) => peerMicros(run.receiverCpuSeconds, run)))} µs | ${mib(r((run) => run.result.peakRssBytes))}${
      rssRange === '' ? '' : ` (${rssRange})`
    } | ${mib(r((run) => run.result.baselineRssBytes))} | ${mib(r((run) => run.result.liveHeapBytes))} |`;
  };

  const lines = [
    `## Usage sweep: ${fmt(OBJECTS)} statistics objects`,
    '',
    `**Method.** The gateway emulator (\`emulator/main.ts --latency-ms ${LATENCY_MS} --usage-objects N --usage-items ${ITEMS}\`) and a billing receiver (\`bench/lib/sweep-receiver.ts\`: checks each Standard Webhooks signature with the reference \`standardwebhooks\` package, waits ${LATENCY_MS} ms, answers 204) run as processes of their own on 127.0.0.1, so every request to either costs a ${LATENCY_MS} ms round trip on top of its work, as a gateway and a billing system on the LAN would. Each sweep runs in a fresh Node 24 process against a freshly started emulator seeded with the same objects (same generator, same seed: the ${fmt(SMALL)}-object set is the first ${fmt(SMALL)} of the ${fmt(OBJECTS)}), and must leave the gateway empty with the receiver holding one acknowledged message per object, no webhook-id twice, no bad signature (checked after every run). **The sweep** is \`functions/collect-usage/handler.ts\` as deployed — bundled by esbuild with the stack's options (\`infra/bundling.ts\`) — invoked directly (as from the Lambda console, 15-minute budget) with the ordinary local configuration: the runtime's \`OstorClient\` (undici pool of up to 32 keep-alive connections, Signature V2), the SQLite usage ledger in a temporary \`DATA_DIR\` (read, delivered and deleted recorded for every object), the \`WebhookSink\` (keep-alive connections); 32 objects in flight, each read → recorded → delivered → deleted; it also lists users and buckets once (no buckets here, so no storage messages). **The sequential sweep** (\`bench/lib/sweep-sequential.ts\`, the vendor scripts' way) lists every page, then for each object GETs it, POSTs its message to the receiver and DELETEs it, one request at a time, each on a new TCP connection; per object it parses, aggregates, builds and signs exactly as the sweep does, but keeps no ledger, so it is if anything flattered.${
      sampled
        ? ` It ran on a sample: **its rate is extrapolated from the first ${fmt(BASELINE)} of the ${fmt(OBJECTS)} objects** (it makes the same three requests per object whatever the count, so a per-object rate compares fairly).`
        : ''
    } The sweep ran ${ROUNDS} times at each size (medians, range in brackets), the sequential sweep once. Time and CPU (\`process.cpuUsage\`, user + system, per object) cover the sweep only, from just before its first request to its result (module loading excluded); gateway and receiver CPU are their processes' own, from \`/proc\`. Peak RSS is the sweeping process's high-water mark (\`VmHWM\`); beside it, its RSS just before the sweep and its V8 heap in use after a full GC at the end (what the sweep still holds). All processes share the machine's cores.`,
    '',
    '| sweep | objects | runs | time | objects/s | vs sequential | CPU/object | gateway / receiver CPU per object | peak RSS | RSS before | heap after GC |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    row('collect-usage', small, fmt(SMALL)),
    row('collect-usage', large, fmt(OBJECTS)),
    row(
      'sequential, a new connection per request',
      [baseline],
      sampled ? `${fmt(BASELINE)} (sample of ${fmt(OBJECTS)})` : fmt(OBJECTS),
    ),
    '',
    `**Speed: ${fmt(largeRate)} objects/s over ${fmt(OBJECTS)} statistics objects, ${fmt(ratio, 1)}× the sequential sweep (target ≥ ${TARGET_RATIO}×: ${
      ratio >= TARGET_RATIO ? 'met' : 'missed'
    }). Memory: peak RSS ${mib(peakSmall)} at ${fmt(SMALL)} and ${mib(peakLarge)} at ${fmt(OBJECTS)} objects, highest run ${mib(
      peakMax,
    )} (under 200 MB: ${rssUnder ? 'met' : 'missed'}; flat, taken as within ${fmt((FLAT_WITHIN - 1) * 100)} %: ${
      rssFlat ? 'met' : `missed, +${fmt((peakLarge / peakSmall - 1) * 100)} %`
    }).** The heap the sweep still holds after a GC is ${mib(liveSmall)} at ${fmt(SMALL)} and ${mib(liveLarge)} at ${fmt(
      OBJECTS,
    )} objects: what peak RSS adds with the count is garbage V8 has not yet collected, not state kept per object.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (failures.length > 0) {
    for (const failure of failures) log(`FAILED: ${failure}`);
    process.exitCode = 1;
  }
}

await main();
