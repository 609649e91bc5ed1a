// The Stripe API of bench/sweep-stripe.bench.ts as its own process: the tests' fake of Stripe
// (test/e2e/stripe-fake.ts: form-encoded meter events, Bearer key, 24-hour identifier memory,
// Stripe's duplicate answer) with each answer waiting `--delay-ms` (a round trip, as the
// emulator's --latency-ms).
//   node bench/lib/stripe-peer.ts --delay-ms 2
// Prints one line {"url","apiKey"} and serves until SIGTERM; `GET /__fake/stats` answers what it holds.
import { parseArgs } from 'node:util';
import { startStripeFake } from '../../test/e2e/stripe-fake.ts';

const { values } = parseArgs({ options: { 'delay-ms': { type: 'string' } }, strict: true });
const delayMs = Number(values['delay-ms'] ?? '2');
if (!Number.isInteger(delayMs) || delayMs < 0) {
  process.stderr.write('stripe-peer: --delay-ms must be a whole number\n');
  process.exit(2);
}
const fake = await startStripeFake({ delayMs });
process.stdout.write(`${JSON.stringify({ url: fake.url, apiKey: fake.apiKey })}\n`);
const stop = () => {
  fake.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
