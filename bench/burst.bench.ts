// `npm run bench -- burst`: 500 signed webhooks through `npm start`, a quarter of them redeliveries,
// half sent one at a time and half 50 at a time; per-request latency, status counts, and a check
// through the gateway's admin API that each distinct event had exactly one side effect. The
// gateway emulator (2 ms per answer) and `npm start` each run in their own process; this process
// only signs, sends, measures and checks. Markdown on stdout, progress on stderr; exit 1 when a
// side effect is missing or duplicated or an answer is wrong.
//
// Knobs: BENCH_BURST_WEBHOOKS (default 500), BENCH_BURST_CONCURRENCY (default 50).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { Pool } from 'undici';
import type { UserSummary } from '../shared/ostor/index.ts';
import { OstorClient } from '../shared/ostor/index.ts';
import { generateWebhookSecret } from '../shared/signing/index.ts';
import { knob } from './lib/knobs.ts';
import type { GatewayProcess, ServerProcess } from './lib/processes.ts';
import { processCpuSeconds, startGatewayProcess, startServerProcess } from './lib/processes.ts';
import { fmt, percentile } from './lib/stats.ts';
import type { Delivery, EventType, Half, Outcome } from './lib/webhook-burst.ts';
import {
  deliver,
  gatewayRequestNumber,
  inParallel,
  lifecycle,
  planBurst,
  WAVES,
} from './lib/webhook-burst.ts';

const TOTAL = knob('BENCH_BURST_WEBHOOKS', 500, 40, 5_000);
const CONCURRENCY = knob('BENCH_BURST_CONCURRENCY', 50, 2, 200);
const LATENCY_MS = 2;
const REQUEST_TIMEOUT_MS = 30_000;
const DEADLINE = Date.now() + 10 * 60_000;

const log = (line: string) => process.stderr.write(`burst: ${line}\n`);

/** What the bench found wrong; any entry fails the run. */
const failures: string[] = [];
function fail(message: string): void {
  failures.push(message);
  log(`FAIL ${message}`);
}

interface Peers {
  readonly gateway: GatewayProcess;
  readonly server: ServerProcess;
  readonly serverPool: Pool;
  readonly gatewayPool: Pool;
  readonly admin: OstorClient;
  readonly webhook: Webhook;
}

// --- sending --------------------------------------------------------------------------------

async function send(peers: Peers, delivery: Delivery): Promise<Omit<Outcome, 'gatewayCalls'>> {
  if (Date.now() > DEADLINE) throw new Error('the benchmark ran past its deadline');
  return deliver(peers.serverPool, peers.webhook, delivery, REQUEST_TIMEOUT_MS);
}

/** One at a time, reading the gateway's request counter around each delivery. */
async function sendOneByOne(peers: Peers, deliveries: readonly Delivery[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const delivery of deliveries) {
    const before = await gatewayRequestNumber(peers.gatewayPool);
    const outcome = await send(peers, delivery);
    const after = await gatewayRequestNumber(peers.gatewayPool);
    outcomes.push({ ...outcome, gatewayCalls: after - before - 1 });
  }
  return outcomes;
}

interface WaveRun {
  readonly outcomes: Outcome[];
  /** Gateway requests the server made during the whole wave. */
  readonly gatewayCalls: number;
  readonly wallMs: number;
}

async function sendConcurrently(peers: Peers, deliveries: readonly Delivery[]): Promise<WaveRun> {
  const before = await gatewayRequestNumber(peers.gatewayPool);
  const started = performance.now();
  const outcomes = await inParallel(deliveries, CONCURRENCY, (delivery) => send(peers, delivery));
  const wallMs = performance.now() - started;
  const after = await gatewayRequestNumber(peers.gatewayPool);
  return { outcomes, gatewayCalls: after - before - 1, wallMs };
}

// --- checking -------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function json(outcome: Outcome): Json {
  try {
    return JSON.parse(outcome.text) as Json;
  } catch {
    return {};
  }
}

const isInProgress = (outcome: Outcome) =>
  outcome.status === 409 && (json(outcome).error as Json | undefined)?.reason === 'in_progress';

/** The 200 answer of every distinct event, by webhook-id. */
const answers = new Map<string, Outcome>();
/** The key pair provision answered, by email. */
const firstKey = new Map<string, string>();

interface WaveCheck {
  readonly type: EventType;
  events: number;
  redeliveries: number;
  confirmed: number;
}
const waveChecks = new Map<EventType, WaveCheck>(
  WAVES.map((type) => [type, { type, events: 0, redeliveries: 0, confirmed: 0 }]),
);

/**
 * Checks one wave. The deliveries of one webhook-id are one event, whichever of them ran it (a
 * redelivery in flight with its original may overtake it, and then the original is the one told
 * `in_progress`): each delivery is answered 200 or 409 `in_progress`, every 200 carries the same
 * answer byte for byte, and at least one 200 came (`resent` holds the in_progress ones sent
 * again). Then the gateway's state, read through its admin API, must show the event's one effect.
 */
async function checkWave(
  peers: Peers,
  type: EventType,
  outcomes: readonly Outcome[],
  resent: readonly Outcome[],
  counted = true,
): Promise<void> {
  const tally = counted
    ? (waveChecks.get(type) as WaveCheck)
    : { type, events: 0, redeliveries: 0, confirmed: 0 };
  const events = new Map<string, Outcome[]>();
  for (const outcome of outcomes) {
    events.set(outcome.delivery.id, [...(events.get(outcome.delivery.id) ?? []), outcome]);
    if (outcome.delivery.original === undefined) tally.events += 1;
    else tally.redeliveries += 1;
  }
  const effects: Outcome[] = [];
  for (const [id, deliveries] of events) {
    const all = [...deliveries, ...resent.filter((o) => o.delivery.id === id)];
    const email = all[0]?.delivery.email ?? '?';
    for (const outcome of all) {
      if (outcome.status !== 200 && !isInProgress(outcome)) {
        fail(`${type} ${email}: answered ${outcome.status} ${outcome.text.slice(0, 300)}`);
      }
    }
    const ok = all.filter((o) => o.status === 200);
    const answer = ok[0];
    if (answer === undefined) {
      fail(`${type} ${email}: no delivery of webhook-id ${id} was answered 200`);
      continue;
    }
    if (ok.some((o) => o.text !== answer.text)) {
      fail(`${type} ${email}: deliveries of one webhook-id got different answers (did the event run twice?)`);
    }
    answers.set(id, answer);
    effects.push(answer);
  }

  const users = await peers.admin.listUsers();
  const byEmail = new Map<string, UserSummary[]>();
  for (const user of users) byEmail.set(user.email, [...(byEmail.get(user.email) ?? []), user]);
  await inParallel(effects, 8, async (outcome) => {
    const { email } = outcome.delivery;
    const answer = json(outcome);
    const found = byEmail.get(email) ?? [];
    if (found.length !== 1) {
      fail(`${type} ${email}: the gateway holds ${found.length} users with this email, expected 1`);
      return;
    }
    const user = found[0] as UserSummary;
    let ok = answer.userId === user.userId;
    if (type === 'provision' || type === 'rotate-key') {
      const keys = (await peers.admin.getUser({ userId: user.userId })).accessKeys.map((k) => k.accessKeyId);
      if (type === 'provision') {
        const given = (answer.accessKeys as { accessKeyId: string }[] | undefined) ?? [];
        const key = given[0]?.accessKeyId;
        if (key !== undefined) firstKey.set(email, key);
        ok &&= answer.created === true && given.length === 1 && keys.length === 1 && keys[0] === key;
        if (!ok)
          fail(`provision ${email}: keys on the gateway ${JSON.stringify(keys)}, answer ${outcome.text}`);
      } else {
        // keepPrevious with one key: exactly one new pair beside provision's; a second run would
        // have revoked provision's pair and added another, none would leave provision's alone.
        const expected = [firstKey.get(email), answer.accessKeyId];
        ok &&= JSON.stringify(keys) === JSON.stringify(expected);
        ok &&= Array.isArray(answer.revokedAccessKeyIds) && answer.revokedAccessKeyIds.length === 0;
        if (!ok) {
          fail(
            `rotate-key ${email}: keys on the gateway ${JSON.stringify(keys)}, expected ${JSON.stringify(expected)}`,
          );
        }
      }
    } else {
      const wanted = type === 'suspend' ? 'disabled' : 'enabled';
      ok &&= user.state === wanted && answer.state === wanted && answer.skipped === undefined;
      if (!ok) fail(`${type} ${email}: the gateway says ${user.state}, the answer ${outcome.text}`);
    }
    if (ok) tally.confirmed += 1;
  });
}

/**
 * Sends again every delivery of `outcomes` answered 409 `in_progress`, as the billing system's
 * retry would once the first one has finished; these must not touch the gateway.
 */
async function resendInProgress(peers: Peers, outcomes: readonly Outcome[]): Promise<Outcome[]> {
  const pending = outcomes.filter(isInProgress);
  if (pending.length === 0) return [];
  const before = await gatewayRequestNumber(peers.gatewayPool);
  const resent = await inParallel(pending, CONCURRENCY, (o) => send(peers, o.delivery));
  const calls = (await gatewayRequestNumber(peers.gatewayPool)) - before - 1;
  if (calls !== 0)
    fail(`${pending.length} in_progress deliveries, sent again, made ${calls} gateway requests`);
  resentCalls += calls;
  return resent;
}
let resentCalls = 0;

// --- the run --------------------------------------------------------------------------------

interface Measured {
  readonly outcomes: Record<Half, Outcome[]>;
  readonly warmup: Outcome[];
  /** Concurrent waves: gateway requests made versus expected from the one-by-one half. */
  readonly waveCalls: { type: EventType; made: number; expected: number }[];
  readonly concurrentWallMs: number;
  /** CPU time of the `npm start` process while each half was being sent (from /proc). */
  readonly serverCpuSeconds: Record<Half, number>;
  /** The deliveries answered in_progress, sent again after their wave (not among the burst's). */
  readonly resent: Outcome[];
  readonly callsPerEvent: Map<EventType, Set<number>>;
  readonly users: number;
}

async function run(peers: Peers, runId: string): Promise<Measured> {
  const plan = planBurst(TOTAL, runId);
  log(
    `${TOTAL} deliveries: ${plan.distinct} distinct events for ${plan.emails.sequential.length + plan.emails.concurrent.length} users, ${plan.duplicates} redeliveries`,
  );

  // Warm-up, not counted: one user's four events, so the first call of each function (its module
  // import, the first gateway connection) is reported apart from the burst.
  const warmup: Outcome[] = [];
  for (const delivery of lifecycle(
    'sequential',
    `burst-${runId}-warmup@example.com`,
    Date.now() - 7_200_000,
  )) {
    const outcomes = await sendOneByOne(peers, [delivery]);
    await checkWave(peers, delivery.type, outcomes, [], false);
    warmup.push(...outcomes);
  }
  log(`warm-up: ${warmup.map((o) => `${o.delivery.type} ${fmt(o.ms)} ms`).join(', ')}`);

  const outcomes: Record<Half, Outcome[]> = { sequential: [], concurrent: [] };
  const serverCpuSeconds: Record<Half, number> = { sequential: 0, concurrent: 0 };
  const resent: Outcome[] = [];
  const callsPerEvent = new Map<EventType, Set<number>>(WAVES.map((type) => [type, new Set<number>()]));
  for (const [step, type] of WAVES.entries()) {
    const wave = plan.waves.sequential[step] ?? [];
    log(`one at a time: ${type} wave, ${wave.length} deliveries`);
    const cpu = processCpuSeconds(peers.server.pid);
    const done = await sendOneByOne(peers, wave);
    serverCpuSeconds.sequential += processCpuSeconds(peers.server.pid) - cpu;
    for (const outcome of done) {
      if (outcome.delivery.original !== undefined && outcome.gatewayCalls !== 0) {
        fail(`${type} ${outcome.delivery.email}: a redelivery made ${outcome.gatewayCalls} gateway requests`);
      }
      if (outcome.delivery.original === undefined) callsPerEvent.get(type)?.add(outcome.gatewayCalls ?? -1);
    }
    const again = await resendInProgress(peers, done);
    await checkWave(peers, type, done, again);
    outcomes.sequential.push(...done);
    resent.push(...again);
  }

  const waveCalls: Measured['waveCalls'] = [];
  let concurrentWallMs = 0;
  for (const [step, type] of WAVES.entries()) {
    const wave = plan.waves.concurrent[step] ?? [];
    log(`${CONCURRENCY} at a time: ${type} wave, ${wave.length} deliveries`);
    const cpu = processCpuSeconds(peers.server.pid);
    const done = await sendConcurrently(peers, wave);
    serverCpuSeconds.concurrent += processCpuSeconds(peers.server.pid) - cpu;
    concurrentWallMs += done.wallMs;
    const perEvent = [...(callsPerEvent.get(type) ?? [])];
    const events = wave.filter((d) => d.original === undefined).length;
    const expected = perEvent.length === 1 ? (perEvent[0] as number) * events : Number.NaN;
    waveCalls.push({ type, made: done.gatewayCalls, expected });
    if (done.gatewayCalls !== expected) {
      fail(`concurrent ${type} wave: ${done.gatewayCalls} gateway requests, expected ${expected}`);
    }
    const again = await resendInProgress(peers, done.outcomes);
    await checkWave(peers, type, done.outcomes, again);
    outcomes.concurrent.push(...done.outcomes);
    resent.push(...again);
  }

  // Nobody else: the system user, the warm-up user and one user per email of the plan.
  const planned = plan.emails.sequential.length + plan.emails.concurrent.length;
  const users = await peers.admin.listUsers();
  if (users.length !== planned + 2) fail(`the gateway holds ${users.length} users, expected ${planned + 2}`);

  return {
    outcomes,
    warmup,
    waveCalls,
    concurrentWallMs,
    serverCpuSeconds,
    resent,
    callsPerEvent,
    users: planned,
  };
}

// --- the report -----------------------------------------------------------------------------

/** Throughput only where it means something: a whole half (one at a time: per second of latency). */
function latencyRow(
  label: string,
  outcomes: readonly Outcome[],
  throughput: 'sum' | number | 'none',
  serverCpuSeconds?: number,
): string {
  const ms = outcomes.map((o) => o.ms);
  const seconds = (throughput === 'sum' ? ms.reduce((a, b) => a + b, 0) : Number(throughput)) / 1000;
  const cpu = serverCpuSeconds === undefined ? '' : fmt((serverCpuSeconds * 1000) / outcomes.length, 2);
  return `| ${label} | ${outcomes.length} | ${fmt(percentile(ms, 50), 1)} | ${fmt(percentile(ms, 95), 1)} | ${fmt(
    percentile(ms, 99),
    1,
  )} | ${fmt(Math.max(...ms), 1)} | ${throughput === 'none' ? '' : fmt(outcomes.length / seconds)} | ${cpu} |`;
}

function statusRow(label: string, outcomes: readonly Outcome[]): string {
  const other = outcomes.filter((o) => o.status !== 200 && !isInProgress(o));
  const statuses = [...new Set(other.map((o) => o.status))].join(', ');
  return `| ${label} | ${outcomes.length} | ${outcomes.filter((o) => o.status === 200).length} | ${
    outcomes.filter(isInProgress).length
  } | ${other.length}${statuses === '' ? '' : ` (${statuses})`} |`;
}

function report(measured: Measured, serverOutput: string, secretShown: boolean): string {
  const { outcomes, warmup, resent } = measured;
  const all = [...outcomes.sequential, ...outcomes.concurrent];
  const firstOf = (list: readonly Outcome[]) => list.filter((o) => o.delivery.original === undefined);
  const againOf = (list: readonly Outcome[]) => list.filter((o) => o.delivery.original !== undefined);
  const perEvent = WAVES.map(
    (type) => `${type} ${[...(measured.callsPerEvent.get(type) ?? [])].join('/')}`,
  ).join(', ');
  const overtaken = firstOf(outcomes.concurrent).filter(isInProgress).length;
  const resentOk = resent.filter(
    (o) => o.status === 200 && answers.get(o.delivery.id)?.text === o.text,
  ).length;
  const distinct = all.length - againOf(all).length;
  const ms = all.map((o) => o.ms);

  const lines = [
    '## Webhook burst through npm start',
    '',
    `\`npm start\` (local/start.ts as a child process: a fresh DATA_DIR under \`${tmpdir()}\`, PORT=0, sweep off, a generated WEBHOOK_SECRET) in front of the gateway emulator in a third process (\`emulator/main.ts --latency-ms ${LATENCY_MS}\`, Signature V2); this process only signs, sends, measures and checks. ${fmt(TOTAL)} webhooks, signed at send time with the reference \`standardwebhooks\` package: ${distinct} distinct events — each of ${measured.users} users is provisioned, suspended, given a new key (\`rotate-key\` with \`keepPrevious: true\`) and resumed, in four waves, envelope timestamps a minute apart — and ${againOf(all).length} redeliveries (same \`webhook-id\`, byte-identical body) spread evenly over the waves, half right behind their original, half at the end of the wave. Half the users' events are sent one at a time, the other half's ${CONCURRENCY} at a time (a redelivery right behind its original is then in flight with it). Latency is per request, from the first byte sent to the last byte of the answer read; requests/s is per second of summed latency (one at a time) or of the waves' wall time (concurrent); the server's CPU time (user + system, from \`/proc\`) is taken while each half is sent. A warm-up user's four events go first and are not counted (first call of each function, module import included: ${warmup.map((o) => `${o.delivery.type} ${fmt(o.ms)} ms`).join(', ')}). After each wave the gateway's state is read through its admin API with the system key, and its request counter (the emulator's \`x-amz-request-id\` ends in a sequence number) is read around every one-at-a-time delivery and every concurrent wave. Client, server and emulator share the machine's 2 cores.`,
    '',
    '| requests | count | p50 ms | p95 ms | p99 ms | max ms | requests/s | npm start CPU ms/request |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    latencyRow('one at a time', outcomes.sequential, 'sum', measured.serverCpuSeconds.sequential),
    latencyRow('— first deliveries', firstOf(outcomes.sequential), 'none'),
    latencyRow('— redeliveries', againOf(outcomes.sequential), 'none'),
    latencyRow(
      `${CONCURRENCY} at a time`,
      outcomes.concurrent,
      measured.concurrentWallMs,
      measured.serverCpuSeconds.concurrent,
    ),
    latencyRow('— first deliveries', firstOf(outcomes.concurrent), 'none'),
    latencyRow('— redeliveries', againOf(outcomes.concurrent), 'none'),
    latencyRow(`**all ${all.length}**`, all, 'none'),
    '',
    '| status | sent | 200 | 409 `in_progress` | anything else |',
    '|---|---:|---:|---:|---:|',
    statusRow('one at a time, first deliveries', firstOf(outcomes.sequential)),
    statusRow('one at a time, redeliveries', againOf(outcomes.sequential)),
    statusRow(`${CONCURRENCY} at a time, first deliveries`, firstOf(outcomes.concurrent)),
    statusRow(`${CONCURRENCY} at a time, redeliveries`, againOf(outcomes.concurrent)),
    statusRow(`**all ${all.length}**`, all),
    '',
    `409 \`in_progress\` is the designed answer to a delivery whose webhook-id is still being processed${overtaken > 0 ? ` (${overtaken} first deliver${overtaken === 1 ? 'y was overtaken by its' : 'ies were overtaken by their'} own redelivery, which then ran the event)` : ''}. The ${resent.length} deliveries so answered were sent again once their wave had finished: ${resentOk} answered 200 with the same answer as the other delivery of their webhook-id, byte for byte, making ${resentCalls} gateway requests. Every 200 to a redelivery carried the stored answer byte for byte.`,
    '',
    '| event | distinct | redeliveries | checked on the gateway after its wave | confirmed |',
    '|---|---:|---:|---|---:|',
    ...WAVES.map((type) => {
      const tally = waveChecks.get(type) as WaveCheck;
      const what: Record<EventType, string> = {
        provision: 'exactly one user with the email, holding exactly the one key pair the answer named',
        suspend: 'one user with the email, disabled',
        'rotate-key':
          "keys are exactly [provision's pair, the answer's pair]: one rotation, no more, no fewer",
        resume: 'one user with the email, enabled',
      };
      return `| ${type} | ${tally.events} | ${tally.redeliveries} | ${what[type]} | ${tally.confirmed}/${tally.events} |`;
    }),
    '',
    `Gateway requests per event, one at a time, measured delivery by delivery: ${perEvent}; per redelivery: ${
      againOf(outcomes.sequential).every((o) => o.gatewayCalls === 0) ? '0, every one' : '**not always 0**'
    }. The concurrent waves made ${measured.waveCalls.map((w) => `${w.made}`).join(', ')} gateway requests for ${WAVES.join(', ')}; expected ${measured.waveCalls.map((w) => `${w.expected}`).join(', ')} (events × requests per event). Disable and enable are idempotent on the gateway, so for suspend and resume these counts are what shows each ran once. \`npm start\` logged ${countLogLevels(serverOutput)}${secretShown ? ', **with a secret among it**' : ', and no secret'}.`,
    '',
    failures.length === 0
      ? `**Exactly one gateway side effect per distinct event** (${distinct} events, ${againOf(all).length} redeliveries; no redelivery touched the gateway). p50 ${fmt(percentile(ms, 50), 1)} ms and p99 ${fmt(percentile(ms, 99), 1)} ms over all ${all.length} requests; one at a time p50 ${fmt(
          percentile(
            outcomes.sequential.map((o) => o.ms),
            50,
          ),
          1,
        )} / p99 ${fmt(
          percentile(
            outcomes.sequential.map((o) => o.ms),
            99,
          ),
          1,
        )} ms, ${CONCURRENCY} at a time p50 ${fmt(
          percentile(
            outcomes.concurrent.map((o) => o.ms),
            50,
          ),
          1,
        )} / p99 ${fmt(
          percentile(
            outcomes.concurrent.map((o) => o.ms),
            99,
          ),
          1,
        )} ms.`
      : `**FAILED:** ${failures.length} problem(s): ${failures.slice(0, 5).join('; ')}${failures.length > 5 ? '; …' : ''}`,
  ];
  return lines.join('\n');
}

function countLogLevels(output: string): string {
  const counts = new Map<string, number>();
  for (const line of output.split('\n')) {
    const level = /"level":"(\w+)"/.exec(line)?.[1];
    if (level !== undefined) counts.set(level, (counts.get(level) ?? 0) + 1);
  }
  return [...counts.entries()].map(([level, n]) => `${n} ${level}`).join(', ') || 'no structured lines';
}

// --- main -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const runId = randomBytes(3).toString('hex');
  const dataDir = mkdtempSync(join(tmpdir(), 'vhi-burst-'));
  const secret = generateWebhookSecret();
  log(`starting the gateway emulator (--latency-ms ${LATENCY_MS})`);
  const gateway = await startGatewayProcess({ latencyMs: LATENCY_MS });
  let server: ServerProcess | undefined;
  const pools: Pool[] = [];
  let admin: OstorClient | undefined;
  try {
    log('starting npm start');
    server = await startServerProcess({
      OSTOR_GATEWAY_URL: gateway.url,
      OSTOR_ACCESS_KEY_ID: gateway.accessKeyId,
      OSTOR_SECRET_ACCESS_KEY: gateway.secretAccessKey,
      WEBHOOK_SECRET: secret,
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: '0',
      USAGE_SWEEP_INTERVAL_SECONDS: '0',
    });
    const serverPool = new Pool(server.url, { connections: CONCURRENCY, pipelining: 1 });
    const gatewayPool = new Pool(gateway.url, { connections: 1, pipelining: 1 });
    pools.push(serverPool, gatewayPool);
    admin = new OstorClient({
      endpoint: gateway.url,
      credentials: { accessKeyId: gateway.accessKeyId, secretAccessKey: gateway.secretAccessKey },
    });
    const peers: Peers = { gateway, server, serverPool, gatewayPool, admin, webhook: new Webhook(secret) };
    const measured = await run(peers, runId);

    const output = server.output();
    const handedOut = [...answers.values()].flatMap((o) => {
      const answer = json(o);
      const keys = (answer.accessKeys as { secretAccessKey?: unknown }[] | undefined) ?? [];
      return [answer.secretAccessKey, ...keys.map((k) => k.secretAccessKey)].filter(
        (s): s is string => typeof s === 'string',
      );
    });
    const secretShown = [secret, gateway.secretAccessKey, ...handedOut].some((s) => output.includes(s));
    if (secretShown) fail('a secret appeared in the output of npm start');
    process.stdout.write(`${report(measured, output, secretShown)}\n`);
  } finally {
    await admin?.close();
    await Promise.all(pools.map((pool) => pool.close()));
    await server?.stop();
    await gateway.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (failures.length > 0) {
    log(`${failures.length} problem(s); see above`);
    process.exitCode = 1;
  }
}

await main();
