// dynalite ships no types: the little of it bench/lib/dynalite.ts uses.
declare module 'dynalite' {
  import type { Server } from 'node:http';
  export interface DynaliteOptions {
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
    /** https with dynalite's bundled self-signed certificate. */
    ssl?: boolean;
  }
  export default function dynalite(options?: DynaliteOptions): Server;
}
