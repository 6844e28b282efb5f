// Tether client SDK: one socket client per role, HTTP API helpers, and the protocol's
// message types (generated from proto-schemas/; a few refined in types.ts, exported here
// under their generated names).
export * from './generated/protocol.js';
export { TetherClient, SeekerClient, ProviderClient, socketUrl, tokenExpiryMs, backoffDelay, } from './client.js';
export { TetherApi } from './http.js';
export { TetherError, TetherConnectionError, } from './errors.js';
