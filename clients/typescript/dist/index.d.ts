export * from './generated/protocol.js';
export type { MediumName, PutProviderStatusBody, Rating, SessionSnapshot, SessionTimeline, TimelineEvent, TimelineEventDataByType, } from './types.js';
export { TetherClient, SeekerClient, ProviderClient, socketUrl, tokenExpiryMs, backoffDelay, type AnyTetherClient, type ClientOptions, type MessageOf, type ReceivedBy, type SocketEventHandler, type SocketState, type StateInfo, type WaitForOptions, type WebSocketFactory, type WebSocketLike, } from './client.js';
export { TetherSession, type PeerPresence, type SessionChangeCause, type SessionDistance, type SessionEventMap, type SessionMessage, type SessionOptions, } from './session.js';
export { LocationReporter, haversineMeters, type LocationFix, type LocationReporterOptions } from './location.js';
export { GENESIS_HASH, canonicalJson, timelineEventHash, verifyTimeline, type Sha256, type TimelineVerification, type VerifyTimelineOptions, } from './timeline.js';
export type { FetchLike, FetchResponseLike, TokenProvider, TokenReason, TokenSource } from './common.js';
export { TetherApi, type ApiOptions, type NearbyQuery } from './http.js';
export { TetherError, TetherConnectionError, type ClientErrorCode, type TetherErrorCode, type TetherErrorDetails, } from './errors.js';
