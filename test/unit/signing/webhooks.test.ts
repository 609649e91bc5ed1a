// Webhook signatures: vectors, the standardwebhooks and stripe packages as oracles, rotation and tolerance.

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ConfigurationError, UnauthorizedError } from '../../../shared/errors.ts';
import type { WebhookSecret } from '../../../shared/signing/webhooks.ts';
import {
  generateWebhookSecret,
  parseWebhookSecrets,
  signStripe,
  signWebhook,
  verifyStripeSignature,
  verifyWebhook,
  webhookHeaders,
} from '../../../shared/signing/webhooks.ts';

const readVectors = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../vectors/${name}`, import.meta.url), 'utf8'));

const standardVectors = z
  .object({
    vectors: z.array(
      z.object({
        id: z.string(),
        secret: z.string(),
        msgId: z.string(),
        timestamp: z.number(),
        payload: z.string(),
        expectedSignatureHeader: z.string(),
        secretKeyBytesHex: z.string(),
      }),
    ),
    negativeVectors: z.array(
      z.object({
        id: z.string(),
        signatureHeader: z.string(),
        expectValid: z.boolean(),
        secret: z.string().optional(),
        payload: z.string().optional(),
        nowSeconds: z.number().optional(),
      }),
    ),
  })
  .parse(readVectors('standard-webhooks.json'));

const stripeVectors = z
  .object({
    vectors: z.array(
      z.object({
        id: z.string(),
        secret: z.string(),
        timestamp: z.number(),
        payload: z.string(),
        header: z.string(),
      }),
    ),
    negativeVectors: z.array(z.object({ id: z.string(), caseId: z.string(), expectValid: z.boolean() })),
  })
  .parse(readVectors('stripe.json'));

const [vector] = standardVectors.vectors;
if (vector === undefined) throw new Error('standard-webhooks.json holds no vector');
const at = (seconds: number): Date => new Date(seconds * 1000);

/** Runs `act` and returns the UnauthorizedError it throws (fails the test if it throws anything else). */
function unauthorized(act: () => unknown): UnauthorizedError {
  try {
    act();
  } catch (error) {
    if (error instanceof UnauthorizedError) return error;
    throw error;
  }
  throw new Error('expected an UnauthorizedError');
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Standard Webhooks: the published vector', () => {
  const secrets = parseWebhookSecrets(vector.secret);

  it('decodes the key and fingerprints it', () => {
    // Assess
    expect(secrets).toHaveLength(1);
    expect(Buffer.from(secrets[0]?.key ?? []).toString('hex')).toBe(vector.secretKeyBytesHex);
    expect(secrets[0]?.id).toBe('f74e1720');
  });

  it('signs it byte for byte', () => {
    // Act
    const headers = webhookHeaders(
      { id: vector.msgId, timestamp: vector.timestamp, body: vector.payload },
      secrets,
    );

    // Assess
    expect(headers).toEqual({
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': vector.expectedSignatureHeader,
    });
  });

  it.each(standardVectors.negativeVectors)('$id: valid = $expectValid', (negative) => {
    // Prepare
    const input = {
      headers: {
        'webhook-id': vector.msgId,
        'webhook-timestamp': String(vector.timestamp),
        'webhook-signature': negative.signatureHeader,
      },
      body: negative.payload ?? vector.payload,
      secrets: parseWebhookSecrets(negative.secret ?? vector.secret),
      now: at(negative.nowSeconds ?? vector.timestamp),
    };

    // Act
    const act = (): unknown => verifyWebhook(input);

    // Assess
    if (negative.expectValid) {
      expect(act()).toEqual({ id: vector.msgId, timestamp: vector.timestamp });
    } else {
      expect(act).toThrow(UnauthorizedError);
    }
  });

  it('gives the stable reasons for the negative vectors', () => {
    // Prepare
    const reasonFor = (id: string): string => {
      const negative = standardVectors.negativeVectors.find((candidate) => candidate.id === id);
      return unauthorized(() =>
        verifyWebhook({
          headers: {
            'webhook-id': vector.msgId,
            'webhook-timestamp': String(vector.timestamp),
            'webhook-signature': negative?.signatureHeader,
          },
          body: negative?.payload ?? vector.payload,
          secrets,
          now: at(negative?.nowSeconds ?? vector.timestamp),
        }),
      ).reason;
    };

    // Act / Assess
    expect(reasonFor('wrong-signature')).toBe('no_matching_signature');
    expect(reasonFor('body-altered')).toBe('no_matching_signature');
    expect(reasonFor('stale-timestamp')).toBe('timestamp_too_old');
  });
});

describe('Standard Webhooks: verification rules', () => {
  const [oldSecret, newSecret, otherSecret] = parseWebhookSecrets([
    generateWebhookSecret(),
    generateWebhookSecret(),
    generateWebhookSecret(),
  ]) as [WebhookSecret, WebhookSecret, WebhookSecret];
  const message = { id: 'msg_1', timestamp: 1_772_359_200, body: '{"type":"subscription.created"}' };
  const headersFor = (signers: readonly WebhookSecret[]): Record<string, string> =>
    webhookHeaders(message, signers);
  const verify = (
    headers: Record<string, string | undefined>,
    secrets: readonly WebhookSecret[],
    nowSeconds = message.timestamp,
  ) => verifyWebhook({ headers, body: message.body, secrets, now: at(nowSeconds) });

  it('signs once per secret, in order', () => {
    // Act
    const header = signWebhook(message, [oldSecret, newSecret]);

    // Assess
    expect(header.split(' ')).toEqual([signWebhook(message, [oldSecret]), signWebhook(message, [newSecret])]);
    expect(header).toMatch(/^v1,[A-Za-z0-9+/]{43}= v1,[A-Za-z0-9+/]{43}=$/);
  });

  it('accepts during rotation whichever side has the second secret', () => {
    // Prepare
    const both = headersFor([oldSecret, newSecret]);
    const onlyNew = headersFor([newSecret]);

    // Act / Assess
    expect(verify(both, [newSecret])).toEqual({ id: 'msg_1', timestamp: message.timestamp });
    expect(verify(both, [oldSecret])).toEqual({ id: 'msg_1', timestamp: message.timestamp });
    expect(verify(onlyNew, [oldSecret, newSecret])).toEqual({ id: 'msg_1', timestamp: message.timestamp });
    expect(unauthorized(() => verify(both, [otherSecret])).reason).toBe('no_matching_signature');
  });

  it('ignores entries tagged with another version, even when their value matches', () => {
    // Prepare
    const valid = signWebhook(message, [newSecret]).slice('v1,'.length);
    const headers = { ...headersFor([newSecret]), 'webhook-signature': `v1a,${valid} v2,${valid}` };

    // Act / Assess
    expect(unauthorized(() => verify(headers, [newSecret])).reason).toBe('no_matching_signature');
  });

  it.each([
    [300, 'ok'],
    [301, 'timestamp_too_old'],
    [-300, 'ok'],
    [-301, 'timestamp_too_new'],
  ])('with the clock %i s after the timestamp: %s', (offset, expected) => {
    // Prepare
    const headers = headersFor([newSecret]);

    // Act
    const outcome = (): string => {
      try {
        verify(headers, [newSecret], message.timestamp + offset);
        return 'ok';
      } catch (error) {
        return error instanceof UnauthorizedError ? error.reason : 'other';
      }
    };

    // Assess
    expect(outcome()).toBe(expected);
  });

  it('honours toleranceSeconds', () => {
    // Prepare
    const headers = headersFor([newSecret]);
    const input = { headers, body: message.body, secrets: [newSecret], toleranceSeconds: 10 };

    // Act / Assess
    expect(verifyWebhook({ ...input, now: at(message.timestamp + 10) }).timestamp).toBe(message.timestamp);
    expect(unauthorized(() => verifyWebhook({ ...input, now: at(message.timestamp + 11) })).reason).toBe(
      'timestamp_too_old',
    );
  });

  it('refuses a body with one byte changed, and verifies raw bytes as given', () => {
    // Prepare
    const bytes = Buffer.from(message.body, 'utf8');
    const headers = headersFor([newSecret]);
    const tampered = Buffer.from(bytes);
    tampered[5] = (tampered[5] ?? 0) ^ 0x01;

    // Act / Assess
    expect(verifyWebhook({ headers, body: bytes, secrets: [newSecret], now: at(message.timestamp) }).id).toBe(
      'msg_1',
    );
    expect(
      unauthorized(() =>
        verifyWebhook({ headers, body: tampered, secrets: [newSecret], now: at(message.timestamp) }),
      ).reason,
    ).toBe('no_matching_signature');
  });

  it.each([
    ['webhook-id', 'missing header(s): webhook-id'],
    ['webhook-timestamp', 'missing header(s): webhook-timestamp'],
    ['webhook-signature', 'missing header(s): webhook-signature'],
  ])('refuses a request without %s', (name, text) => {
    // Prepare
    const headers: Record<string, string | undefined> = { ...headersFor([newSecret]), [name]: undefined };

    // Act
    const error = unauthorized(() => verify(headers, [newSecret]));

    // Assess
    expect(error.reason).toBe('missing_headers');
    expect(error.message).toBe(text);
  });

  it.each(['abc', '-5', '1.5', '1e9', ' 1772359200', '9999999999999999'])(
    'refuses the timestamp %j',
    (timestamp) => {
      // Prepare
      const headers = { ...headersFor([newSecret]), 'webhook-timestamp': timestamp };

      // Act / Assess
      expect(unauthorized(() => verify(headers, [newSecret])).reason).toBe('invalid_timestamp');
    },
  );

  it('refuses to verify with no secret configured', () => {
    // Act / Assess
    expect(unauthorized(() => verify(headersFor([newSecret]), [])).reason).toBe('invalid_secret');
  });
});

describe('Webhook secrets', () => {
  it('reads several secrets from one space-separated string, with or without the prefix', () => {
    // Act
    const secrets = parseWebhookSecrets(`  ${vector.secret}   MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw  `);

    // Assess
    expect(secrets.map((secret) => secret.id)).toEqual(['f74e1720', 'f74e1720']);
  });

  it('generates whsec_ + base64 of 32 random bytes', () => {
    // Act
    const first = generateWebhookSecret();
    const second = generateWebhookSecret();

    // Assess
    expect(first).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(parseWebhookSecrets(first)[0]?.key).toHaveLength(32);
    expect(first).not.toBe(second);
  });

  it.each([
    ['', 'billing.webhookSecrets: no webhook secret given'],
    [[], 'billing.webhookSecrets: no webhook secret given'],
    ['whsec_not*base64!', "billing.webhookSecrets: the secret is not 'whsec_' followed by base64"],
    [
      'whsec_c2hvcnQ=',
      'billing.webhookSecrets: the secret decodes to 5 bytes; Standard Webhooks keys are 24 to 64 bytes',
    ],
    [
      [vector.secret, 'whsec_abc'],
      "billing.webhookSecrets: secret 2 of 2 is not 'whsec_' followed by base64",
    ],
  ])('refuses %j naming the field, never the value', (input, message) => {
    // Act
    const act = (): unknown => parseWebhookSecrets(input, 'billing.webhookSecrets');

    // Assess
    expect(act).toThrow(ConfigurationError);
    expect(act).toThrow(message);
  });
});

describe('Standard Webhooks: the reference library as the other end', () => {
  it('verifies what the standardwebhooks package signs', () => {
    // Prepare
    const secret = generateWebhookSecret();
    const signature = new Webhook(secret).sign('msg_oracle', at(1_772_359_200), '{"a":"é"}');

    // Act
    const result = verifyWebhook({
      headers: {
        'webhook-id': 'msg_oracle',
        'webhook-timestamp': '1772359200',
        'webhook-signature': signature,
      },
      body: '{"a":"é"}',
      secrets: parseWebhookSecrets(secret),
      now: at(1_772_359_200),
    });

    // Assess
    expect(result).toEqual({ id: 'msg_oracle', timestamp: 1_772_359_200 });
  });

  it('is verified by the standardwebhooks package, with a rotation list of signatures', () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['Date'], now: at(1_772_359_200) });
    const [first, second] = [generateWebhookSecret(), generateWebhookSecret()];
    const headers = webhookHeaders(
      { id: 'msg_ours', timestamp: 1_772_359_200, body: '{"ok":true}' },
      parseWebhookSecrets([first, second]),
    );

    // Act
    const theirs = new Webhook(second).verify('{"ok":true}', headers);

    // Assess
    expect(theirs).toEqual({ ok: true });
    expect(() => new Webhook(generateWebhookSecret()).verify('{"ok":true}', headers)).toThrow(
      'No matching signature found',
    );
  });

  it('agrees with it both ways on random messages and secrets', () => {
    vi.useFakeTimers({ toFake: ['Date'], now: at(1_772_359_200) });
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 24, maxLength: 64 }),
        fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }),
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        (keyBytes, id, body) => {
          // Prepare
          const secret = `whsec_${Buffer.from(keyBytes).toString('base64')}`;
          const ours = parseWebhookSecrets(secret);
          const reference = new Webhook(secret);
          const headers = webhookHeaders({ id, timestamp: 1_772_359_200, body }, ours);

          // Act
          const theirSignature = reference.sign(id, at(1_772_359_200), body);

          // Assess
          expect(headers['webhook-signature']).toBe(theirSignature);
          expect(() => reference.verify(body, headers, { jsonParse: false })).not.toThrow();
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('Standard Webhooks: sign → verify round trip', () => {
  it('verifies with any one of the signing secrets and refuses a tampered body', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 24, maxLength: 64 }), { minLength: 1, maxLength: 3 }),
        fc.nat(),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 4_000_000_000 }),
        fc.uint8Array({ minLength: 1, maxLength: 256 }),
        fc.nat(),
        (keys, pick, id, timestamp, body, flip) => {
          // Prepare
          const secrets = parseWebhookSecrets(
            keys.map((key) => `whsec_${Buffer.from(key).toString('base64')}`),
          );
          const verifier = secrets[pick % secrets.length] as WebhookSecret;
          const headers = webhookHeaders({ id, timestamp, body }, secrets);
          const tampered = Uint8Array.from(body);
          const index = flip % tampered.length;
          tampered[index] = (tampered[index] ?? 0) ^ 0x80;

          // Act
          const result = verifyWebhook({ headers, body, secrets: [verifier], now: at(timestamp) });
          const refused = unauthorized(() =>
            verifyWebhook({ headers, body: tampered, secrets: [verifier], now: at(timestamp) }),
          );

          // Assess
          expect(result).toEqual({ id, timestamp });
          expect(refused.reason).toBe('no_matching_signature');
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('Stripe-Signature: the vectors', () => {
  it.each(stripeVectors.vectors)('$id: verifies and is reproduced by signStripe', (stripeVector) => {
    // Act
    const result = verifyStripeSignature({
      header: stripeVector.header,
      body: stripeVector.payload,
      secrets: [stripeVector.secret],
      now: at(stripeVector.timestamp),
    });

    // Assess
    expect(result).toEqual({ timestamp: stripeVector.timestamp });
    expect(
      signStripe({ timestamp: stripeVector.timestamp, body: stripeVector.payload }, [stripeVector.secret]),
    ).toBe(stripeVector.header);
  });

  it.each(stripeVectors.negativeVectors)('$id: refused at the real current time', (negative) => {
    // Prepare
    const stripeVector = stripeVectors.vectors.find((candidate) => candidate.id === negative.caseId);

    // Act
    const error = unauthorized(() =>
      verifyStripeSignature({
        header: stripeVector?.header,
        body: stripeVector?.payload ?? '',
        secrets: [stripeVector?.secret ?? ''],
      }),
    );

    // Assess
    expect(negative.expectValid).toBe(false);
    expect(error.reason).toBe('timestamp_too_old');
  });

  it('uses the whole whsec_ string as the key, not its base64 decoding', () => {
    // Prepare
    const stripeVector = stripeVectors.vectors[0];
    const input = {
      header: stripeVector?.header,
      body: stripeVector?.payload ?? '',
      now: at(stripeVector?.timestamp ?? 0),
    };

    // Act / Assess
    expect(unauthorized(() => verifyStripeSignature({ ...input, secrets: ['test_secret'] })).reason).toBe(
      'no_matching_signature',
    );
  });
});

describe('Stripe-Signature: verification rules', () => {
  const secret = 'whsec_rotation_current';
  const body = '{"id":"evt_1","object":"event"}';
  const timestamp = 1_772_359_200;
  const verify = (header: string | undefined, secrets: readonly string[], nowSeconds = timestamp) =>
    verifyStripeSignature({ header, body, secrets, now: at(nowSeconds) });

  it('accepts any v1 against any secret, ignoring v0 and unknown schemes', () => {
    // Prepare
    const valid = signStripe({ timestamp, body }, [secret]).split(',')[1] ?? '';
    const header = `t=${timestamp},v0=${'0'.repeat(64)},v1=${'1'.repeat(64)},x=y,${valid}`;

    // Act / Assess
    expect(verify(header, ['whsec_old', secret])).toEqual({ timestamp });
    expect(unauthorized(() => verify(header, ['whsec_old'])).reason).toBe('no_matching_signature');
    expect(unauthorized(() => verify(`t=${timestamp},v0=${valid.slice(3)}`, [secret])).reason).toBe(
      'no_matching_signature',
    );
  });

  it('signs once per secret for rotation', () => {
    // Act
    const header = signStripe({ timestamp, body }, ['whsec_old', secret]);

    // Assess
    expect(header).toMatch(/^t=1772359200,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect(verify(header, [secret])).toEqual({ timestamp });
    expect(verify(header, ['whsec_old'])).toEqual({ timestamp });
  });

  it.each([
    [300, 'ok'],
    [301, 'timestamp_too_old'],
    [-300, 'ok'],
    [-301, 'timestamp_too_new'],
  ])('with the clock %i s after t: %s', (offset, expected) => {
    // Prepare
    const header = signStripe({ timestamp, body }, [secret]);

    // Act
    const outcome = (): string => {
      try {
        verify(header, [secret], timestamp + offset);
        return 'ok';
      } catch (error) {
        return error instanceof UnauthorizedError ? error.reason : 'other';
      }
    };

    // Assess
    expect(outcome()).toBe(expected);
  });

  it('refuses a body with one byte changed', () => {
    // Prepare
    const header = signStripe({ timestamp, body }, [secret]);

    // Act / Assess
    expect(
      unauthorized(() =>
        verifyStripeSignature({
          header,
          body: body.replace('evt_1', 'evt_2'),
          secrets: [secret],
          now: at(timestamp),
        }),
      ).reason,
    ).toBe('no_matching_signature');
  });

  it.each([
    [undefined, 'missing_headers'],
    ['', 'missing_headers'],
    [`v1=${'a'.repeat(64)}`, 'invalid_timestamp'],
    [`t=abc,v1=${'a'.repeat(64)}`, 'invalid_timestamp'],
    [`t=1,t=2,v1=${'a'.repeat(64)}`, 'invalid_timestamp'],
    [`t=${timestamp}`, 'no_matching_signature'],
  ])('refuses the header %j with %s', (header, reason) => {
    // Act / Assess
    expect(unauthorized(() => verify(header, [secret])).reason).toBe(reason);
  });

  it('refuses to verify with no secret configured', () => {
    // Prepare
    const header = signStripe({ timestamp, body }, [secret]);

    // Act / Assess
    expect(unauthorized(() => verify(header, [])).reason).toBe('invalid_secret');
    expect(unauthorized(() => verify(header, [''])).reason).toBe('invalid_secret');
  });
});

describe('Stripe-Signature: the stripe package as the other end', () => {
  const secret = 'whsec_oracle_secret';

  it('verifies what stripe.webhooks.generateTestHeaderString signs', () => {
    // Prepare
    const payload = JSON.stringify({ id: 'evt_oracle', object: 'event', data: { amount: 1000 } });
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: 1_772_359_200 });

    // Act
    const result = verifyStripeSignature({
      header,
      body: payload,
      secrets: [secret],
      now: at(1_772_359_200),
    });

    // Assess
    expect(result).toEqual({ timestamp: 1_772_359_200 });
  });

  it('is verified by stripe.webhooks.constructEvent', () => {
    // Prepare
    const payload = JSON.stringify({ id: 'evt_ours', object: 'event' });
    const header = signStripe({ timestamp: 1_772_359_200, body: payload }, ['whsec_other', secret]);

    // Act
    const event = Stripe.webhooks.constructEvent(payload, header, secret, 300, undefined, 1_772_359_200_000);

    // Assess
    expect(event.id).toBe('evt_ours');
    expect(() =>
      Stripe.webhooks.constructEvent(payload, header, 'whsec_unrelated', 300, undefined, 1_772_359_200_000),
    ).toThrow('No signatures found matching the expected signature for payload');
  });

  it('agrees with it on random bodies and secrets', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^whsec_[A-Za-z0-9]{1,40}$/),
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        fc.integer({ min: 1, max: 4_000_000_000 }),
        (randomSecret, payload, t) => {
          // Prepare
          const theirs = Stripe.webhooks.generateTestHeaderString({
            payload,
            secret: randomSecret,
            timestamp: t,
          });

          // Act
          const ours = signStripe({ timestamp: t, body: payload }, [randomSecret]);

          // Assess
          expect(ours).toBe(theirs);
          expect(
            verifyStripeSignature({ header: theirs, body: payload, secrets: [randomSecret], now: at(t) }),
          ).toEqual({
            timestamp: t,
          });
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('Error messages carry no secret and no signature', () => {
  it('for every refusal', () => {
    // Prepare
    const secretText = generateWebhookSecret();
    const secrets = parseWebhookSecrets(secretText);
    const message = { id: 'msg_leak', timestamp: 1_772_359_200, body: 'body' };
    const headers = webhookHeaders(message, secrets);
    const otherSignature = signWebhook(message, parseWebhookSecrets(generateWebhookSecret()));
    const stripeSecret = 'whsec_stripe_leak_check';
    const stripeHeader = signStripe({ timestamp: message.timestamp, body: 'body' }, [stripeSecret]);
    const now = at(message.timestamp);
    const errors = [
      unauthorized(() =>
        verifyWebhook({
          headers: { ...headers, 'webhook-signature': otherSignature },
          body: 'body',
          secrets,
          now,
        }),
      ),
      unauthorized(() => verifyWebhook({ headers, body: 'other', secrets, now })),
      unauthorized(() => verifyWebhook({ headers, body: 'body', secrets, now: at(0) })),
      unauthorized(() =>
        verifyWebhook({ headers: { ...headers, 'webhook-id': undefined }, body: 'body', secrets, now }),
      ),
      unauthorized(() =>
        verifyStripeSignature({ header: stripeHeader, body: 'other', secrets: [stripeSecret], now }),
      ),
      unauthorized(() =>
        verifyStripeSignature({ header: stripeHeader, body: 'body', secrets: ['whsec_x'], now }),
      ),
      unauthorized(() =>
        verifyStripeSignature({
          header: stripeHeader,
          body: 'body',
          secrets: [stripeSecret],
          now: at(message.timestamp + 1000),
        }),
      ),
    ];
    const configErrors = [`${secretText} whsec_bad!`, `${secretText.slice(0, 20)}`].map((input) => {
      try {
        parseWebhookSecrets(input, 'cfg');
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
      return 'no error';
    });

    // Act
    const texts = [...errors.map((error) => `${error.message} ${error.reason}`), ...configErrors];

    // Assess
    expect(errors.map((error) => error.reason)).toEqual([
      'no_matching_signature',
      'no_matching_signature',
      'timestamp_too_new',
      'missing_headers',
      'no_matching_signature',
      'no_matching_signature',
      'timestamp_too_old',
    ]);
    expect(configErrors).toEqual([
      "cfg: secret 2 of 2 is not 'whsec_' followed by base64",
      "cfg: the secret is not 'whsec_' followed by base64",
    ]);
    const forbidden = [
      secretText,
      secretText.slice('whsec_'.length),
      headers['webhook-signature'].slice('v1,'.length),
      otherSignature.slice('v1,'.length),
      stripeSecret,
      stripeHeader.split('v1=')[1] ?? '',
    ];
    for (const text of texts) {
      for (const value of forbidden) expect(text).not.toContain(value);
    }
  });
});
