// Runs the gateway emulator as its own process (benchmarks, manual runs):
//   npx node emulator/main.ts [--host H] [--port N] [--latency-ms N] [--usage-objects N] [--usage-items N] [--usage-start ISO] [--seed N]
// prints one JSON line {"url","accessKeyId","secretAccessKey"} for its system user, then serves
// until SIGTERM or SIGINT.

import { parseArgs } from 'node:util';
import { startEmulator } from './gateway.ts';
import { seedUsageObjects } from './usage-generator.ts';

function whole(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) {
    process.stderr.write(`--${name}: must be a non-negative whole number, got ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return Number(text);
}

const { values } = parseArgs({
  options: {
    host: { type: 'string' },
    port: { type: 'string' },
    'latency-ms': { type: 'string' },
    'usage-objects': { type: 'string' },
    'usage-items': { type: 'string' },
    'usage-start': { type: 'string' },
    seed: { type: 'string' },
    email: { type: 'string' },
  },
  strict: true,
});

const emulator = await startEmulator({
  host: values.host ?? '127.0.0.1',
  port: whole('port', values.port, 0),
  latencyMs: whole('latency-ms', values['latency-ms'], 0),
  // Nobody reads the request log of a standalone emulator; keeping it would grow without bound.
  recordRequests: false,
});
const system = emulator.createSystemUser(values.email ?? 'system@emulator.local');
const usageObjects = whole('usage-objects', values['usage-objects'], 0);
const usageStart = values['usage-start'] === undefined ? undefined : new Date(values['usage-start']);
if (usageStart !== undefined && Number.isNaN(usageStart.getTime())) {
  process.stderr.write(
    `--usage-start: must be an ISO 8601 date-time, got ${JSON.stringify(values['usage-start'])}\n`,
  );
  process.exit(2);
}
if (usageObjects > 0) {
  seedUsageObjects(emulator.state, {
    ...(usageStart === undefined ? {} : { start: usageStart }),
    objects: usageObjects,
    itemsPerObject: whole('usage-items', values['usage-items'], 8),
    seed: whole('seed', values.seed, 1),
  });
}
process.stdout.write(
  `${JSON.stringify({ url: emulator.url, accessKeyId: system.accessKeyId, secretAccessKey: system.secretAccessKey })}\n`,
);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  emulator.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`emulator: close failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
