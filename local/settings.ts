// What a local run generated and what the helper commands (`npm run send`, `npm run invoke`) need
// to reach it: kept in DATA_DIR/local.json, readable by the owner only.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';

const LocalSettings = z.object({
  serverUrl: z.string().optional(),
  webhookSecret: z.string().optional(),
  gateway: z
    .object({ url: z.string(), accessKeyId: z.string(), secretAccessKey: z.string(), embedded: z.boolean() })
    .optional(),
});
export type LocalSettings = z.infer<typeof LocalSettings>;

export function settingsFile(dataDir: string): string {
  return join(dataDir, 'local.json');
}

export function readLocalSettings(dataDir: string): LocalSettings {
  try {
    const parsed = LocalSettings.safeParse(JSON.parse(readFileSync(settingsFile(dataDir), 'utf8')));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

export function writeLocalSettings(dataDir: string, settings: LocalSettings): void {
  mkdirSync(dataDir, { recursive: true });
  const file = settingsFile(dataDir);
  writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}
