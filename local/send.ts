// `npm run send -- <type> <email> [data-json]`: signs a webhook the way the billing system would
// and posts it to the local server (or to --url). Prints the status and the answer.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
  // A known --id is a redelivery: the very same bytes go again, as a billing system's retry would.
  const sent = readSent(config.dataDir);
  const previous = sent[id];
  const redelivery = previous !== undefined && previous.type === type;
  const body = redelivery
    ? previous.body
    : JSON.stringify({ type, timestamp: new Date().toISOString(), data });
  sent[id] = { type, body };
  writeSent(config.dataDir, sent);
  const headers = webhookHeaders(
    { id, timestamp: Math.floor(Date.now() / 1000), body },
    parseWebhookSecrets(secretText, 'WEBHOOK_SECRET'),
  );
  // Relative to the base URL, so a base with a path (a stage or a proxy prefix) keeps it.
  const target = new URL(type, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const response = await fetch(target, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body,
  });
  const text = await response.text();
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch {}
  process.stdout.write(
    `${response.status} ${response.statusText}  (webhook-id ${id}${redelivery ? ', redelivered' : ''})\n${shown}\n`,
  );
  return response.ok ? 0 : 1;
}

type SentLog = Record<string, { type: string; body: string }>;
const SENT_KEPT = 200;

function readSent(dataDir: string): SentLog {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'sent.json'), 'utf8')) as SentLog;
  } catch {
    return {};
  }
}

function writeSent(dataDir: string, sent: SentLog): void {
  const recent = Object.entries(sent).slice(-SENT_KEPT);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'sent.json'), JSON.stringify(Object.fromEntries(recent)));
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`send: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
