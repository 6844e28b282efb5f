// Tether client SDK: one socket client per role, HTTP API helpers, a session object that
// keeps itself current, a location reporter that follows the server's cadence, the
// timeline's verifier, and the protocol's message types (generated from proto-schemas/; a
// few refined in types.ts, exported here under their generated names).
export * from './generated/protocol.js';
export { TetherClient, SeekerClient, ProviderClient, socketUrl, tokenExpiryMs, backoffDelay, } from './client.js';
export { TetherSession, } from './session.js';
export { LocationReporter, haversineMeters } from './location.js';
export { GENESIS_HASH, canonicalJson, timelineEventHash, verifyTimeline, } from './timeline.js';
export { TetherApi } from './http.js';
export { TetherError, TetherConnectionError, } from './errors.js';
