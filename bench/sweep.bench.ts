// `npm run bench -- sweep`: the usage sweep (collect-usage) over 1,000, 3,000 and 10,000 statistics
// objects of 8 items, against the gateway emulator and a billing receiver that each add a 2 ms
// round trip and run as processes of their own, versus a sequential sweep with one new connection
// per request (the vendor scripts' way) at 3,000 and at 10,000, in the same run; and the same
// sweep through `npm start` at 3,000; and, as a reference, the sweep's requests alone, without
// its ledger and bookkeeping, at 10,000 (bench/lib/sweep-requests.ts). Every sweep runs in a fresh process
// (bench/lib/sweep-runner.ts, bench/lib/sweep-through-start.ts) so CPU time and peak RSS are its
// own, against a freshly started emulator seeded with the same objects (the sweep deletes them).
// Markdown on stdout, progress on stderr; exits non-zero when a sweep loses, repeats or leaves an
// object.
//
// Knobs: BENCH_SWEEP_OBJECTS (default 10,000), BENCH_SWEEP_MID (default 3,000), BENCH_SWEEP_SMALL
// (the smallest size, for peak RSS, default 1,000), BENCH_SWEEP_ROUNDS (sweeps at each size,
// default 3), BENCH_SWEEP_BASELINE_OBJECTS (objects the sequential sweeps take at most, default
// all: about 90 s at 10,000; fewer makes their rate an extrapolation from a sample, and the output
// says so), BENCH_SWEEP_ITEMS (default 8), BENCH_SWEEP_LATENCY_MS (default 2).
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
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
import { sweepThroughStart } from './lib/sweep-through-start.ts';

const OBJECTS = knob('BENCH_SWEEP_OBJECTS', 10_000, 100, 100_000);
const MID = knob('BENCH_SWEEP_MID', 3_000, 10, OBJECTS);
const SMALL = knob('BENCH_SWEEP_SMALL', 1_000, 10, MID);
const BASELINE = knob('BENCH_SWEEP_BASELINE_OBJECTS', OBJECTS, 10, OBJECTS);
const ROUNDS = knob('BENCH_SWEEP_ROUNDS', 3, 1, 10);
const ITEMS = knob('BENCH_SWEEP_ITEMS', 8, 1, 1000);
const LATENCY_MS = knob('BENCH_SWEEP_LATENCY_MS', 2, 0, 100);
/** One sweep may take this long before it counts as a failure. */
const RUN_TIMEOUT_MS = 300_000;
const TARGET_RATIO = 12;
const TARGET_RSS_BYTES = 150 * 2 ** 20;
/** Sweep CPU per object at the largest size, microseconds. */
const TARGET_CPU_MICROS = 300;
/** Peak RSS counts as flat when the larger sweep's is within this factor of the smaller's. */
const FLAT_WITHIN = 1.15;

/** USAGE_WEBHOOK_SECRET of the sweeps and the receiver. */
const SECRET = generateWebhookSecret();

const log = (line: string) => process.stderr.write(`sweep: ${line}\n`);

interface Run {
  readonly mode: SweepMode;
  /** The bundled function invoked directly, or `npm start` asked over HTTP. */
  readonly via: 'function' | 'npm start';
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
  via: Run['via'] = 'function',
): Promise<Run> {
  const label = via === 'npm start' ? 'npm start' : mode;
  log(
    `${label}: starting the emulator (--latency-ms ${LATENCY_MS}, ${fmt(seeded)} objects × ${ITEMS} items)`,
  );
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
    log(`${label}: sweeping ${fmt(take)} of them`);
    const result =
      via === 'npm start'
        ? await sweepThroughStart(gateway, receiver, SECRET)
        : ((await runChild(
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
          )) as SweepRunResult);
    const run: Run = {
      mode,
      via,
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
    for (const problem of problems) failures.push(`${label} over ${fmt(seeded)}: ${problem}`);
    log(
      `${label}: ${fmt(result.objects / result.seconds)} objects/s, ${fmt(result.seconds, 1)} s, ${fmt(
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
  const loadAtStart = loadavg()[0] ?? Number.NaN;
  const sizes = [...new Set([SMALL, MID, OBJECTS])];
  const sweeps = new Map<number, Run[]>(sizes.map((size) => [size, []]));
  const baselines = new Map<number, Run>();
  const started: Run[] = [];
  const alone: Run[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      log(`round ${round}/${ROUNDS}`);
      for (const size of sizes) sweeps.get(size)?.push(await measure('sweep', size, size, receiver));
      started.push(await measure('sweep', MID, MID, receiver, 'npm start'));
      alone.push(await measure('requests', OBJECTS, OBJECTS, receiver));
    }
    for (const size of [...new Set([MID, OBJECTS])]) {
      baselines.set(size, await measure('sequential', size, Math.min(BASELINE, size), receiver));
    }
  } finally {
    await receiver.stop();
  }
  const loadAtEnd = loadavg()[0] ?? Number.NaN;

  const runsAt = (size: number): Run[] => sweeps.get(size) ?? [];
  /** The sequential sweep of the same size, or the nearest one measured (its rate per object is flat). */
  const baselineFor = (size: number): Run => {
    const exact = baselines.get(size);
    if (exact !== undefined) return exact;
    return baselines.get(MID) ?? (baselines.values().next().value as Run);
  };
  const ratioAt = (runs: readonly Run[], size: number) => medianOf(runs, rate) / rate(baselineFor(size));
  const sampled = [...baselines.values()].some((run) => run.result.objects < run.seeded);
  const all = [...sweeps.values()].flat();
  const peakMax = Math.max(...all.map((r) => r.result.peakRssBytes));
  const peakSmall = medianOf(runsAt(SMALL), (r) => r.result.peakRssBytes);
  const peakLarge = medianOf(runsAt(OBJECTS), (r) => r.result.peakRssBytes);
  const rssUnder = peakMax <= TARGET_RSS_BYTES;
  const rssFlat = peakLarge <= peakSmall * FLAT_WITHIN;
  const cpuLarge = medianOf(runsAt(OBJECTS), cpuMicros);
  const cpuAlone = medianOf(alone, cpuMicros);
  const ratioMid = ratioAt(runsAt(MID), MID);
  const ratioLarge = ratioAt(runsAt(OBJECTS), OBJECTS);
  const verdict = (met: boolean) => (met ? 'met' : '**missed**');

  const row = (label: string, runs: readonly Run[], objects: string, baselineRate: number) => {
    const r = (f: (run: Run) => number) => medianOf(runs, f);
    const range = rangeOf(runs, rate, (n) => fmt(n));
    const rssRange = rangeOf(runs, (run) => run.result.peakRssBytes, mib);
    const heap = r((run) => run.result.liveHeapBytes);
    return `| ${label} | ${objects} | ${runs.length} | ${fmt(
      r((run) => run.result.seconds),
      1,
    )} s | **${fmt(
      r(rate),
    )}**${range === '' ? '' : ` (${range})`} | ${fmt(r(rate) / baselineRate, 1)}× | ${fmt(r(cpuMicros))} µs | ${fmt(
      r((run) => peerMicros(run.gatewayCpuSeconds, run)),
    )} / ${fmt(r((run) => peerMicros(run.receiverCpuSeconds, run)))} µs | ${mib(r((run) => run.result.peakRssBytes))}${
      rssRange === '' ? '' : ` (${rssRange})`
    } | ${mib(r((run) => run.result.baselineRssBytes))} | ${Number.isNaN(heap) ? '–' : mib(heap)} |`;
  };
  const sweepRow = (size: number) =>
    row('collect-usage (bundled function)', runsAt(size), fmt(size), rate(baselineFor(size)));
  const baselineRow = (size: number, run: Run) =>
    row(
      'sequential, a new connection per request',
      [run],
      run.result.objects < run.seeded ? `${fmt(run.result.objects)} (sample of ${fmt(size)})` : fmt(size),
      rate(run),
    );

  const lines = [
    `## Usage sweep: ${sizes.map((n) => fmt(n)).join(', ')} statistics objects`,
    '',
    `**Method.** The gateway emulator (\`emulator/main.ts --latency-ms ${LATENCY_MS} --usage-objects N --usage-items ${ITEMS}\`) and a billing receiver (\`bench/lib/sweep-receiver.ts\`: checks each Standard Webhooks signature with the reference \`standardwebhooks\` package, waits ${LATENCY_MS} ms, answers 204) run as processes of their own on 127.0.0.1, so every request to either costs a ${LATENCY_MS} ms round trip on top of its work, as a gateway and a billing system on the LAN would. Each sweep runs in a fresh Node 24 process against a freshly started emulator seeded with the same objects (same generator, same seed: each smaller set is the first objects of the ${fmt(OBJECTS)}), and must leave the gateway empty with the receiver holding one acknowledged message per object, no webhook-id twice, no bad signature (checked after every run). **The sweep** is \`functions/collect-usage/handler.ts\` as deployed — bundled by esbuild with the stack's options (\`infra/bundling.ts\`), run with the function's NODE_OPTIONS (\`${SWEEP_NODE_OPTIONS}\`) — invoked directly (as from the Lambda console, 15-minute budget) with the ordinary local configuration: the runtime's \`OstorClient\` (undici pool of up to 32 keep-alive connections, Signature V2, each answer collected whole by a dispatch handler), the SQLite usage ledger in a temporary \`DATA_DIR\` (read, delivered and deleted recorded for every object; every write the objects in flight ask for in one turn of the event loop goes into one transaction), the \`WebhookSink\` (keep-alive connections); 32 objects in flight, each read → recorded → delivered → deleted; it also lists users and buckets once (no buckets here, so no storage messages). **Through npm start**: \`local/start.ts\` as its own process in local mode (the same SQLite ledger and sink, the TypeScript sources as \`npm start\` runs them), the sweep asked for with one signed \`POST /collect-usage\`; time is the request's, CPU and peak RSS the npm start process's, and they include the function's first-call import. **The requests alone** (\`bench/lib/sweep-requests.ts\`, a reference, not a way to sweep): the sweep's three requests per object over the same pools, 32 objects in flight, each signed and each message parsed, hashed, aggregated and built by the sweep's own functions, but no ledger, lease, retries, deadlines or tallies; the listing is not timed. Its CPU per object is what the requests themselves cost on this machine. **The sequential sweep** (\`bench/lib/sweep-sequential.ts\`, the vendor scripts' way) lists every page, then for each object GETs it, POSTs its message to the receiver and DELETEs it, one request at a time, each on a new TCP connection; per object it parses, aggregates, builds and signs exactly as the sweep does, but keeps no ledger, so it is if anything flattered. It ran once at ${[...baselines.keys()].map((n) => fmt(n)).join(' and ')} objects; each sweep is compared with the sequential sweep of its own size (the 1,000-object row with the ${fmt(MID)}).${
      sampled
        ? ` Some ran on a sample: **their rate is extrapolated from the first objects of the listing** (the same three requests per object whatever the count, so a per-object rate compares fairly).`
        : ''
    } The sweeps ran ${ROUNDS} times at each size (medians, range in brackets). Time and CPU (\`process.cpuUsage\`, user + system, per object) cover the sweep only, from just before its first request to its result (module loading excluded, except through npm start); gateway and receiver CPU are their processes' own, from \`/proc\`. Peak RSS is the sweeping process's high-water mark (\`VmHWM\`); beside it, its RSS just before the sweep and its V8 heap in use after a full GC at the end (what the sweep still holds). All processes share the machine's cores; the machine's load average (1 minute) was ${fmt(loadAtStart, 1)} when the runs began and ${fmt(loadAtEnd, 1)} when they ended, on ${cpus().length} cores (work of other processes inflates time and CPU alike).`,
    '',
    '| sweep | objects | runs | time | objects/s | vs sequential | CPU/object | gateway / receiver CPU per object | peak RSS | RSS before | heap after GC |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...sizes.map(sweepRow),
    row('collect-usage through npm start', started, fmt(MID), rate(baselineFor(MID))),
    row('reference: the sweep’s requests alone', alone, fmt(OBJECTS), rate(baselineFor(OBJECTS))),
    ...[...baselines.entries()].map(([size, run]) => baselineRow(size, run)),
    '',
    `**Targets.** Speed: ${fmt(medianOf(runsAt(MID), rate))} objects/s at ${fmt(MID)} objects, ${fmt(ratioMid, 1)}× the sequential sweep, and ${fmt(medianOf(runsAt(OBJECTS), rate))} objects/s at ${fmt(OBJECTS)}, ${fmt(ratioLarge, 1)}× (target ≥ ${TARGET_RATIO}× at both: ${verdict(ratioMid >= TARGET_RATIO)} at ${fmt(MID)}, ${verdict(ratioLarge >= TARGET_RATIO)} at ${fmt(OBJECTS)}). CPU: ${fmt(cpuLarge)} µs per object at ${fmt(OBJECTS)} (target ≤ ${TARGET_CPU_MICROS} µs: ${verdict(cpuLarge <= TARGET_CPU_MICROS)}); the same three requests per object alone cost ${fmt(cpuAlone)} µs in the same rounds, so the ledger and the sweep's bookkeeping add ${fmt(cpuLarge - cpuAlone)} µs. Memory: peak RSS ${mib(peakSmall)} at ${fmt(SMALL)} and ${mib(peakLarge)} at ${fmt(OBJECTS)} objects, highest run ${mib(peakMax)} (≤ ${mib(TARGET_RSS_BYTES)}: ${verdict(rssUnder)}; flat, taken as within ${fmt((FLAT_WITHIN - 1) * 100)} %: ${
      rssFlat ? 'met' : `**missed**, +${fmt((peakLarge / peakSmall - 1) * 100)} %`
    }). Through npm start: ${fmt(medianOf(started, rate))} objects/s at ${fmt(MID)} objects, ${fmt(ratioAt(started, MID), 1)}× the sequential sweep, ${fmt(medianOf(started, cpuMicros))} µs of CPU per object, peak RSS ${mib(medianOf(started, (r) => r.result.peakRssBytes))}.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (failures.length > 0) {
    for (const failure of failures) log(`FAILED: ${failure}`);
    process.exitCode = 1;
  }
}

await main();
