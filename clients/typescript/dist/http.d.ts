import { type FetchLike, type TokenSource } from './common.js';
import type { CreateWorkOrderBody, MessagePage, NearbyProviders, Profile, ProviderStatus, PutProfileBody, PutSeekerSearchBody, RatingSaved, Role, SeekerSearch, WorkOrder, WorkOrderCreated } from './generated/protocol.js';
import type { PutProviderStatusBody, Rating, SessionSnapshot, SessionTimeline } from './types.js';
/** Settings of {@link TetherApi}; a socket client's options fit as they are. */
export interface ApiOptions {
    /** The edge's base URL: `http(s)://host:port` or `ws(s)://host:port`. */
    url: string;
    /** The JWT, or a provider of it (the same one the socket client uses). */
    token: TokenSource;
    /** `fetch` implementation; default `globalThis.fetch`. */
    fetch?: FetchLike;
    /** A call without an answer within this rejects with `timeout`. Default 10 000. */
    requestTimeoutMs?: number;
}
/** Query of {@link TetherApi.nearbyProviders}. */
export interface NearbyQuery {
    latitude: number;
    longitude: number;
    service_type?: string;
    /** Default 10 000. */
    radius_m?: number;
    /** Default 20, at most 100. */
    limit?: number;
}
/**
 * The HTTP API under `/api/v1`, one method per endpoint. Every failure rejects with
 * {@link TetherError}: the server's `code` and the HTTP `status` (with `retryAfterMs` from
 * `retry_after_ms` or `Retry-After` on 429 and 503), `http` for an answer without a Tether
 * error body, `network` when nothing answered (the fetch error is the `cause`), `timeout`,
 * or `no_token` when the token provider gave none (nothing is sent then). Nothing is
 * retried.
 */
export declare class TetherApi {
    #private;
    constructor(options: ApiOptions);
    getProfile(): Promise<Profile>;
    putProfile(body: PutProfileBody): Promise<Profile>;
    getProviderStatus(): Promise<ProviderStatus>;
    putProviderStatus(body: PutProviderStatusBody): Promise<ProviderStatus>;
    getSeekerSearch(): Promise<SeekerSearch>;
    putSeekerSearch(body: PutSeekerSearchBody): Promise<SeekerSearch>;
    nearbyProviders(query: NearbyQuery): Promise<NearbyProviders>;
    createWorkOrder(body: CreateWorkOrderBody): Promise<WorkOrderCreated>;
    getWorkOrder(workId: number): Promise<WorkOrder>;
    /** The waiting or active session in `role`, or null when there is none (404). */
    activeSession(role: Role): Promise<SessionSnapshot | null>;
    getSession(sessionId: string): Promise<SessionSnapshot>;
    /** One page of history, oldest first; pass `before` (a message id) for older pages. */
    messages(sessionId: string, page?: {
        before?: string;
        limit?: number;
    }): Promise<MessagePage>;
    /** Rates a completed session (seeker; once, within 24 h): the same {@link Rating} `finish` takes. */
    rate(sessionId: string, body: Rating): Promise<RatingSaved>;
    /**
     * The session's tamper-evident timeline; check its hash chain with
     * `verifyTimeline`.
     */
    timeline(sessionId: string): Promise<SessionTimeline>;
}
