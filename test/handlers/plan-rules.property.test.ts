// The edge and the gateway client hold a plan to the same rules (issue 10), as a property over
// generated plans, in- and out-of-range: any plan the edge accepts the client's validators accept,
// and any plan the client would refuse the edge refuses — naming the field under `data.plan` —
// with zero gateway calls. The client's verdict is its own: applyPlan with the real OstorClient.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../emulator/gateway.ts';
import { startEmulator } from '../../emulator/gateway.ts';
import { handler as provision } from '../../functions/provision/handler.ts';
import { localContext } from '../../local/lambda-context.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { applyPlan } from '../../shared/lifecycle/provision.ts';
import type { Plan } from '../../shared/lifecycle/requests.ts';
import { ProvisionData, parseInput } from '../../shared/lifecycle/requests.ts';
import { MAX_BANDWIDTH_LIMIT, MAX_OPS_LIMIT } from '../../shared/ostor/validate.ts';
import { getRuntime, setRuntime } from '../../shared/runtime/runtime.ts';
import { emulatorRuntime } from './runtime.ts';

let emulator: Emulator;
let fixtureUserId: string;
const dataDir = mkdtempSync(join(tmpdir(), 'vhi-plan-rules-'));

beforeAll(async () => {
  emulator = await startEmulator();
  const system = emulator.createSystemUser('system@plan-rules.test');
  fixtureUserId = emulator.state.createUser('fixture@plan-rules.test').id;
  setRuntime(
    emulatorRuntime(emulator, system, {
      DATA_DIR: dataDir,
    }),
  );
});

afterAll(async () => {
  setRuntime(undefined);
  await emulator.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Numbers near every edge of every rule, numbers anywhere, and values of the wrong type. */
function limitValue(max: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constant(null),
    fc.integer({ min: 0, max }),
    // Hundredths, a tenth of them beyond the maximum.
    fc.integer({ min: 0, max: max * 110 }).map((n) => n / 100),
    fc.double(),
    fc.constantFrom(
      0,
      -0,
      -1,
      0.001,
      1e-7,
      1e-9,
      5e-324,
      0.29,
      max,
      max + 1,
      max + 0.01,
      MAX_OPS_LIMIT,
      MAX_BANDWIDTH_LIMIT,
      MAX_BANDWIDTH_LIMIT + 1,
      1e10,
      1e21,
      Number.MAX_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER + 2,
    ),
    fc.constantFrom('1', true, {}, []),
  );
}

const opsValue = limitValue(MAX_OPS_LIMIT);
const planArbitrary = fc.record(
  {
    quotaGb: limitValue(1_000_000),
    limits: fc.oneof(
      fc.constant(null),
      fc.record(
        {
          ops: fc.oneof(
            fc.constant(null),
            fc.record(
              { default: opsValue, get: opsValue, put: opsValue, list: opsValue, delete: opsValue },
              { requiredKeys: [] },
            ),
          ),
          bandwidth: fc.oneof(
            fc.constant(null),
            fc.record({ out: limitValue(MAX_BANDWIDTH_LIMIT) }, { requiredKeys: [] }),
          ),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);

/** The edge's verdict: the envelope's `data` parsed as provision parses it. */
function edgeAccepts(plan: unknown): boolean {
  try {
    parseInput(ProvisionData, { email: 'edge@plan-rules.test', plan }, 'data');
    return true;
  } catch (error) {
    if (error instanceof InvalidInputError) return false;
    throw error;
  }
}

/** The client's verdict: every call the plan makes, made by the real client (which validates first). */
async function clientAccepts(plan: unknown): Promise<boolean> {
  try {
    await applyPlan(getRuntime().gateway, { userId: fixtureUserId }, plan as Plan);
    return true;
  } catch (error) {
    if (error instanceof InvalidInputError) return false;
    throw error;
  }
}

let sequence = 0;

describe('plan rules: the edge and the gateway client agree', () => {
  it('accepted at the edge ⇒ accepted by the client; refused by the client ⇒ refused at the edge, untouched', async () => {
    const seen = { edgeAccepted: 0, clientRefused: 0 };
    await fc.assert(
      fc.asyncProperty(planArbitrary, async (plan) => {
        // Prepare
        const email = `plan${sequence++}@plan-rules.test`;
        // Act
        const edge = edgeAccepts(plan);
        const client = await clientAccepts(plan);
        // Assess
        if (edge) {
          seen.edgeAccepted += 1;
          expect(client).toBe(true);
        }
        if (!client) {
          seen.clientRefused += 1;
          emulator.clearRequests();
          const refusal = await provision(
            { type: 'provision', timestamp: new Date().toISOString(), data: { email, plan } },
            localContext('provision'),
          ).then(
            () => undefined,
            (error: unknown) => error,
          );
          expect(refusal).toBeInstanceOf(InvalidInputError);
          expect((refusal as InvalidInputError).field).toMatch(/^data\.plan\./);
          expect(emulator.requests).toHaveLength(0);
          expect(emulator.state.usersWithEmail(email)).toHaveLength(0);
        }
      }),
      { numRuns: 300 },
    );
    // Both sides of the property were exercised, not only one.
    expect(seen.edgeAccepted).toBeGreaterThan(20);
    expect(seen.clientRefused).toBeGreaterThan(20);
  }, 60_000);
});
