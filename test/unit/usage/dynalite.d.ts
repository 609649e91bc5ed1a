// dynalite ships no types: the little of it the usage tests use.
declare module 'dynalite' {
  import type { Server } from 'node:http';
  export interface DynaliteOptions {
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
  }
  export default function dynalite(options?: DynaliteOptions): Server;
}
