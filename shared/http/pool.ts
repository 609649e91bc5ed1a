// undici's Pool without the rest of undici. Importing the package root pulls in every dispatcher,
// fetch, WebSocket and the cache layers — about half of each Lambda bundle — while the gateway
// client and the usage sink need only a keep-alive Pool and its `request` method. This module
// wires exactly what undici's own index.js wires for that, `request` alone (undici puts its five
// API methods onto Dispatcher's prototype; stream, pipeline, upgrade and connect go unused).
// undici has no exports map, so these paths are importable; the client and sink test suites
// exercise every method used, so a layout change in undici fails them loudly.
import request from 'undici/lib/api/api-request.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import Pool from 'undici/lib/dispatcher/pool.js';

Object.assign(Dispatcher.prototype, { request });

export { Pool };
