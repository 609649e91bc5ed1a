// The WHMCS side of the end-to-end tests: a temporary WHMCS root holding a copy of the module's
// `modules/` folder (installed the way the operator's guide says: copied) and the stand-in's
// init.php, a SQLite database for WHMCS's tables, `php` to run module functions as WHMCS would,
// and `php -S` serving usage.php as the USAGE_WEBHOOK_URL.
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = new URL('../..', import.meta.url).pathname;
const integration = join(repo, 'integrations/whmcs');

/** What a developer or CI needs; said whenever a tool is missing, so `npm test` fails with the fix. */
export const PHP_INSTALL_HINT =
  'install PHP and PHPUnit from Debian: apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ' +
  '--no-install-recommends php-cli php-curl php-sqlite3 php-mbstring php-xml phpunit php-illuminate-database ' +
  '(README.md, "Development")';

/** Throws, naming the fix, when `command` cannot run (a missing tool fails the suite, never skips it). */
export function requireTool(command: string, args: readonly string[]): string {
  const run = spawnSync(command, args, { encoding: 'utf8' });
  if (run.error !== undefined || run.status !== 0) {
    const why = run.error !== undefined ? run.error.message : `exit ${String(run.status)}: ${run.stderr}`;
    throw new Error(`${command} is needed for the WHMCS module's tests (${why}); ${PHP_INSTALL_HINT}`);
  }
  return run.stdout;
}

/** One masked module log entry, as WHMCS keeps it. */
export interface ModuleLogEntry {
  readonly module: string;
  readonly action: string;
  readonly request: string;
  readonly response: string;
  readonly processed: string;
}

export interface StandInAnswer<T> {
  readonly result: T;
  readonly log: ModuleLogEntry[];
}

export interface UsageServer {
  /** USAGE_WEBHOOK_URL: usage.php where an operator's WHMCS serves it. */
  readonly url: string;
  stop(): Promise<void>;
}

export class WhmcsStandIn {
  readonly root: string;
  readonly database: string;
  /** Every module log entry of every process (php -S included), masked. */
  readonly logFile: string;
  private readonly env: NodeJS.ProcessEnv;

  private constructor(root: string) {
    this.root = root;
    this.database = join(root, 'whmcs.sqlite');
    this.logFile = join(root, 'module-log.ndjson');
    this.env = {
      PATH: process.env.PATH ?? '',
      VHIS3_STANDIN_DB: this.database,
      VHIS3_STANDIN_LOG: this.logFile,
    };
  }

  static async create(): Promise<WhmcsStandIn> {
    const root = mkdtempSync(join(tmpdir(), 'whmcs-'));
    cpSync(join(integration, 'modules'), join(root, 'modules'), { recursive: true });
    writeFileSync(
      join(root, 'init.php'),
      `<?php\nrequire ${JSON.stringify(join(integration, 'tests/stand-in/init.php'))};\n`,
    );
    writeFileSync(join(root, 'module-log.ndjson'), '');
    const standIn = new WhmcsStandIn(root);
    await standIn.run({ op: 'setup' });
    return standIn;
  }

  /** Runs one stand-in command (call.php) in a fresh `php` process, asynchronously: the gateway emulator lives in this process. */
  run<T = unknown>(command: Record<string, unknown>): Promise<StandInAnswer<T>> {
    return new Promise((resolve, reject) => {
      execFile(
        'php',
        [join(integration, 'tests/stand-in/call.php'), this.root, JSON.stringify(command)],
        { env: this.env, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
        (error, stdout, stderr) => {
          if (error !== null) {
            reject(new Error(`php call.php ${JSON.stringify(command)} failed: ${error.message}\n${stderr}`));
            return;
          }
          try {
            resolve(JSON.parse(stdout) as StandInAnswer<T>);
          } catch {
            reject(new Error(`php call.php printed no JSON:\n${stdout}\n${stderr}`));
          }
        },
      );
    });
  }

  /** Everything written to the module log so far (masked, as WHMCS stores it). */
  moduleLog(): string {
    return readFileSync(this.logFile, 'utf8');
  }

  /** Serves the WHMCS root with `php -S`, so usage.php answers at /modules/servers/vhis3/usage.php. */
  async serveUsage(): Promise<UsageServer> {
    const port = await freePort();
    const child: ChildProcess = spawn('php', ['-S', `127.0.0.1:${port}`, '-t', this.root], {
      env: this.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let errors = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      errors += chunk;
    });
    const url = `http://127.0.0.1:${port}/modules/servers/vhis3/usage.php`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const response = await fetch(url);
        if (response.status === 405) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`php -S did not serve usage.php:\n${errors}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return {
      url,
      stop: async () => {
        if (child.exitCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      },
    };
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
