// Types for the one undici module shared/http/pool.ts loads by path (undici ships types only for
// its root): it is the root's `Pool`, which test/unit/http/pool.test.ts checks.
declare module 'undici/lib/dispatcher/pool.js' {
  import { Pool } from 'undici';
  export default Pool;
}
