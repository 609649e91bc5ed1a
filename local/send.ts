// `npm run send -- <type> <email> [data-json]`: signs a webhook the way the billing system would
// and posts it to the local server (or to --url). Prints the status and the answer.
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../shared/config.ts';
import { parseWebhookSecrets, webhookHeaders } from '../shared/signing/index.ts';
import { FUNCTION_NAMES, isFunctionName } from './functions.ts';
import { readLocalSettings } from './settings.ts';

const usage = `usage: npm run send -- <${FUNCTION_NAMES.join('|')}> [email] ['{"extra":"data"}'] [--id <webhook-id>] [--url <base-url>]`;

async function main(argv: string[]): Promise<number> {
  const positional: string[] = [];
  let id: string = `msg_${randomUUID().replaceAll('-', '')}`;
  let baseUrl: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--id') id = argv[++i] ?? id;
    else if (arg === '--url') baseUrl = argv[++i];
    else positional.push(arg);
  }
  const [type, email, extra] = positional;
  if (type === undefined || !isFunctionName(type)) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const config = loadConfig();
  const settings = readLocalSettings(config.dataDir);
  const secretText = config.webhook.secrets ?? settings.webhookSecret;
  if (secretText === undefined) {
    process.stderr.write(
      'send: no WEBHOOK_SECRET set and no local server settings found; start `npm start` first\n',
    );
    return 2;
  }
  baseUrl ??= settings.serverUrl ?? `http://${config.host}:${config.port}`;

  let data: Record<string, unknown> = {};
  if (extra !== undefined) {
    try {
      data = JSON.parse(extra) as Record<string, unknown>;
    } catch {
      process.stderr.write('send: the third argument must be a JSON object of extra data fields\n');
      return 2;
    }
  }
  if (email !== undefined) data = { email, ...data };
  const body = JSON.stringify({ type, timestamp: new Date().toISOString(), data });
  const headers = webhookHeaders(
    { id, timestamp: Math.floor(Date.now() / 1000), body },
    parseWebhookSecrets(secretText, 'WEBHOOK_SECRET'),
  );
  const response = await fetch(new URL(`/${type}`, baseUrl), {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body,
  });
  const text = await response.text();
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch {}
  process.stdout.write(`${response.status} ${response.statusText}  (webhook-id ${id})\n${shown}\n`);
  return response.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`send: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
