// The runtime most handler tests run on: the gateway emulator, reached as its system user, and
// whatever else a test configures (DATA_DIR, secrets, billing settings) as environment variables.
import type { SystemUserCredentials } from '../../emulator/gateway.ts';
import { loadConfig } from '../../shared/config.ts';
import { createRuntime, type Runtime } from '../../shared/runtime/runtime.ts';

export function emulatorRuntime(
  gateway: { readonly url: string },
  system: Pick<SystemUserCredentials, 'accessKeyId' | 'secretAccessKey'>,
  env: Readonly<Record<string, string>>,
): Runtime {
  return createRuntime(
    loadConfig({
      OSTOR_GATEWAY_URL: gateway.url,
      OSTOR_ACCESS_KEY_ID: system.accessKeyId,
      OSTOR_SECRET_ACCESS_KEY: system.secretAccessKey,
      ...env,
    }),
  );
}
