// `npm run invoke -- <function> <event.json | ->`: a direct invocation, as from the Lambda console:
// the unsigned envelope goes straight to the handler in this process and the result is printed.
// It talks to the gateway of a running `npm start` (from DATA_DIR/local.json) unless
// OSTOR_GATEWAY_URL is set.
import { readFileSync } from 'node:fs';
import { loadConfig } from '../shared/config.ts';
import { isRouteName, loadHandler, ROUTE_NAMES } from './functions.ts';
import { localContext } from './lambda-context.ts';
import { readLocalSettings } from './settings.ts';

// stdout carries the result alone: info logs and EMF metrics stay quiet unless asked for.
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const usage = `usage: npm run invoke -- <${ROUTE_NAMES.join('|')}> <event.json | ->`;

async function main(argv: string[]): Promise<number> {
  const [name, file] = argv;
  if (name === undefined || !isRouteName(name) || file === undefined) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  let event: unknown;
  try {
    event = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
  } catch (error) {
    process.stderr.write(
      `invoke: ${file}: ${error instanceof Error ? error.message : 'cannot be read as JSON'}\n`,
    );
    return 2;
  }
  const config = loadConfig();
  if (config.gateway.url === undefined) {
    const gateway = readLocalSettings(config.dataDir).gateway;
    if (gateway === undefined) {
      process.stderr.write(
        'invoke: OSTOR_GATEWAY_URL is not set and no `npm start` is running to borrow its gateway\n',
      );
      return 2;
    }
    process.env.OSTOR_GATEWAY_URL = gateway.url;
    process.env.OSTOR_ACCESS_KEY_ID = gateway.accessKeyId;
    process.env.OSTOR_SECRET_ACCESS_KEY = gateway.secretAccessKey;
  }
  const handler = await loadHandler(name);
  try {
    const result = await handler(event, localContext(`local-${name}`));
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } catch (error) {
    const failure = error as { name?: string; message?: string; code?: string };
    process.stdout.write(
      `${JSON.stringify({ errorType: failure.name, errorCode: failure.code, errorMessage: failure.message }, null, 2)}\n`,
    );
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`invoke: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
