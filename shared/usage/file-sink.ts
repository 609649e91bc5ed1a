// Without USAGE_WEBHOOK_URL usage goes to DATA_DIR/usage.ndjson: one line per message,
// `{"id":"<webhook-id>",...the body's fields}`. A line counts as acknowledged once it is written
// and fsynced. Concurrent deliveries share one write and one fsync (group commit), so the file
// costs one fsync per batch rather than per message.
import { closeSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { OutboundMessage } from './messages.ts';
import type { DeliveryOutcome, UsageSink } from './sink.ts';

/** How far back a torn last line is looked for (messages are a few KB; objects with many records more). */
const TORN_LINE_WINDOW = 4 * 1024 * 1024;

interface Pending {
  readonly line: string;
  readonly resolve: (outcome: DeliveryOutcome) => void;
}

/** One NDJSON line: the webhook-id first, then the body's own fields. */
export function ndjsonLine(message: OutboundMessage): string {
  if (!message.body.startsWith('{')) throw new TypeError('a usage message body is a JSON object');
  const rest = message.body.slice(1).trimStart();
  return `{"id":${JSON.stringify(message.id)}${rest.startsWith('}') ? '' : ','}${rest}\n`;
}

export class NdjsonSink implements UsageSink {
  readonly kind = 'file';
  readonly target: string;
  #handle: FileHandle | undefined;
  #queue: Pending[] = [];
  #writing: Promise<void> | undefined;

  constructor(file: string) {
    this.target = file;
  }

  deliver(message: OutboundMessage): Promise<DeliveryOutcome> {
    const line = ndjsonLine(message);
    return new Promise((resolve) => {
      this.#queue.push({ line, resolve });
      this.#kick();
    });
  }

  async close(): Promise<void> {
    while (this.#writing !== undefined) await this.#writing;
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }

  #kick(): void {
    if (this.#writing !== undefined) return;
    this.#writing = this.#drain().finally(() => {
      this.#writing = undefined;
      if (this.#queue.length > 0) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      /** Where the batch starts: the file is taken back to here if it is not acknowledged. */
      let start: number | undefined;
      try {
        const handle = await this.#open();
        start = (await handle.stat()).size;
        await handle.write(batch.map((pending) => pending.line).join(''));
        await handle.datasync();
        for (const pending of batch) pending.resolve({ ok: true, attempts: 1, status: 200 });
      } catch (error) {
        // Not acknowledged, so every message of the batch is sent again later: take back whatever
        // of it reached the file (whole lines whose fsync failed, or a torn one), so the retry
        // leaves each line once. Best effort: if that fails too, reopening still cuts a torn line.
        const handle = this.#handle;
        this.#handle = undefined;
        if (handle !== undefined && start !== undefined) {
          await handle
            .truncate(start)
            .then(() => handle.datasync())
            .catch(() => {});
        }
        await handle?.close().catch(() => {});
        const reason = `cannot append to ${this.target}: ${(error as Error).message}`;
        for (const pending of batch) pending.resolve({ ok: false, attempts: 1, status: undefined, reason });
      }
    }
  }

  async #open(): Promise<FileHandle> {
    if (this.#handle !== undefined) return this.#handle;
    mkdirSync(dirname(this.target), { recursive: true });
    const handle = await open(this.target, 'a+');
    try {
      const { size } = await handle.stat();
      if (size === 0) {
        // A new file: make its directory entry durable too.
        const folder = openSync(dirname(this.target), 'r');
        try {
          fsyncSync(folder);
        } finally {
          closeSync(folder);
        }
      } else {
        // A crash mid-append leaves a line without its newline. That line was never acknowledged
        // (its fsync did not complete), so its message will be written again: cut it off, so
        // every line of the file stays valid JSON for whoever reads it.
        const window = Math.min(size, TORN_LINE_WINDOW);
        const tail = Buffer.alloc(window);
        await handle.read(tail, 0, window, size - window);
        if (tail[window - 1] !== 0x0a) {
          const newline = tail.lastIndexOf(0x0a);
          if (newline >= 0 || window === size) {
            await handle.truncate(size - window + newline + 1);
            await handle.datasync();
          } else {
            // A single line longer than the window: end it rather than guess where it began.
            await handle.write('\n');
          }
        }
      }
    } catch (error) {
      await handle.close();
      throw error;
    }
    this.#handle = handle;
    return handle;
  }
}
