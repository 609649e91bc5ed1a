// undici's Pool without the rest of undici. Importing the package root pulls in every dispatcher,
// fetch, WebSocket, EventSource, the mock agents and the cache layers — measured, 247 KB more per
// Lambda bundle (provision 758 → 1,005 KB), over the 800 KB limit — while the gateway client and
// the usage sink need only a keep-alive Pool and its `request` method. undici's root index.js
// requires all of that eagerly and its CommonJS cannot be tree-shaken, so this module loads the
// two modules the root itself uses for Pool and `request`; undici has no exports map, so these
// paths are importable. The root puts `request` on Dispatcher.prototype for every dispatcher; here
// a subclass of our own carries it, and undici's prototypes are left as they are. The client and
// sink suites exercise every method used, so a layout change in undici fails them loudly.
import type { Dispatcher } from 'undici';
import apiRequest from 'undici/lib/api/api-request.js';
import UndiciPool from 'undici/lib/dispatcher/pool.js';

/** A keep-alive connection pool to one origin, with undici's `request`. */
export class Pool extends UndiciPool {
  override request<TOpaque = null>(
    options: Dispatcher.RequestOptions<TOpaque>,
  ): Promise<Dispatcher.ResponseData<TOpaque>> {
    return Reflect.apply(apiRequest, this, [options]);
  }
}
