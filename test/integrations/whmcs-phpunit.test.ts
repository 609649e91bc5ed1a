// The WHMCS module's PHP tests (integrations/whmcs/tests, PHPUnit) as part of `npm test`: without
// php or phpunit this fails, saying how to install them, instead of skipping.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireTool } from '../e2e/whmcs-stand-in.ts';

const repo = new URL('../..', import.meta.url).pathname;

describe('WHMCS module (PHPUnit)', () => {
  it('passes its PHPUnit suite', async () => {
    // Prepare
    requireTool('php', ['-v']);
    requireTool('phpunit', ['--version']);
    // Act
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn('phpunit', ['-c', join(repo, 'integrations/whmcs/phpunit.xml.dist')], {
        cwd: repo,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
      });
      child.once('close', (exitCode) => resolve({ code: exitCode, output: text }));
    });
    // Assess: a clean run, and it really ran tests.
    expect(code, output).toBe(0);
    expect(output).toMatch(/OK \((\d+) tests?, \d+ assertions?\)/);
    const tests = Number(/OK \((\d+) tests?/.exec(output)?.[1] ?? 0);
    expect(tests).toBeGreaterThan(50);
  }, 180_000);
});
