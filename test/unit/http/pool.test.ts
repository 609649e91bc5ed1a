// shared/http/pool.ts: the Pool it loads by path is undici's public Pool, and `send` answers whole
// responses, bounds what it keeps, and times out as the sinks and the gateway client rely on.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Pool } from '../../../shared/http/pool.ts';

const servers: Server[] = [];
const pools: Pool[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.destroy()));
  await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))));
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function pool(origin: string, connections = 4): Pool {
  const created = new Pool(origin, { connections, pipelining: 1 });
  pools.push(created);
  return created;
}

describe('Pool', () => {
  it('is undici’s public Pool class, loaded without the package root', () => {
    const require = createRequire(import.meta.url);
    const root = require('undici') as { Pool: unknown };
    const byPath = require('undici/lib/dispatcher/pool.js') as unknown;
    expect(byPath).toBe(root.Pool);
    expect(Object.getPrototypeOf(Pool)).toBe(root.Pool);
  });

  it('sends method, path, headers and body, and answers status, headers and the whole body', async () => {
    const seen: { method: string | undefined; url: string | undefined; header: string; body: string }[] = [];
    const big = 'é'.repeat(100_000); // several chunks, a multi-byte character across their edges
    const origin = await serve((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, header: req.headers['x-test'] as string, body });
        res.writeHead(201, { 'x-answer': 'yes' });
        res.end(big);
      });
    });
    const response = await pool(origin).send({
      method: 'POST',
      path: '/hook?a=1',
      headers: { 'x-test': 'one' },
      body: '{"ok":true}',
    });
    expect(seen).toEqual([{ method: 'POST', url: '/hook?a=1', header: 'one', body: '{"ok":true}' }]);
    expect(response.statusCode).toBe(201);
    expect(response.headers['x-answer']).toBe('yes');
    expect(response.body).toBe(big);
    expect(response.truncated).toBe(false);
  });

  it('keeps only keepBytes of a long body and still answers its status', async () => {
    const origin = await serve((_req, res) => {
      res.writeHead(200);
      res.end('x'.repeat(200_000));
    });
    const response = await pool(origin).send({ method: 'GET', path: '/', keepBytes: 1_000 });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('x'.repeat(1_000));
    expect(response.truncated).toBe(true);
  });

  it('times out a request that gets no answer, with a TimeoutError', async () => {
    const origin = await serve(() => {
      // never answers
    });
    const started = Date.now();
    await expect(pool(origin).send({ method: 'GET', path: '/', timeoutMs: 200 })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('counts time queued for a connection against timeoutMs, and the queued request never goes out', async () => {
    let requests = 0;
    const origin = await serve((_req, res) => {
      requests += 1;
      setTimeout(() => res.end('late'), 600);
    });
    const one = pool(origin, 1);
    const first = one.send({ method: 'GET', path: '/first' });
    const second = one.send({ method: 'GET', path: '/second', timeoutMs: 100 });
    await expect(second).rejects.toMatchObject({ name: 'TimeoutError' });
    expect((await first).body).toBe('late');
    // Were it sent once the connection came free, the server would see it well within this.
    await new Promise((done) => setTimeout(done, 300));
    expect(requests).toBe(1);
  });

  it('rejects with undici’s error code when nothing listens', async () => {
    const origin = await serve(() => {});
    const closed = servers.pop() as Server;
    await new Promise((done) => closed.close(done));
    await expect(pool(origin).send({ method: 'GET', path: '/' })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });
});
