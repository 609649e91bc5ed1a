// Types for the two undici modules shared/http/pool.ts loads one by one (undici ships types only
// for its root).
declare module 'undici/lib/dispatcher/pool.js' {
  import { Pool } from 'undici';
  export default Pool;
}
declare module 'undici/lib/api/api-request.js' {
  import { Dispatcher } from 'undici';

  /** undici's `request`, called with the dispatcher as `this` (the promise form). */
  function request<TOpaque = null>(
    this: Dispatcher,
    options: Dispatcher.RequestOptions<TOpaque>,
  ): Promise<Dispatcher.ResponseData<TOpaque>>;
  export default request;
}
