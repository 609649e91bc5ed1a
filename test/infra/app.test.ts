// infra/app.ts as `cdk synth` runs it: a child Node process with the CLI's context in
// CDK_CONTEXT_JSON (cdk.json's included), writing the cloud assembly to CDK_OUTDIR.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/bundling.ts';

const outdirs: string[] = [];

afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

function runApp(context: Record<string, unknown>): { status: number | null; stderr: string; outdir: string } {
  const outdir = mkdtempSync(join(tmpdir(), 'vhi-app-'));
  outdirs.push(outdir);
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: object };
  const result = spawnSync(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', join(PROJECT_ROOT, 'infra', 'app.ts')],
    {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: {
        ...process.env,
        CDK_OUTDIR: outdir,
        // The template is what is under test here; bundling is covered by stack.test.ts.
        CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJson.context, 'aws:cdk:bundling-stacks': [], ...context }),
      },
    },
  );
  return { status: result.status, stderr: result.stderr, outdir };
}

describe('infra/app.ts', () => {
  it('synthesizes with cdk.json’s context and nothing else, cdk-nag passing', () => {
    const { status, stderr, outdir } = runApp({});
    expect(stderr).not.toMatch(/Unsupported feature flag|AwsSolutions-/);
    expect(status).toBe(0);
    expect(existsSync(join(outdir, 'VhiS3Billing.template.json'))).toBe(true);
  }, 60_000);

  it('names the stack from context and stops with one line on a bad setting', () => {
    const named = runApp({ stackName: 'BillingProd', gatewayUrl: 'https://s3.example.com' });
    expect(named.status).toBe(0);
    expect(existsSync(join(named.outdir, 'BillingProd.template.json'))).toBe(true);

    const bad = runApp({ gatewayUrl: 'http://s3.example.com' });
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toBe(
      "stack configuration: gatewayUrl: must use https (got http) (set it with -c gatewayUrl=... or the stack's config prop)",
    );
  }, 60_000);
});
