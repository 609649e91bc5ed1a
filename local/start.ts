// `npm start`: the whole system on this machine. Without OSTOR_GATEWAY_URL it starts the embedded
// gateway emulator with a system user; without WEBHOOK_SECRET it generates one (kept in DATA_DIR
// so it survives restarts). Then it serves the functions and runs the usage sweep on a schedule.

import { startEmulator } from '../emulator/gateway.ts';
import type { Config } from '../shared/config.ts';
import { loadConfig } from '../shared/config.ts';
import { AppError, ConfigurationError } from '../shared/errors.ts';
import { lagoServices } from '../shared/runtime/lago-services.ts';
import { createRuntime, setRuntime } from '../shared/runtime/runtime.ts';
import { stripeServicesOf } from '../shared/runtime/stripe-services.ts';
import { usageServicesOf } from '../shared/runtime/usage.ts';
import { generateWebhookSecret } from '../shared/signing/index.ts';
import { loadHandler } from './functions.ts';
import { localContext } from './lambda-context.ts';
import { startLocalServer } from './server.ts';
import { readLocalSettings, settingsFile, writeLocalSettings } from './settings.ts';

// EMF metric lines only mean something to CloudWatch; locally they would drown the logs.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const out = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const config = loadConfig();
  const settings = readLocalSettings(config.dataDir);
  const printed: string[] = [];

  let emulator: Awaited<ReturnType<typeof startEmulator>> | undefined;
  if (config.gateway.url === undefined) {
    // The request log is for tests; a long-running local server must not grow without bound.
    emulator = await startEmulator({ host: '127.0.0.1', port: 0, recordRequests: false });
    const system = emulator.createSystemUser('system@emulator.local');
    process.env.OSTOR_GATEWAY_URL = emulator.url;
    process.env.OSTOR_ACCESS_KEY_ID = system.accessKeyId;
    process.env.OSTOR_SECRET_ACCESS_KEY = system.secretAccessKey;
    settings.gateway = { url: emulator.url, ...pick(system), embedded: true };
    printed.push(
      `gateway     embedded emulator at ${emulator.url}`,
      `            system user OSTOR_ACCESS_KEY_ID=${system.accessKeyId}`,
      `                        OSTOR_SECRET_ACCESS_KEY=${system.secretAccessKey}   (throwaway, this run only)`,
    );
  } else {
    delete settings.gateway;
    printed.push(`gateway     ${config.gateway.url.origin} (Signature V${config.gateway.signatureVersion})`);
  }

  if (config.webhook.secrets === undefined && config.webhook.secretId === undefined) {
    settings.webhookSecret ??= generateWebhookSecret();
    process.env.WEBHOOK_SECRET = settings.webhookSecret;
    printed.push(
      `webhooks    WEBHOOK_SECRET=${settings.webhookSecret}   (generated for local use, kept in ${settingsFile(config.dataDir)})`,
    );
  } else {
    printed.push('webhooks    verified with the configured WEBHOOK_SECRET');
  }
  // Build what the functions will use now, with everything set, so a bad value or combination
  // (a malformed secret, a usage URL without a signing secret) stops start-up here and not at the
  // first call.
  const runtime = createRuntime(loadConfig());
  usageServicesOf(runtime);
  const stripe = config.stripe.webhookSecrets !== undefined || config.stripe.webhookSecretId !== undefined;
  if (stripe) stripeServicesOf(runtime);
  const lago =
    config.lago.webhookHmacKeys !== undefined ||
    config.lago.webhookHmacKeyId !== undefined ||
    config.lago.webhookPublicKeys !== undefined ||
    config.lago.webhookPublicKeyId !== undefined;
  if (lago) lagoServices(runtime);
  setRuntime(runtime);
  printed.push(
    stripe
      ? `stripe      POST /stripe verified with STRIPE_WEBHOOK_SECRET; ${config.credentialsWebhookUrl === undefined ? 'creates no users (CREDENTIALS_WEBHOOK_URL is not set)' : `new users' key pairs go to ${config.credentialsWebhookUrl.origin}`}`
      : 'stripe      POST /stripe answers 500 until STRIPE_WEBHOOK_SECRET is set',
    lago
      ? `lago        POST /lago verified with ${config.lago.webhookPublicKeys === undefined ? 'LAGO_WEBHOOK_HMAC_KEY' : 'LAGO_WEBHOOK_PUBLIC_KEY (JWT)'}; ${config.credentialsWebhookUrl === undefined ? 'creates no users (CREDENTIALS_WEBHOOK_URL is not set)' : `new users' key pairs go to ${config.credentialsWebhookUrl.origin}`}`
      : 'lago        POST /lago answers 500 until LAGO_WEBHOOK_HMAC_KEY (or LAGO_WEBHOOK_PUBLIC_KEY) is set',
  );

  let ready = false;
  const server = await startLocalServer({ host: config.host, port: config.port, ready: () => ready }).catch(
    (error: unknown) => {
      const code = (error as { code?: unknown }).code;
      if (code === 'EADDRINUSE')
        throw new ConfigurationError('PORT', `${config.host}:${config.port} is already in use`);
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
        throw new ConfigurationError('HOST', `${config.host} is not an address of this machine`);
      }
      throw error;
    },
  );
  settings.serverUrl = server.url;
  writeLocalSettings(config.dataDir, settings);

  const sweep = startSweepSchedule(config.usage.sweepIntervalSeconds);
  ready = true;

  out(`vhi-s3-billing listening on ${server.url}`);
  for (const line of printed) out(line);
  out(
    `usage       ${usageTarget(config)}; sweep ${config.usage.sweepIntervalSeconds === 0 ? 'off' : `every ${config.usage.sweepIntervalSeconds} s`}`,
  );
  out();
  out('Try it:');
  out('  npm run send -- provision alice@example.com');
  out(`  npm run send -- provision alice@example.com '{"plan":{"quotaGb":10}}'`);
  out('  npm run send -- rotate-key alice@example.com');
  out('  npm run invoke -- suspend event.json     (direct invocation, as from the Lambda console)');
  out(`  curl ${server.url}/healthz`);

  const stop = async (signal: string) => {
    out(`\n${signal}: shutting down`);
    sweep.stop();
    await server.close();
    await emulator?.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

function usageTarget(config: Config): string {
  if (config.usage.sink === 'stripe') return `sent to Stripe meters at ${config.stripe.apiBase.origin}`;
  if (config.usage.sink === 'lago')
    return `sent to Lago events at ${config.lago.apiUrl?.origin ?? '(LAGO_API_URL)'}`;
  const url = config.usage.webhookUrl;
  return url === undefined ? `written to ${config.dataDir}/usage.ndjson` : `delivered to ${url.origin}`;
}

function pick(system: { accessKeyId: string; secretAccessKey: string }) {
  return { accessKeyId: system.accessKeyId, secretAccessKey: system.secretAccessKey };
}

/** What the deployed collect-usage function gets (infra/constructs/functions.ts: 600 s). */
const SWEEP_TIMEOUT_MS = 600_000;

/** The local stand-in for the EventBridge schedule: first run one interval after start. */
function startSweepSchedule(intervalSeconds: number): { stop(): void } {
  if (intervalSeconds === 0) return { stop() {} };
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      const handler = await loadHandler('collect-usage');
      await handler(
        {
          source: 'aws.scheduler',
          'detail-type': 'Scheduled Event',
          time: new Date().toISOString(),
          id: 'local',
        },
        // The sweep's time budget: as long as a deployed run gets (the next tick waits for it anyway).
        localContext('local-collect-usage', SWEEP_TIMEOUT_MS),
      );
    } catch {
      // The handler logs its own failures; the next tick tries again.
    } finally {
      running = false;
    }
  }, intervalSeconds * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

main().catch((error: unknown) => {
  const message =
    error instanceof AppError
      ? error.message
      : error instanceof Error
        ? `${error.name}: ${error.message}`
        : String(error);
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(1);
});
