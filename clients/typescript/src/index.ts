// Tether client SDK: one socket client per role, HTTP API helpers, and the protocol's
// message types (generated from proto-schemas/).
export * from './generated/protocol.js';
export {
  TetherClient,
  SeekerClient,
  ProviderClient,
  socketUrl,
  tokenExpiryMs,
  backoffDelay,
  type ClientOptions,
  type Rating,
  type SocketState,
  type StateInfo,
  type TokenProvider,
  type TokenReason,
  type WebSocketFactory,
  type WebSocketLike,
} from './client.js';
export { TetherApi, type ApiOptions, type NearbyQuery } from './http.js';
export { TetherError, type ClientErrorCode } from './errors.js';
