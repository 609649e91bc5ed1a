// The signing library: Signature V2 and V4 for the gateway, webhook signatures in and out.

export * from './sigv2.ts';
export * from './sigv4.ts';
export * from './webhooks.ts';
