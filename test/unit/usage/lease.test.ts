// The sweep lease's rules (issue 10: a crashed sweep must not block the next one). On both ledgers,
// a holder that never released its lease (it crashed) keeps others out only until its deadline plus
// the margin, and a refused sweep answers complete: false naming the holder. On the SQLite ledger
// of a local run, a lease whose process is gone — killed, or replaced by a later process with the
// same pid — is taken over at once, while a live holder, a holder on another machine and a lease
// written by an earlier version are honoured until they lapse.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoUsageLedger } from '../../../shared/store/ledger-dynamodb.ts';
import { SqliteUsageLedger } from '../../../shared/store/ledger-sqlite.ts';
import { currentProcess } from '../../../shared/usage/lease-holder.ts';
import type { UsageLedger } from '../../../shared/usage/ledger.ts';
import { SWEEP_LEASE } from '../../../shared/usage/ledger.ts';
import type { UsageGateway } from '../../../shared/usage/sweep.ts';
import { DEFAULT_LEASE_MARGIN_MS, sweepUsage } from '../../../shared/usage/sweep.ts';
import type { LocalDynamo } from './peers.ts';
import { recordEvents, startDynalite } from './peers.ts';

let dynamo: LocalDynamo;
const folder = mkdtempSync(join(tmpdir(), 'usage-lease-'));
let files = 0;
const newFile = () => join(folder, `ledger-${++files}.sqlite`);

beforeAll(async () => {
  dynamo = await startDynalite();
});

afterAll(async () => {
  await dynamo.close();
  rmSync(folder, { recursive: true, force: true });
});

const T0 = Date.parse('2026-11-26T12:00:00Z');
const HOUR = 3_600_000;
const BUDGET = 600_000;

/** A gateway with nothing to sweep: the lease is all these tests look at. */
const emptyGateway: UsageGateway = {
  listUsage: async () => ({ names: [], truncated: false }),
  getUsage: async () => {
    throw new Error('nothing listed, nothing read');
  },
  deleteUsage: async () => {},
  listUsers: async () => [],
  listBuckets: async () => [],
};

const noSink = {
  kind: 'webhook' as const,
  target: 'nowhere',
  deliver: async () => ({ ok: true as const, attempts: 1, status: 204 }),
  close: async () => {},
};

/** The ledger as a crashed process leaves it: the lease is taken and never given back. */
function neverReleasing(ledger: UsageLedger): UsageLedger {
  return {
    record: (entry) => ledger.record(entry),
    get: (name, now) => ledger.get(name, now),
    markDelivered: (name, at) => ledger.markDelivered(name, at),
    markDeleted: (name, at) => ledger.markDeleted(name, at),
    recordAll: (entries) => ledger.recordAll(entries),
    markAllDelivered: (entries, at) => ledger.markAllDelivered(entries, at),
    markAllDeleted: (entries, at) => ledger.markAllDeleted(entries, at),
    writeTurn: (turn, at) => ledger.writeTurn(turn, at),
    acquireLease: (owner, now, expiresAt) => ledger.acquireLease(owner, now, expiresAt),
    renewLease: (owner, expiresAt) => ledger.renewLease(owner, expiresAt),
    releaseLease: async () => {},
    close: () => ledger.close(),
  };
}

function sweepAt(ledger: UsageLedger, now: number, owner: string) {
  return sweepUsage(
    { gateway: emptyGateway, ledger, sink: noSink, events: recordEvents(), clock: () => now },
    { graceSeconds: 0, owner, remainingMs: () => BUDGET },
  );
}

const adapters: { name: string; make: () => Promise<UsageLedger>; process: string }[] = [
  {
    name: 'SQLite file',
    make: async () => new SqliteUsageLedger(newFile()),
    process: ` (process ${process.pid})`,
  },
  {
    name: 'DynamoDB (dynalite)',
    make: async () => new DynamoUsageLedger({ client: dynamo.client, tableName: await dynamo.newTable() }),
    process: '',
  },
];

describe.each(adapters)('the sweep lease on the $name ledger', ({ make, process: holderProcess }) => {
  it('a holder that crashed keeps it only until its deadline plus the margin; the refused sweep says who and until when', async () => {
    // Prepare: an invocation with 600 s took the lease at T0 and died without releasing it.
    const ledger = await make();
    const crashed = await sweepAt(neverReleasing(ledger), T0, 'invocation-crashed');
    const expiresAt = T0 + BUDGET + DEFAULT_LEASE_MARGIN_MS;

    // Act
    const before = await sweepAt(ledger, expiresAt - 1, 'invocation-next');
    const after = await sweepAt(ledger, expiresAt, 'invocation-later');

    // Assess
    expect(crashed.result).toMatchObject({ leaseHeld: false, complete: true });
    expect(before.result).toMatchObject({
      leaseHeld: true,
      complete: false,
      lease: { holder: `invocation-crashed${holderProcess}`, expiresAt: new Date(expiresAt).toISOString() },
    });
    expect(after.result).toMatchObject({ leaseHeld: false, complete: true });
    expect(after.result).not.toHaveProperty('lease');
    expect(DEFAULT_LEASE_MARGIN_MS).toBe(2_000);
  });

  it('a holder that ended releases it: the next sweep runs at once', async () => {
    // Prepare
    const ledger = await make();
    await sweepAt(ledger, T0, 'invocation-one');

    // Act
    const next = await sweepAt(ledger, T0 + 1, 'invocation-two');

    // Assess
    expect(next.result).toMatchObject({ leaseHeld: false, complete: true });
  });

  it('is renewed by its owner only, and not once released', async () => {
    // Prepare
    const ledger = await make();
    await ledger.acquireLease('owner', T0, T0 + 1_000);

    // Act
    const byOwner = await ledger.renewLease('owner', T0 + 5_000);
    const byOther = await ledger.renewLease('someone-else', T0 + 9_000);
    const heldAt = await ledger.acquireLease('someone-else', T0 + 4_999, T0 + 9_000);
    await ledger.releaseLease('owner');
    const afterRelease = await ledger.renewLease('owner', T0 + 9_000);

    // Assess
    expect(byOwner).toBe(true);
    expect(byOther).toBe(false);
    expect(heldAt).toMatchObject({ acquired: false, holder: 'owner', expiresAt: T0 + 5_000 });
    expect(afterRelease).toBe(false);
  });

  it('a sweep still running past its deadline (not cut off, as over HTTP) keeps its lease until it ends', async () => {
    // Prepare: a sweep with a 200 ms budget whose listing hangs until the test lets it go; without
    // renewals its lease would lapse 100 ms after its deadline.
    const ledger = await make();
    let letGo: () => void = () => {};
    const hanging: UsageGateway = {
      ...emptyGateway,
      listUsage: () =>
        new Promise((resolve) => {
          letGo = () => resolve({ names: [], truncated: false });
        }),
    };
    const events = recordEvents();
    const running = sweepUsage(
      { gateway: hanging, ledger, sink: noSink, events },
      { graceSeconds: 0, owner: 'overrunning', remainingMs: () => 200, leaseMarginMs: 100 },
    );

    // Act
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const meanwhile = await sweepUsage(
      { gateway: emptyGateway, ledger, sink: noSink, events: recordEvents() },
      { graceSeconds: 0, owner: 'next', remainingMs: () => BUDGET },
    );
    letGo();
    const overran = await running;
    const after = await sweepUsage(
      { gateway: emptyGateway, ledger, sink: noSink, events: recordEvents() },
      { graceSeconds: 0, owner: 'after', remainingMs: () => BUDGET },
    );

    // Assess
    expect(meanwhile.result).toMatchObject({ leaseHeld: true, complete: false });
    expect(overran.result).toMatchObject({ leaseHeld: false });
    expect(after.result).toMatchObject({ leaseHeld: false, complete: true });
    expect(events.messages('error')).toEqual([]);
  });

  it('a sweep that finds its lease taken while it overran takes no more objects', async () => {
    // Prepare: as above, but the lease is taken from under the sweep (its process stalled).
    const ledger = await make();
    let letGo: () => void = () => {};
    const hanging: UsageGateway = {
      ...emptyGateway,
      listUsage: () =>
        new Promise((resolve) => {
          letGo = () => resolve({ names: [], truncated: false });
        }),
    };
    const events = recordEvents();
    const running = sweepUsage(
      { gateway: hanging, ledger, sink: noSink, events },
      { graceSeconds: 0, owner: 'stalled', remainingMs: () => 200, leaseMarginMs: 100 },
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await ledger.releaseLease('stalled');
    await ledger.acquireLease('usurper', Date.now(), Date.now() + BUDGET);

    // Act
    await new Promise((resolve) => setTimeout(resolve, 400));
    letGo();
    const stalled = await running;

    // Assess
    expect(stalled.result).toMatchObject({ leaseHeld: false, complete: false });
    expect(events.messages('error')).toContain(
      'the usage sweep lost its lease to another sweep; taking no more objects',
    );
    expect(await ledger.acquireLease('third', Date.now(), Date.now() + BUDGET)).toMatchObject({
      acquired: false,
      holder: 'usurper',
    });
  });

  it('a retry of the same invocation (same request id) takes its own lease back', async () => {
    // Prepare: Lambda retries an asynchronous event that timed out under the same request id.
    const ledger = await make();
    await sweepAt(neverReleasing(ledger), T0, 'invocation-retried');

    // Act
    const retry = await sweepAt(ledger, T0 + BUDGET, 'invocation-retried');

    // Assess
    expect(retry.result).toMatchObject({ leaseHeld: false, complete: true });
  });
});

/** A node process that takes the lease in `file` for an hour and keeps running until killed. */
async function holdInChild(file: string, owner: string): Promise<ChildProcess> {
  const ledgerModule = new URL('../../../shared/store/ledger-sqlite.ts', import.meta.url).href;
  const script = `
    const { SqliteUsageLedger } = await import(${JSON.stringify(ledgerModule)});
    const ledger = new SqliteUsageLedger(process.env.LEDGER_FILE);
    const lease = await ledger.acquireLease(process.env.OWNER, Date.now(), Date.now() + ${HOUR});
    process.stdout.write(JSON.stringify(lease) + '\\n');
    setInterval(() => {}, 60_000);
  `;
  const child = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script],
    {
      env: { PATH: process.env.PATH ?? '', LEDGER_FILE: file, OWNER: owner },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', (code) => reject(new Error(`holder exited with ${code}: ${err}`)));
  });
  expect(JSON.parse(line)).toMatchObject({ acquired: true });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('the sweep lease on the SQLite ledger of a local run', () => {
  it('is refused while its holder process lives, naming it, and taken over at once when it is killed', async () => {
    // Prepare: another process holds the lease for an hour.
    const file = newFile();
    const child = await holdInChild(file, 'killed-sweep');
    const ledger = new SqliteUsageLedger(file);

    // Act
    const whileAlive = await ledger.acquireLease('next-sweep', Date.now(), Date.now() + BUDGET);
    await kill(child);
    const afterKill = await ledger.acquireLease('next-sweep', Date.now(), Date.now() + BUDGET);
    await ledger.close();

    // Assess
    expect(whileAlive).toMatchObject({ acquired: false, holder: 'killed-sweep', pid: child.pid });
    expect(afterKill).toMatchObject({ acquired: true, tookOverFrom: 'killed-sweep' });
  });

  it('a sweep finding a killed holder runs at once and says it took the lease over', async () => {
    // Prepare
    const file = newFile();
    await kill(await holdInChild(file, 'killed-sweep'));
    const ledger = new SqliteUsageLedger(file);
    const events = recordEvents();

    // Act
    const report = await sweepUsage(
      { gateway: emptyGateway, ledger, sink: noSink, events },
      { graceSeconds: 0, owner: 'restarted-sweep', remainingMs: () => BUDGET },
    );
    await ledger.close();

    // Assess
    expect(report.result).toMatchObject({ leaseHeld: false, complete: true });
    expect(events.lines).toContainEqual({
      level: 'warn',
      message: 'took over the usage sweep lease of a sweep whose process is gone',
      details: { previousHolder: 'killed-sweep' },
    });
  });

  it('takes over from an earlier process that had this process pid (a restarted npm start)', async () => {
    // Prepare: the holder recorded this pid, but it was another process (another instance and start).
    const file = newFile();
    const earlier = new SqliteUsageLedger(file, {
      self: { ...currentProcess(), instance: 'an-earlier-process', startedAt: 'another-boot/1' },
    });
    await earlier.acquireLease('earlier-sweep', T0, T0 + HOUR);
    const ledger = new SqliteUsageLedger(file);

    // Act
    const lease = await ledger.acquireLease('this-sweep', T0 + 1, T0 + HOUR);
    await Promise.all([earlier.close(), ledger.close()]);

    // Assess
    expect(lease).toMatchObject({ acquired: true, tookOverFrom: 'earlier-sweep' });
  });

  it.skipIf(!existsSync('/proc/self/stat'))(
    'takes over when the pid now belongs to a process that started at another time (pid reuse)',
    async () => {
      // Prepare: the holder's pid is that of a live process (this one's parent), but the recorded
      // start time is not that process's: the holder died and its pid went to someone else.
      const file = newFile();
      const reused = new SqliteUsageLedger(file, {
        self: { ...currentProcess(), pid: process.ppid, instance: 'the-dead-holder', startedAt: 'boot/1' },
      });
      await reused.acquireLease('dead-sweep', T0, T0 + HOUR);
      const ledger = new SqliteUsageLedger(file);

      // Act
      const lease = await ledger.acquireLease('this-sweep', T0 + 1, T0 + HOUR);
      await Promise.all([reused.close(), ledger.close()]);

      // Assess
      expect(lease).toMatchObject({ acquired: true, tookOverFrom: 'dead-sweep' });
    },
  );

  it('honours until it lapses a holder on another machine, and a lease written without a process', async () => {
    // Prepare: a holder elsewhere (DATA_DIR shared over the network), and a file whose lease row
    // was written by an earlier version, without the holder's process.
    const elsewhereFile = newFile();
    const elsewhere = new SqliteUsageLedger(elsewhereFile, {
      self: { ...currentProcess(), machine: 'another-host', pid: 1, instance: 'theirs' },
    });
    await elsewhere.acquireLease('remote-sweep', T0, T0 + HOUR);
    const legacyFile = newFile();
    const old = new DatabaseSync(legacyFile);
    old.exec(
      'CREATE TABLE usage_lease (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL)',
    );
    old.prepare('INSERT INTO usage_lease VALUES (?, ?, ?)').run(SWEEP_LEASE, 'old-sweep', T0 + HOUR);
    old.close();
    const here = new SqliteUsageLedger(elsewhereFile);
    const upgraded = new SqliteUsageLedger(legacyFile);

    // Act
    const remoteHeld = await here.acquireLease('this-sweep', T0 + 1, T0 + 2 * HOUR);
    const remoteLapsed = await here.acquireLease('this-sweep', T0 + HOUR, T0 + 2 * HOUR);
    const legacyHeld = await upgraded.acquireLease('this-sweep', T0 + 1, T0 + 2 * HOUR);
    const legacyLapsed = await upgraded.acquireLease('this-sweep', T0 + HOUR, T0 + 2 * HOUR);
    await Promise.all([elsewhere.close(), here.close(), upgraded.close()]);

    // Assess
    expect(remoteHeld).toEqual({ acquired: false, holder: 'remote-sweep', expiresAt: T0 + HOUR, pid: 1 });
    expect(remoteLapsed).toEqual({ acquired: true, expiresAt: T0 + 2 * HOUR });
    expect(legacyHeld).toEqual({ acquired: false, holder: 'old-sweep', expiresAt: T0 + HOUR });
    expect(legacyLapsed).toEqual({ acquired: true, expiresAt: T0 + 2 * HOUR });
  });
});
