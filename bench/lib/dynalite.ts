// DynamoDB on 127.0.0.1 for tests and benchmarks: dynalite (DynamoDB's API over LevelDB, in memory),
// with a client of the real SDK and tables made as the stack makes them (partition key `id`).
// Shared by the DynamoDB adapters' tests, the handler and bundle tests, and the bundles benchmark.
import { randomUUID } from 'node:crypto';
import { Agent as HttpsAgent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';

export interface LocalDynamo {
  /** `http://127.0.0.1:<port>`, or https with `ssl`. */
  readonly endpoint: string;
  /** A client of the real SDK for this server (local credentials; the certificate trusted). */
  readonly client: DynamoDBClient;
  /** A new table keyed on `id` (string), on demand, once it is ACTIVE; named `prefix-<uuid>` unless `name` is given. */
  newTable(options?: { readonly name?: string; readonly prefix?: string }): Promise<string>;
  close(): Promise<void>;
}

export interface LocalDynamoOptions {
  /**
   * https with dynalite's own self-signed certificate, as DynamoDB is reached on Lambda. Clients
   * other than `client` must not verify it (NODE_TLS_REJECT_UNAUTHORIZED=0 for a child process).
   */
  readonly ssl?: boolean;
}

export async function startDynalite(options: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  const ssl = options.ssl === true;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ssl });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const endpoint = `${ssl ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...(ssl ? { requestHandler: { httpsAgent: new HttpsAgent({ rejectUnauthorized: false }) } } : {}),
  });
  return {
    endpoint,
    client,
    async newTable({ name, prefix = 'table' } = {}) {
      const table = name ?? `${prefix}-${randomUUID()}`;
      await client.send(
        new CreateTableCommand({
          TableName: table,
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      // dynalite turns a table ACTIVE on a timer: under load a request could arrive before it.
      for (;;) {
        const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
        if (Table?.TableStatus === 'ACTIVE') return table;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
