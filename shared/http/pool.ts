// undici's Pool without the rest of undici, and one lean way to send a request through it.
//
// Why a deep import: importing the package root pulls in every dispatcher, fetch, WebSocket,
// EventSource, the mock agents and the cache layers. Measured (`npm run bench -- bundles`, and
// BENCHMARKS.md "undici"): 241 KB more per Lambda bundle (provision 762 → 1,003 KB, over the
// 800 KB limit) and about 130 ms more cold import, because the root's CommonJS requires all of it
// eagerly (and with it node:http2, web streams, node:sqlite...), which no bundler can tree-shake.
// So this module loads the one module the root itself exports as `Pool`; undici has no exports
// map, so the path is importable, and test/unit/http/pool.test.ts fails should it ever stop being
// the very class the root exports. Everything else here is undici's public Dispatcher API
// (`dispatch` with a DispatchHandler), not its internals.
//
// Why not undici's `request`: it wraps every response in an AsyncResource and a Readable stream
// the caller then drains; the gateway client, the usage sinks and the billing clients only ever
// want the whole (small) body. Collecting the chunks in the handler costs a fraction of that
// per request (measured in BENCHMARKS.md, usage sweep), which is most of a sweep's CPU.
import type { Dispatcher } from 'undici';
import UndiciPool from 'undici/lib/dispatcher/pool.js';

export type ResponseHeaders = Readonly<Record<string, string | string[] | undefined>>;

export interface HttpRequest {
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** Path and query, already encoded. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Overrides the pool's timeout to the response headers, milliseconds. */
  readonly headersTimeout?: number;
  /** Overrides the pool's timeout between two body chunks, milliseconds. */
  readonly bodyTimeout?: number;
  /**
   * The whole exchange, queueing for a connection included, must be over within this many
   * milliseconds; past it the request is aborted with a `TimeoutError`.
   */
  readonly timeoutMs?: number;
  /**
   * Keep at most this many bytes of the body. Past it, the answer is settled with what was read
   * (`truncated: true`) and the connection is closed rather than drained. Default: keep it all
   * (the pool's `maxResponseSize` still bounds it).
   */
  readonly keepBytes?: number;
}

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: ResponseHeaders;
  /** The body as UTF-8 text ('' when empty). */
  readonly body: string;
  /** True when the body was longer than `keepBytes` and only its start was read. */
  readonly truncated: boolean;
}

/**
 * A keep-alive pool to an HTTP API as the usage sinks and the billing clients use one: one request
 * per connection at a time, idle connections kept 4 s, connected within 5 s (or `timeoutMs` if
 * shorter), the answer's headers and each of its body chunks within `timeoutMs`.
 */
export function apiPool(origin: string, connections: number, timeoutMs: number): Pool {
  return new Pool(origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 4_000,
    connect: { timeout: Math.min(5_000, timeoutMs) },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
}

/** A keep-alive connection pool to one origin. */
export class Pool extends UndiciPool {
  /** Sends one request and answers the whole response. Rejects with undici's error (its `code`) on a transport failure. */
  send(request: HttpRequest): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      const handler = new Collector(resolve, reject, request.keepBytes, request.timeoutMs);
      const options: Dispatcher.DispatchOptions = {
        method: request.method,
        path: request.path,
        ...(request.headers === undefined ? {} : { headers: request.headers }),
        ...(request.body === undefined ? {} : { body: request.body }),
        ...(request.headersTimeout === undefined ? {} : { headersTimeout: request.headersTimeout }),
        ...(request.bodyTimeout === undefined ? {} : { bodyTimeout: request.bodyTimeout }),
      };
      try {
        this.dispatch(options, handler);
      } catch (error) {
        handler.fail(error);
      }
    });
  }
}

/** Gathers one response; settles its promise exactly once. */
class Collector implements Dispatcher.DispatchHandler {
  readonly #resolve: (response: HttpResponse) => void;
  readonly #reject: (error: unknown) => void;
  readonly #keepBytes: number;
  #controller: Dispatcher.DispatchController | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #abortReason: Error | undefined;
  #settled = false;
  #statusCode = 0;
  #headers: ResponseHeaders = {};
  #chunks: Buffer[] = [];
  #bytes = 0;

  constructor(
    resolve: (response: HttpResponse) => void,
    reject: (error: unknown) => void,
    keepBytes: number | undefined,
    timeoutMs: number | undefined,
  ) {
    this.#resolve = resolve;
    this.#reject = reject;
    this.#keepBytes = keepBytes ?? Number.POSITIVE_INFINITY;
    if (timeoutMs !== undefined) this.#timer = setTimeout(() => this.#timeOut(), timeoutMs);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // Timed out while it waited for a connection.
    if (this.#abortReason !== undefined) controller.abort(this.#abortReason);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: ResponseHeaders,
  ): void {
    this.#statusCode = statusCode;
    this.#headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    const room = this.#keepBytes - this.#bytes;
    if (chunk.length <= room) {
      this.#chunks.push(chunk);
      this.#bytes += chunk.length;
      return;
    }
    if (room > 0) this.#chunks.push(chunk.subarray(0, room));
    this.#bytes += room;
    this.#succeed(true);
    // What is left is not wanted: close the connection instead of reading it.
    controller.abort(new Error('response body not wanted past keepBytes'));
  }

  onResponseEnd(): void {
    this.#succeed(false);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  fail(error: unknown): void {
    if (this.#settled) return;
    this.#settle();
    this.#reject(error);
  }

  #succeed(truncated: boolean): void {
    if (this.#settled) return;
    this.#settle();
    const chunks = this.#chunks;
    const body =
      chunks.length === 0
        ? ''
        : chunks.length === 1
          ? (chunks[0] as Buffer).toString('utf8')
          : Buffer.concat(chunks, this.#bytes).toString('utf8');
    this.#chunks = [];
    this.#resolve({ statusCode: this.#statusCode, headers: this.#headers, body, truncated });
  }

  #settle(): void {
    this.#settled = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }

  #timeOut(): void {
    const reason = new DOMException('the request timed out', 'TimeoutError');
    this.#abortReason = reason;
    if (this.#controller !== undefined) this.#controller.abort(reason);
    // Settle now even if undici has yet to hand the request a connection.
    this.fail(reason);
  }
}
