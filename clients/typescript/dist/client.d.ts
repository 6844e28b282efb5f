import { type FetchLike, type TokenSource } from './common.js';
import { TetherConnectionError } from './errors.js';
import type { ClientMessage, Mediums, ProviderClientMessage, ProviderServerMessage, Role, SeekerClientMessage, SeekerServerMessage, ServerChatReady, ServerConnectionCancelled, ServerMediumsSelected, ServerMediumsShared, ServerMessage, ServerMessageSent, ServerPong, ServerServiceFinished, ServerWorkAccepted, ServerWorkRejected } from './generated/protocol.js';
import type { Rating } from './types.js';
/**
 * Where the socket is: `idle` before {@link TetherClient.connect}; `connecting`;
 * `open`; `reconnecting` while waiting out the backoff; `closed` for good (after
 * {@link TetherClient.close}, a 1008 policy close, a refused token with no newer one, a
 * refusal that retrying cannot fix, or `connectTimeoutMs`). `connect()` starts a closed
 * client again.
 */
export type SocketState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';
/** The observable connection state. */
export interface StateInfo {
    state: SocketState;
    /** Failed attempts since the last stable connection. */
    attempt: number;
    /** The close that led here, when one did. */
    lastClose?: {
        code: number;
        reason: string;
    };
    /** While `reconnecting`: the delay chosen before the next attempt. */
    retryInMs?: number;
    /**
     * Why the last attempt failed (`reconnecting`, `connecting` again) or why the client
     * stopped (`closed`), with the HTTP status of a refused upgrade when known. Absent after
     * a plain drop of an open socket and after `close()`.
     */
    error?: TetherConnectionError;
}
/**
 * An event-handler property that both the DOM's `WebSocket` (handlers of `Event`,
 * `MessageEvent`, `CloseEvent`) and the `ws` package's (its own event classes) fit: the
 * parameter is compared both ways, as for methods, so a handler of a richer event type
 * is accepted.
 */
export type SocketEventHandler<E> = {
    bivarianceHack(event: E): void;
}['bivarianceHack'];
/**
 * What the client needs of a WebSocket: the browser / React Native / Node 22 API, which
 * the `ws` package's `WebSocket` also has. Both fit without a cast.
 */
export interface WebSocketLike {
    readonly readyState: number;
    send(data: string): void;
    close(code?: number, reason?: string): void;
    onopen: SocketEventHandler<unknown> | null;
    onmessage: SocketEventHandler<{
        data: unknown;
    }> | null;
    onclose: SocketEventHandler<{
        code: number;
        reason: string;
    }> | null;
    onerror: SocketEventHandler<unknown> | null;
}
/** A WebSocket constructor (`globalThis.WebSocket` by default; `WebSocket` from `ws` on Node 18/20). */
export type WebSocketFactory = new (url: string) => WebSocketLike;
/** Settings of a client; only `url` and `token` are required. */
export interface ClientOptions {
    /**
     * The edge's base URL: `http(s)://host:port` or `ws(s)://host:port` (the same edge
     * serves the sockets and the HTTP API).
     */
    url: string;
    /** The JWT, or a provider of it (asked again before expiry and after a refusal). */
    token: TokenSource;
    /** WebSocket implementation; default `globalThis.WebSocket`. */
    WebSocket?: WebSocketFactory;
    /**
     * `fetch` implementation (default `globalThis.fetch`). Used only when a socket could not
     * be opened and the WebSocket implementation does not say why (browsers, Node 22): one
     * `GET` of the socket path with the token in the `Authorization` header tells a refused
     * token (401) from an unreachable edge.
     */
    fetch?: FetchLike;
    /**
     * `connect()` rejects with a `timeout` {@link TetherConnectionError} (carrying the last
     * attempt's failure as `cause`, and its `status`) and the client closes when no socket
     * opened within this many milliseconds. Default: none (keep trying; watch `onState`).
     */
    connectTimeoutMs?: number;
    /** How long a command waits for its answer (and, queued, for a connection). Default 10 000. */
    requestTimeoutMs?: number;
    /** Interval of the app-level `ping` while open. Default 25 000 (the server closes after 120 s of silence). */
    pingIntervalMs?: number;
    /** A `pong` not back within this closes the socket and reconnects. Default 10 000. */
    pingTimeoutMs?: number;
    /** First reconnect delay cap; doubles per failed attempt. Default 500. */
    backoffBaseMs?: number;
    /** Largest reconnect delay cap. Default 30 000. */
    backoffMaxMs?: number;
    /** A connection open this long resets the backoff. Default 5 000. */
    stableAfterMs?: number;
    /** Ask for a new token this long before `exp`. Default 60. */
    refreshBeforeExpiryS?: number;
    /** Acknowledge every received `chat_message` with `message_delivered`. Default true. */
    autoDelivered?: boolean;
    /** How many message and work ids are remembered for de-duplication. Default 5 000. */
    dedupeWindow?: number;
    /** Random source in [0, 1) for the backoff jitter (tests pin it). */
    random?: () => number;
}
/**
 * The socket URL of a role on the edge at `base` (`http(s)://` or `ws(s)://`), token in the
 * query: browsers cannot set headers on a WebSocket, and the contract accepts `?token=` on
 * the upgrade only (the edge redacts it from its logs).
 */
export declare function socketUrl(base: string, role: Role, token: string): string;
/** `exp` of a JWT in milliseconds, or undefined when it cannot be read (not verified). */
export declare function tokenExpiryMs(token: string): number | undefined;
/** The reconnect delay: "full jitter", uniform in [0, min(max, base * 2^attempt)). */
export declare function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number;
/** Any seeker or provider client. */
export type AnyTetherClient = TetherClient<any, any>;
/** The server messages client type `C` receives (a union for a union of clients). */
export type ReceivedBy<C> = C extends TetherClient<ClientMessage, infer R> ? R : never;
/** The message of `type` T that client type `C` receives. */
export type MessageOf<C, T> = Extract<ReceivedBy<C>, {
    type: T;
}>;
/** Options of {@link TetherClient.waitFor}. */
export interface WaitForOptions<M> {
    /** Reject with a `timeout` {@link TetherError} after this long. Default: no limit. */
    timeoutMs?: number;
    /** Only a message for which this returns true settles the wait. */
    filter?: (message: M) => boolean;
}
/** Commands both roles send (checked against both endpoints' unions). */
type SharedClientMessage = Extract<SeekerClientMessage, ProviderClientMessage>;
/**
 * One role's socket: connects, reconnects, pings, correlates answers, acknowledges and
 * de-duplicates. Use {@link SeekerClient} or {@link ProviderClient}.
 */
export declare class TetherClient<Send extends ClientMessage, Receive extends ServerMessage> {
    #private;
    /** Which endpoint this client speaks to. */
    readonly role: Role;
    constructor(
    /** Which endpoint this client speaks to. */
    role: Role, options: ClientOptions);
    /** The current connection state. */
    get state(): StateInfo;
    /**
     * Starts connecting (and keeps reconnecting). Resolves once a connection is open; rejects
     * with a {@link TetherConnectionError} if the client closes for good before that: an
     * empty token (`no_token`), a refused token with no newer one (`unauthorized`, status
     * 401), a refusal retrying cannot fix (403, 404, other 4xx), `close()`, or
     * `connectTimeoutMs` (`timeout`). Failures it retries (no answer, 429, 5xx) show in
     * {@link StateInfo.error}. Not awaiting it is safe (it never becomes an unhandled
     * rejection).
     */
    connect(): Promise<void>;
    /** Closes the socket for good; pending commands fail with `closed`. `connect()` starts again. */
    close(): void;
    /** Calls `listener` on every state change; returns a function that unsubscribes. */
    onState(listener: (info: StateInfo) => void): () => void;
    /**
     * Calls `handler` for each server message of `type` (duplicates of a `chat_message` or
     * `work_assigned` already seen are dropped); returns a function that unsubscribes. Works
     * on a `SeekerClient | ProviderClient` too (then any type either receives).
     */
    on<C extends AnyTetherClient, const T extends ReceivedBy<C>['type']>(this: C, type: T, handler: (message: MessageOf<C, T>) => void): () => void;
    /** Like {@link on}, for the next message of `type` only. */
    once<C extends AnyTetherClient, const T extends ReceivedBy<C>['type']>(this: C, type: T, handler: (message: MessageOf<C, T>) => void): () => void;
    /**
     * Resolves with the next message of `type` (that passes `filter`); rejects with
     * `timeout` after `timeoutMs`, or `closed` when the client closes for good first.
     */
    waitFor<C extends AnyTetherClient, const T extends ReceivedBy<C>['type']>(this: C, type: T, options?: WaitForOptions<MessageOf<C, T>>): Promise<MessageOf<C, T>>;
    /** Calls `handler` for every server message (after de-duplication). */
    onAny(handler: (message: Receive) => void): () => void;
    /**
     * The command a received message answered (matched by its `request_id`), when it was a
     * direct answer to one of this client's commands: e.g. the `chat_message` (with its text
     * and `client_message_id`) behind a `message_sent`. Undefined for events.
     */
    commandOf(message: Receive): Readonly<Send> | undefined;
    /**
     * Low level: writes a message as it is (no `request_id`, no confirmation); false when
     * the socket is not open (nothing is sent). Prefer the typed methods.
     */
    send(message: Send): boolean;
    /**
     * Sends a command that has an answer and resolves with it (rejects with the server's
     * `error` as {@link TetherError}, or `timeout`). While not connected the command waits
     * for the connection within the same timeout. Idempotent commands are sent again after
     * a reconnect and after `unavailable` / `rate_limited` (no sooner than the server's
     * `retry_after_ms`) while the timeout allows.
     */
    request<A = Receive>(message: Send | SharedClientMessage, timeoutMs?: number): Promise<A>;
    /** Opens the session's chat; both parties get `chat_ready`. */
    startChat(sessionId: string): Promise<ServerChatReady>;
    /**
     * Sends a chat message; resolves with `message_sent` once it is stored. Safe to retry:
     * the SDK sets a `client_message_id` (pass your own to retry across app restarts).
     */
    sendChat(sessionId: string, text: string, clientMessageId?: string): Promise<ServerMessageSent>;
    /**
     * Marks a received message read (the sender gets `message_status_update`). Kept until
     * the server has it: sent once connected, again after a drop, after `unavailable`, and
     * when the server re-sends the message. Resolves once confirmed; rejects with the
     * server's error (`not_found`, `forbidden`, ...), `not_connected` before `connect()`, or
     * `closed`. Safe not to await.
     */
    markRead(messageId: string): Promise<void>;
    /**
     * Acknowledges delivery of a message, like {@link markRead}. The client does this by
     * itself for every `chat_message` unless `autoDelivered` is false.
     */
    markDelivered(messageId: string): Promise<void>;
    /**
     * Tells the other party whether this one is typing (latest wins). Resolves once the server
     * took it; rejects with its error (`not_found`, `conflict`, `validation`, ...), with
     * `not_connected` when the socket is not open (nothing sent), or `disconnected` when it
     * dropped first. Safe not to await.
     */
    typing(sessionId: string, isTyping: boolean): Promise<void>;
    /**
     * Reports this party's position (latest wins; `accuracyM` in metres, absent for a
     * precise fix). Settles like {@link typing}: never queued while disconnected nor sent
     * again, since a later fix replaces it.
     */
    updateLocation(sessionId: string, latitude: number, longitude: number, accuracyM?: number): Promise<void>;
    /**
     * Cancels the session. The server then closes both parties' sockets with 1000; the
     * client reconnects by itself (call `close()` when the app is done).
     */
    cancel(sessionId: string): Promise<ServerConnectionCancelled>;
    /** Round trip to the server (the client pings by itself; this is for tests and probes). */
    ping(): Promise<ServerPong>;
}
/** The seeker's socket (`/ws/work/seeker/`). */
export declare class SeekerClient extends TetherClient<SeekerClientMessage, SeekerServerMessage> {
    constructor(options: ClientOptions);
    /** Picks the mediums (0 to 3) the provider may use; activates a waiting session. */
    selectMediums(sessionId: string, mediums: Mediums): Promise<ServerMediumsSelected>;
    /**
     * Ends the session as completed, with an optional rating (`{rating_stars: 1-5,
     * rating_description?}`, the same shape `TetherApi.rate` takes). The server then closes
     * both parties' sockets with 1000; the client reconnects by itself (call `close()` when
     * the app is done).
     */
    finish(sessionId: string, rating?: Rating): Promise<ServerServiceFinished>;
}
/** The provider's socket (`/ws/work/provider/`). */
export declare class ProviderClient extends TetherClient<ProviderClientMessage, ProviderServerMessage> {
    constructor(options: ClientOptions);
    /** Accepts or rejects a pending work order (`work_assigned`). */
    respondToWork(workId: number, accepted: boolean): Promise<ServerWorkAccepted | ServerWorkRejected>;
    /** Shares the provider's mediums with the seeker. */
    shareMediums(sessionId: string, mediums: Mediums): Promise<ServerMediumsShared>;
    /**
     * Ends the session as completed (the provider cannot rate). The server then closes both
     * parties' sockets with 1000; the client reconnects by itself.
     */
    finish(sessionId: string): Promise<ServerServiceFinished>;
}
export {};
