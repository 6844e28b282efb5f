import type { AnyTetherClient } from './client.js';
import { TetherError } from './errors.js';
import type { ArrivalStage, Cadence, ChatMessageView, ConnectionState, Mediums, PeerState, Role, ServerMessage, Timestamp, Trend } from './generated/protocol.js';
import type { TetherApi } from './http.js';
/** The last distance the server computed, with the trend and ETA it came with. */
export interface SessionDistance {
    /** Rounded to 0.1 m. */
    meters: number;
    /** `"450 meters away"` / `"1.3 km away"`. */
    formatted: string;
    /** Over the distances of the last 120 s; null until they span 20 s (and after a refresh). */
    trend: Trend | null;
    /** Seconds to arrival while approaching at 0.3 m/s or more, else null. */
    etaSeconds: number | null;
    /** When the server sent it (null when it came from a snapshot). */
    at: Timestamp | null;
}
/** The other party as the server last described it (`peer_status`, or the snapshot). */
export interface PeerPresence {
    /** `online`, `offline` or `stale` (sockets open, no precise fix for a while); null once the session ended. */
    status: PeerState | null;
    /** The peer's last socket activity or fix, null if neither in this session. */
    lastSeen: Timestamp | null;
    /** When the server said so (null when it came from a snapshot). */
    at: Timestamp | null;
}
/**
 * A chat message of the session, either party's, as the chat message object of history
 * and live delivery, plus what only this side knows. Replaced by a new object whenever it
 * changes.
 */
export interface SessionMessage extends Omit<ChatMessageView, 'message_id' | 'timestamp'> {
    /** Null while one's own message is being sent (see `pending`). */
    message_id: string | null;
    /** When the server stored it; null while sending. */
    timestamp: Timestamp | null;
    /** Sent by this side. */
    mine: boolean;
    /** One's own message sent through {@link TetherSession.sendChat}, not yet stored. */
    pending: boolean;
    /** Why sending one's own message failed (then `pending` is false and `message_id` null). */
    error?: TetherError;
    /** The idempotency key of one's own message, when known. */
    client_message_id?: string;
}
/** What changed the session: a server message's type, a refresh from the API, or this side. */
export type SessionChangeCause = ServerMessage['type'] | 'refresh' | 'local';
/** The events of a {@link TetherSession} and what their handlers get. */
export interface SessionEventMap {
    /** A new session was taken up (`work_accepted`, or the first event or snapshot of one); everything was reset. */
    session: {
        sessionId: string;
        workId: number | null;
    };
    /** Anything changed (after the specific events below). */
    change: {
        cause: SessionChangeCause;
    };
    /** `waiting`, `active`, `cancelled`, `completed`. */
    state: ConnectionState;
    /** A new distance (with trend and ETA). */
    distance: SessionDistance;
    /** A closer arrival stage. */
    stage: ArrivalStage;
    /** The peer's presence changed. */
    presence: PeerPresence;
    /** The location cadence (null when the session is not active). */
    cadence: Cadence | null;
    /** A message was added or changed (text, receipts, sent, failed). */
    message: SessionMessage;
    /** The other party started or stopped typing. */
    typing: boolean;
    /** A refresh from the API failed (the session keeps what it had). */
    error: TetherError;
}
/** Options of {@link TetherSession}. */
export interface SessionOptions {
    /** Follow this session only. Default: the client's current session (see {@link TetherSession}). */
    sessionId?: string;
    /**
     * Fills in what events cannot tell (the snapshot's state, distance, stage, presence,
     * cadence and mediums, and the latest messages) when a session is taken up and after
     * every reconnect (a party misses the updates sent while it was offline).
     */
    api?: TetherApi;
    /** How many of the latest messages a refresh loads. Default 50 (at most 200). */
    historyLimit?: number;
}
/**
 * One work session of a client's role, kept current from the client's events.
 *
 * Without `sessionId` it follows the client's current session: a `work_accepted` starts a
 * new one, and while it has none (or its session ended) the first event of another session
 * (the `peer_status` or `location_cadence` a socket gets on connect, a re-sent chat
 * message) or a snapshot from `refresh()` takes that one up. Each change is told by typed
 * events ({@link SessionEventMap}); the getters give the current values. Call `dispose()`
 * when done.
 */
export declare class TetherSession {
    #private;
    readonly role: Role;
    constructor(client: AnyTetherClient, options?: SessionOptions);
    /** The socket client it follows. */
    get client(): AnyTetherClient;
    /** The session's id, or null before one is known. */
    get id(): string | null;
    /** The work order it came from, when known. */
    get workId(): number | null;
    /** `waiting`, `active`, `cancelled`, `completed`; null before it is known. */
    get state(): ConnectionState | null;
    /** Whether it ended (cancelled or completed). */
    get ended(): boolean;
    /** Who cancelled or finished it (this side's role when this side did). */
    get endedBy(): Role | null;
    /** The last distance, with its trend and ETA; null before one was computed. */
    get distance(): SessionDistance | null;
    /** The trend of the last distance (shortcut of `distance.trend`). */
    get trend(): Trend | null;
    /** The ETA of the last distance in seconds (shortcut of `distance.etaSeconds`). */
    get etaSeconds(): number | null;
    /** The closest arrival stage announced, or null. */
    get stage(): ArrivalStage | null;
    /** The other party's presence; null before the server told it. */
    get peer(): PeerPresence | null;
    /**
     * How often to send fixes (protocol 1.2), null before the server sent one (a server before
     * 1.2 never does) and when the session is not active.
     */
    get cadence(): Cadence | null;
    /** This side's mediums (selected or shared), when known. */
    get ownMediums(): Mediums | null;
    /** The other party's mediums, once they selected or shared them. */
    get peerMediums(): Mediums | null;
    /** When the chat started, or null. */
    get chatStartedAt(): Timestamp | null;
    /** Whether the other party is typing. */
    get peerTyping(): boolean;
    /** Both parties' messages, oldest first (one's own still sending last); a new array on every change. */
    get messages(): readonly SessionMessage[];
    /** The other party's messages this side has not marked read. */
    get unread(): SessionMessage[];
    /** Calls `handler` on each event of `type`; returns a function that unsubscribes. */
    on<K extends keyof SessionEventMap>(type: K, handler: (value: SessionEventMap[K]) => void): () => void;
    /** Stops following the client (and its timers). */
    dispose(): void;
    /**
     * Sends a chat message and shows it at once (`pending`); resolves with it once stored
     * (`message_id`, `timestamp`, `redacted` set), or marks it failed (`error`) and rejects.
     */
    sendChat(text: string, clientMessageId?: string): Promise<SessionMessage>;
    /**
     * Marks the other party's message read (the client keeps the receipt until the server has
     * it); the message shows `read` once confirmed.
     */
    markRead(messageId: string): Promise<void>;
    /** Marks every unread message of the other party read. */
    markAllRead(): Promise<void>;
    /**
     * Reads the snapshot and the latest messages through the `api` given (or `api`): the
     * followed session's, or (when there is none, or it ended) the role's waiting or active
     * one. Values that events changed while it was under way are kept. Done by itself when a
     * session is taken up and after every reconnect when the session has an `api`.
     */
    refresh(api?: TetherApi | undefined): Promise<void>;
}
