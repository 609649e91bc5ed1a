// Every log line passes through `redact`: secrets under secret-looking keys and secret-looking
// values anywhere are masked before printing.
import { describe, expect, it, vi } from 'vitest';
import { createLogger, REDACTED, redact } from '../../../shared/runtime/logging.ts';

describe('redact', () => {
  it('masks values under secret-looking keys at any depth, and keeps the rest', () => {
    // Prepare
    const record = {
      userId: 'b81d6c5f895a8c86',
      accessKeys: [
        { accessKeyId: 'b81d6c5f895a8c86DF4M', secretAccessKey: 'QCb17BzeepyvUAdJeFNFYW9fCzbq0uFa16e5pGm' },
      ],
      headers: { authorization: 'AWS b81d6c5f895a8c86DF4M:abc=', 'webhook-signature': 'v1,xyz=' },
      nested: { deeper: { password: 'hunter2', count: 3 } },
    };
    // Act
    const masked = JSON.stringify(redact(record));
    // Assess
    expect(masked).not.toContain('QCb17Bzeepyv');
    expect(masked).not.toContain('abc=');
    expect(masked).not.toContain('v1,xyz=');
    expect(masked).not.toContain('hunter2');
    expect(masked).toContain('b81d6c5f895a8c86DF4M');
    expect(masked).toContain('"count":3');
    expect(redact(record)).toMatchObject({ accessKeys: [{ secretAccessKey: REDACTED }] });
  });

  it('masks webhook secrets and Authorization values inside free text, and in errors', () => {
    // Prepare
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const error = new Error(
      `bad header AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg= with ${secret}`,
    );
    // Act
    const masked = JSON.stringify(redact({ message: `configured ${secret}`, cause: error }));
    // Assess
    expect(masked).not.toContain('MfKQ9r8GKYqr');
    expect(masked).not.toContain('frJIUN8DYpKD');
    expect(masked).toContain('bad header');
  });

  it('keeps the error underneath an error (its cause chain), redacted alike', () => {
    // Prepare: what Powertools throws when the idempotency table cannot be written.
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const root = Object.assign(new Error(`Cannot find package with ${secret}`), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const outer = new Error('Failed to save in progress record to idempotency store', { cause: root });
    // Act
    const masked = redact({ cause: outer }) as { cause: Record<string, unknown> };
    // Assess
    expect(masked.cause).toMatchObject({
      message: 'Failed to save in progress record to idempotency store',
      cause: { name: 'Error', code: 'ERR_MODULE_NOT_FOUND', message: `Cannot find package with ${REDACTED}` },
    });
    expect(JSON.stringify(masked)).not.toContain('MfKQ9r8GKYqr');
    // A cause cycle ends at the depth limit instead of recursing forever.
    const cyclic = new Error('a');
    cyclic.cause = cyclic;
    expect(JSON.stringify(redact(cyclic))).toContain('[depth]');
  });

  it('is applied by the logger to every line it prints', () => {
    // Prepare
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
    const printed: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
    // Act
    try {
      createLogger('test').info('issued', {
        accessKeyId: 'AKIDEXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG',
      });
    } finally {
      spy.mockRestore();
      vi.unstubAllEnvs();
    }
    // Assess
    const line = printed.join('');
    expect(line).toContain('"accessKeyId":"AKIDEXAMPLE"');
    expect(line).not.toContain('wJalrXUtnFEMI');
    expect(line).toContain(REDACTED);
  });
});
