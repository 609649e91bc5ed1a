// A scripted HTTP peer for what the emulator cannot express: answers in the shapes other gateway
// versions print, redirects, stalled bodies, oversized answers. It does not check signatures.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PeerRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

export type PeerHandler = (request: IncomingMessage, response: ServerResponse) => void;

export interface Peer {
  readonly url: string;
  readonly requests: PeerRequest[];
  /** The next requests are answered by `handler`. */
  answer(handler: PeerHandler): void;
  close(): Promise<void>;
}

/** Answers JSON text as given (so numbers beyond 2^53 stay exact on the wire). */
export function rawJson(text: string, status = 200, headers: Record<string, string> = {}): PeerHandler {
  return (_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(text);
  };
}

export async function startPeer(): Promise<Peer> {
  const requests: PeerRequest[] = [];
  let handler: PeerHandler = rawJson('{}');
  const server = createServer((request, response) => {
    requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    request.resume();
    request.on('end', () => handler(request, response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answer(next) {
      handler = next;
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
