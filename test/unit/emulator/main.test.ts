// The emulator's command line (emulator/main.ts), as benchmarks run it: a separate process that
// prints one JSON line with its URL and system key pair, and stops cleanly on SIGTERM.

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { signRequestV2 } from '../../../shared/signing/sigv2.ts';

const MAIN = fileURLToPath(new URL('../../../emulator/main.ts', import.meta.url));

let child: ChildProcess | undefined;

afterEach(() => {
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
});

async function firstLine(process: ChildProcess): Promise<string> {
  if (process.stdout === null) throw new Error('stdout is piped');
  const lines = createInterface({ input: process.stdout });
  const [line] = (await once(lines, 'line')) as [string];
  lines.close();
  return line;
}

describe('emulator/main.ts', () => {
  it('prints {url, accessKeyId, secretAccessKey}, serves signed requests, seeds usage objects, exits 0 on SIGTERM', async () => {
    // Prepare
    child = spawn(process.execPath, [MAIN, '--port', '0', '--latency-ms', '1', '--usage-objects', '5'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });

    // Act
    const printed = JSON.parse(await firstLine(child)) as {
      url: string;
      accessKeyId: string;
      secretAccessKey: string;
    };
    const headers = signRequestV2({ method: 'GET', path: '/', query: 'ostor-usage', headers: {} }, printed);
    const response = await fetch(`${printed.url}/?ostor-usage`, { headers });
    const listing = (await response.json()) as { nr_items: number };
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];

    // Assess
    expect(Object.keys(printed)).toEqual(['url', 'accessKeyId', 'secretAccessKey']);
    expect(printed.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(response.status).toBe(200);
    expect(listing.nr_items).toBe(5);
    expect(code).toBe(0);
  });

  it('refuses a malformed option with exit code 2', async () => {
    // Prepare
    child = spawn(process.execPath, [MAIN, '--latency-ms', 'fast'], { stdio: ['ignore', 'pipe', 'pipe'] });

    // Act
    const [code] = (await once(child, 'exit')) as [number | null];

    // Assess
    expect(code).toBe(2);
  });
});
