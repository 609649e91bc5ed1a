// Deployed, collect-usage is bundled with the usage sink the stack configures (infra/bundling.ts
// definesOf): a function whose USAGE_SINK asks for another is refused at once, naming USAGE_SINK,
// rather than sending usage nowhere. Unbundled (here, as in a local run) every sink is available.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { definesOf } from '../../../infra/bundling.ts';
import { loadConfig } from '../../../shared/config.ts';
import { ConfigurationError } from '../../../shared/errors.ts';
import { buildUsageServices } from '../../../shared/runtime/usage.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'vhi-bundled-sink-'));
const stripe = {
  DATA_DIR: dataDir,
  USAGE_SINK: 'stripe',
  STRIPE_API_KEY: 'sk_test_bundledSink0123',
  STRIPE_METER_REQUESTS: 's3_requests',
};

afterEach(() => {
  delete process.env.VHI_BUNDLED_USAGE_SINK;
});

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the sink collect-usage is bundled with', () => {
  it('is named for collect-usage only, webhook unless the stack says otherwise', () => {
    expect(definesOf('collect-usage')).toEqual({ 'process.env.VHI_BUNDLED_USAGE_SINK': '"webhook"' });
    expect(definesOf('collect-usage', 'stripe')).toEqual({
      'process.env.VHI_BUNDLED_USAGE_SINK': '"stripe"',
    });
    expect(definesOf('provision', 'stripe')).toEqual({});
  });

  it('refuses a configuration that asks for another sink, naming USAGE_SINK', () => {
    // Prepare
    process.env.VHI_BUNDLED_USAGE_SINK = 'webhook';
    // Act
    let caught: unknown;
    try {
      buildUsageServices(loadConfig(stripe), () => {
        throw new Error('no store is read before the check');
      });
    } catch (error) {
      caught = error;
    }
    // Assess
    expect(caught instanceof ConfigurationError && caught.variable).toBe('USAGE_SINK');
    expect(caught instanceof ConfigurationError && caught.message).toContain('usageSink=stripe');
  });

  it('builds the configured sink when it is the bundled one, and any sink unbundled', () => {
    process.env.VHI_BUNDLED_USAGE_SINK = 'stripe';
    const stores = () => {
      throw new Error('stores are read on first delivery, not when the sink is built');
    };
    expect(buildUsageServices(loadConfig(stripe), stores).sink.kind).toBe('stripe');
    delete process.env.VHI_BUNDLED_USAGE_SINK;
    expect(buildUsageServices(loadConfig(stripe), stores).sink.kind).toBe('stripe');
    expect(buildUsageServices(loadConfig({ DATA_DIR: dataDir }), stores).sink.kind).toBe('file');
  });
});
