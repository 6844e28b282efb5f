/** Who caused an event. */
export type ActorRole = "seeker" | "provider" | "system";
/** An arrival stage, from farthest to closest. */
export type ArrivalStage = "approaching_500" | "approaching_100" | "arrived";
/** A band with its advice, as the session snapshot carries it (`location_cadence`). */
export interface Cadence {
    /** `far`, `near`, `close` or `arrived`. */
    band: CadenceBand;
    /** Seconds between precise fixes (0: stop sending until told otherwise). */
    interval_s: number;
    /** Metres of movement worth a fix before the interval is up. */
    min_move_m: number;
}
/** A cadence band, from farthest to closest (`arrived` is final). */
export type CadenceBand = "far" | "near" | "close" | "arrived";
/**
 * Chat message object, identical in history and live delivery. Never a name, phone or
 * user id.
 */
export interface ChatMessageView {
    /** When the recipient acknowledged delivery. */
    delivered_at: Timestamp | null;
    /** `sent` / `delivered` / `read`. */
    delivery_status: DeliveryStatus;
    /** The text. */
    message: string;
    /** Message id. */
    message_id: string;
    /** When the recipient read it. */
    read_at: Timestamp | null;
    /**
     * The text was masked (phone numbers, messenger links, handles replaced by
     * `[hidden]`) because the session was waiting when it was stored. Absent otherwise.
     */
    redacted?: boolean;
    /** `seeker` / `provider`. */
    sender_type: Role;
    /** Session (= chat room). */
    session_id: string;
    /** When the server stored it. */
    timestamp: Timestamp;
}
/** State of a work session. */
export type ConnectionState = "waiting" | "active" | "cancelled" | "completed";
/** Delivery status of a chat message; only ever moves forward. */
export type DeliveryStatus = "sent" | "delivered" | "read";
/** Machine-readable error code, shared by the WebSocket `error` message and HTTP bodies. */
export type ErrorCode = "invalid_json" | "unknown_type" | "validation" | "not_found" | "forbidden" | "conflict" | "rate_limited" | "unavailable" | "unauthorized" | "payload_too_large" | "internal";
/** 0 to 3 mediums, each mapped to a phone number (`+` optional, 7-15 digits). */
export type Mediums = Partial<Record<"telegram" | "whatsapp" | "call", string>>;
/** One entry of `GET /api/v1/providers/nearby`. Never carries a phone number. */
export interface NearbyProvider {
    /** The provider's display name. */
    display_name: string | null;
    /** `"450 meters"` / `"2.5 km"`. */
    distance: string;
    /** Distance from the query point, rounded to 0.1 m. */
    distance_meters: number;
    /** The provider's user id (to address a work order). */
    provider_id: string;
    /** What the provider offers. */
    service_types: Array<string>;
}
/** What a peer looks like to the other party. */
export type PeerState = "online" | "offline" | "stale";
/** What a push event announces. */
export type PushEventType = "work_assigned" | "chat_message";
/** Which side of a session a connection speaks for; comes from the WebSocket path. */
export type Role = "seeker" | "provider";
/** One event: `{seq, type, at, actor_role, data, prev_hash, hash}`. */
export interface TimelineEvent {
    /** What happened. */
    type: TimelineEventType;
    /** Who: see the protocol's table; `system` for `arrival`. */
    actor_role: ActorRole;
    /** When, RFC 3339 UTC with millisecond precision (stored at that precision). */
    at: Timestamp;
    /**
     * `{"mediums": [names, sorted]}` for `mediums_*`, `{"stage": s}` for `arrival`, `{}`
     * otherwise. Never a text, phone, coordinate, rating or user id.
     */
    data: Record<string, unknown>;
    /** Lowercase hex SHA-256 of `prev_hash` + JCS(this event without `hash`). */
    hash: string;
    /** The previous event's `hash`; 64 zeros for the first. */
    prev_hash: string;
    /** 1, 2, 3, ... in the order of appending. */
    seq: number;
}
/** What happened. */
export type TimelineEventType = "work_created" | "work_accepted" | "chat_started" | "mediums_selected" | "mediums_shared" | "session_active" | "arrival" | "cancelled" | "completed";
/** RFC 3339 UTC timestamp with a Z suffix and millisecond precision */
export type Timestamp = string;
/** Whether the distance is shrinking, growing or steady over the window. */
export type Trend = "approaching" | "moving_away" | "stationary";
/** Status of a work order. */
export type WorkOrderStatus = "pending" | "accepted" | "rejected" | "cancelled" | "completed" | "expired";
/** Ends the session as cancelled. */
export interface ClientCancelConnection {
    type: "cancel_connection";
    /** The session. */
    session_id: string;
    /** Any string; the direct answer to this message (success or error) echoes it. */
    request_id?: string;
}
/** Sends a chat message. */
export interface ClientChatMessage {
    type: "chat_message";
    /** Client's idempotency key; a retry with the same key stores nothing new. */
    client_message_id?: string | null;
    /** 1-2000 characters after trimming. */
    message: string;
    /** The session. */
    session_id: string;
    /** Any string; the direct answer to this message (success or error) echoes it. */
    request_id?: string;
}
/** Ends the session as completed, optionally rating it (seeker only). */
export interface ClientFinishService {
    type: "finish_service";
    /** At most 1000 characters, seeker only. */
    rating_description?: string | null;
    /** Integer 1-5, seeker only. */
    rating_stars?: number | null;
    /** The session. */
    session_id: string;
    /** Any string; the direct answer to this message (success or error) echoes it. */
    request_id?: string;
}
/** Either party reports where they are. */
export interface ClientLocationUpdate {
    type: "location_update";
    /**
     * v1.1: the fix's accuracy radius in metres, a finite number ≥ 0. Absent: a
     * precise fix. Above `TETHER_MAX_ACCURACY_M`: a coarse fix (only the last-seen
     * time is kept). `null` is refused like any other non-number.
     */
    accuracy_m?: number;
    /** Degrees, [-90, 90]. */
    latitude: number;
    /** Degrees, [-180, 180]. */
    longitude: number;
    /** The session. */
    session_id: string;
    /** Any string; the direct answer to this message (success or error) echoes it. */
    request_id?: string;
}
/** Seeker selects mediums; activates a waiting session. */
export interface ClientMediumSelection {
    type: "medium_selection";
    /** Object with 0-3 keys of telegram/whatsapp/call, each a phone number. */
    mediums: Mediums;
    /** The session. */
    session_id: string;
    /** Any string; the direct answer to this message (success or error) echoes it. */
    request_id?: string;
}
/** Provider shares mediums. */
export interface ClientMediumShare {
    type: "medium_share";
    /** Object with 0-3 keys of telegram/whatsapp/call, each a phone number. */
    mediums: Mediums;
    /** The session. */
    session_id: string;
    /** Any string; the direct answer to this message (success or error) echoes it. */
    request_id?: string;
}
/** Recipient's device has the message. */
export interface ClientMessageDelivered {
    type: "message_delivered";
    /** The message. */
    message_id: string;
    /** Any string; the direct answer to this message (success or error) echoes it. */
    request_id?: string;
}
/** Recipient has read the message. */
export interface ClientMessageRead {
    type: "message_read";
    /** The message. */
    message_id: string;
    /** Any string; the direct answer to this message (success or error) echoes it. */
    request_id?: string;
}
/** Keep-alive; answered with `pong`. */
export interface ClientPing {
    type: "ping";
    /** Any string; the direct answer to this message (success or error) echoes it. */
    request_id?: string;
}
/** Opens the session's chat. */
export interface ClientStartChat {
    type: "start_chat";
    /** The session. */
    session_id: string;
    /** Any string; the direct answer to this message (success or error) echoes it. */
    request_id?: string;
}
/** Typing started or stopped. */
export interface ClientTypingIndicator {
    type: "typing_indicator";
    /** true while typing. */
    is_typing: boolean;
    /** The session. */
    session_id: string;
    /** Any string; the direct answer to this message (success or error) echoes it. */
    request_id?: string;
}
/** Provider accepts or rejects a pending work order. */
export interface ClientWorkResponse {
    type: "work_response";
    /** true to accept. */
    accepted: boolean;
    /** The order. */
    work_id: number;
    /** Any string; the direct answer to this message (success or error) echoes it. */
    request_id?: string;
}
/** v1.1: the parties came closer than any stage announced before in this session. */
export interface ServerArrivalUpdate {
    type: "arrival_update";
    /** Formatted like `distance_update`'s. */
    distance_formatted: string;
    /** The distance that reached it, rounded to 0.1 m. */
    distance_meters: number;
    /** The session. */
    session_id: string;
    /** The closest stage reached. */
    stage: ArrivalStage;
    /** Send time. */
    timestamp: Timestamp;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** Recipient: a chat message (live or re-sent on connect). */
export type ServerChatMessage = ChatMessageView & {
    type: "chat_message";
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
};
/** Both: the chat is open. */
export interface ServerChatReady {
    type: "chat_ready";
    /** Same as `session_id`. */
    chat_room_id: string;
    /** `"Chat started successfully"`. */
    message: string;
    /** The session. */
    session_id: string;
    /** Send time. */
    timestamp: Timestamp;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** The session was cancelled; sockets close with 1000 after this. */
export interface ServerConnectionCancelled {
    type: "connection_cancelled";
    /** Only to the other party: who cancelled. */
    cancelled_by?: Role | null;
    /** Role-specific text. */
    message: string;
    /** The session. */
    session_id: string;
    /** Send time. */
    timestamp: Timestamp;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** Both: the current distance. */
export interface ServerDistanceUpdate {
    type: "distance_update";
    /** `"450 meters away"` / `"1.3 km away"`. */
    distance_formatted: string;
    /** Rounded to 0.1 m. */
    distance_meters: number;
    /** v1.1: seconds to arrival while approaching at 0.3 m/s or more, else null. */
    eta_seconds: number | null;
    /** The session. */
    session_id: string;
    /** Send time. */
    timestamp: Timestamp;
    /** v1.1: over the distances of the last 120 s; null until they span 20 s. */
    trend: Trend | null;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** A command failed; only to the connection that sent it. */
export interface ServerError {
    type: "error";
    /** Machine code. */
    code: ErrorCode;
    /** Human message. */
    error: string;
    /**
     * On `unavailable` and `rate_limited`: the least time to wait before sending the
     * command again.
     */
    retry_after_ms?: number | null;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/**
 * v1.2: how often the apps of an active session should send precise fixes (on
 * activation, when a distance changes the band, and once on connect).
 */
export interface ServerLocationCadence {
    type: "location_cadence";
    /** `far`, `near`, `close` or `arrived`. */
    band: CadenceBand;
    /** Seconds between precise fixes (0: stop sending until told otherwise). */
    interval_s: number;
    /** Metres of movement worth a fix before the interval is up. */
    min_move_m: number;
    /** The session. */
    session_id: string;
    /** Send time. */
    timestamp: Timestamp;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** Seeker: your mediums were stored; the session is active. */
export interface ServerMediumsSelected {
    type: "mediums_selected";
    /** Always `active`. */
    connection_state: ConnectionState;
    /** What you selected. */
    mediums: Mediums;
    /** The session. */
    session_id: string;
    /** Send time. */
    timestamp: Timestamp;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** Provider: your mediums were shared. */
export interface ServerMediumsShared {
    type: "mediums_shared";
    /** What you shared. */
    mediums: Mediums;
    /** The session. */
    session_id: string;
    /** Send time. */
    timestamp: Timestamp;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** Sender: your message is durably stored. */
export interface ServerMessageSent {
    type: "message_sent";
    /** The stored message. */
    message_id: string;
    /** The stored text was masked (the session was waiting); absent otherwise. */
    redacted?: boolean;
    /** The session. */
    session_id: string;
    /** When it was stored. */
    timestamp: Timestamp;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** Sender: the recipient acknowledged delivery or reading. */
export interface ServerMessageStatusUpdate {
    type: "message_status_update";
    /** The message. */
    message_id: string;
    /** `delivered` / `read`. */
    status: DeliveryStatus;
    /** When it changed. */
    timestamp: Timestamp;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** v1.1: the other party came online, went offline, or went stale. */
export interface ServerPeerStatus {
    type: "peer_status";
    /**
     * The peer's last socket transition or fix (RFC 3339), null if neither in this
     * session.
     */
    last_seen: Timestamp | null;
    /** The other party's role. */
    peer_role: Role;
    /** The session. */
    session_id: string;
    /** `online`, `offline` or `stale`. */
    status: PeerState;
    /** Send time. */
    timestamp: Timestamp;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** Answer to `ping`. */
export interface ServerPong {
    type: "pong";
    /** Server time. */
    timestamp: Timestamp;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** Seeker: the provider shared mediums. */
export interface ServerProviderMediumsShared {
    type: "provider_mediums_shared";
    /** The provider's mediums. */
    mediums: Mediums;
    /** The session. */
    session_id: string;
    /** Send time. */
    timestamp: Timestamp;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** Provider: the seeker selected mediums; the session is active. */
export interface ServerSeekerMediumsSelected {
    type: "seeker_mediums_selected";
    /** Always `active`. */
    connection_state: ConnectionState;
    /** The seeker's mediums. */
    mediums: Mediums;
    /** `"Seeker has selected communication mediums"`. */
    message: string;
    /** The session. */
    session_id: string;
    /** Send time. */
    timestamp: Timestamp;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** The session was completed; sockets close with 1000 after this. */
export interface ServerServiceFinished {
    type: "service_finished";
    /** Only to the other party: who finished. */
    finished_by?: Role | null;
    /** Role-specific text. */
    message: string;
    /** The session. */
    session_id: string;
    /** Send time. */
    timestamp: Timestamp;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** The other party is (not) typing. */
export interface ServerTypingIndicator {
    type: "typing_indicator";
    /** true while typing. */
    is_typing: boolean;
    /** The session. */
    session_id: string;
    /** Send time. */
    timestamp: Timestamp;
    /** Who types: `seeker` / `provider`. */
    user_type: Role;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** Both parties: the order was accepted and the session is waiting. */
export interface ServerWorkAccepted {
    type: "work_accepted";
    /** Always `waiting`. */
    connection_state: ConnectionState;
    /** Role-specific text. */
    message: string;
    /** The new session. */
    session_id: string;
    /** Send time. */
    timestamp: Timestamp;
    /** The order. */
    work_id: number;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** Provider: a seeker sent you a work order. */
export interface ServerWorkAssigned {
    type: "work_assigned";
    /** When the order was created. */
    created_at: Timestamp;
    /** `"2.5 km"` / `"450 meters"` from the order to your status location, or null. */
    distance: string | null;
    /** The seeker's note. */
    message: string;
    /** The seeker's phone number. */
    seeker_mobile: string | null;
    /** The seeker's display name. */
    seeker_name: string | null;
    /** The seeker's picture URL. */
    seeker_profile_pic: string | null;
    /** What is needed. */
    service_type: string;
    /** Send time. */
    timestamp: Timestamp;
    /** The order. */
    work_id: number;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** Seeker: your pending order expired. */
export interface ServerWorkExpired {
    type: "work_expired";
    /** Send time. */
    timestamp: Timestamp;
    /** The order. */
    work_id: number;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** Provider: your rejection was recorded. */
export interface ServerWorkRejected {
    type: "work_rejected";
    /** Send time. */
    timestamp: Timestamp;
    /** The order. */
    work_id: number;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** Seeker: the provider declined. */
export interface ServerWorkResponse {
    type: "work_response";
    /** Always false. */
    accepted: boolean;
    /** The provider's phone number. */
    provider_mobile: string | null;
    /** The provider's display name. */
    provider_name: string | null;
    /** When the provider answered. */
    response_time: Timestamp;
    /** What was asked. */
    service_type: string;
    /** The order. */
    work_id: number;
    /** Echo of the client's `request_id` (direct answers only). */
    request_id?: string;
}
/** `POST /api/v1/work-orders` body. */
export interface CreateWorkOrderBody {
    /** Where the work is, degrees. */
    latitude: number;
    /** Where the work is, degrees. */
    longitude: number;
    /** The seeker's note, at most 1000 characters (may be empty). */
    message: string;
    /** The provider (UUID). */
    provider_id: string;
    /** 1-64 characters. */
    service_type: string;
}
/** Every HTTP error answer: `{"error": "<human message>", "code": "<snake_case code>"}`. */
export interface ErrorBody {
    /** snake_case code. */
    code: ErrorCode;
    /** Human message. */
    error: string;
    /**
     * On `unavailable` and `rate_limited`: wait at least this long before trying again
     * (the `Retry-After` header says the same in whole seconds).
     */
    retry_after_ms?: number | null;
}
/** `GET /api/v1/sessions/{id}/messages` answer. */
export interface MessagePage {
    /** Whether older messages exist before this page. */
    has_more: boolean;
    /** Oldest first. */
    messages: Array<ChatMessageView>;
}
/** `GET /api/v1/providers/nearby` answer. */
export interface NearbyProviders {
    /** Active providers, nearest first. */
    providers: Array<NearbyProvider>;
}
/** `GET/PUT /api/v1/profile` answer. */
export interface Profile {
    /** Display name: the profile's, else the token's `name` claim, else null. */
    display_name: string | null;
    /** Phone number, if set. */
    mobile: string | null;
    /** Picture URL, if set. */
    profile_pic_url: string | null;
    /** The caller's user id. */
    user_id: string;
}
/** `GET/PUT /api/v1/provider/status` answer. */
export interface ProviderStatus {
    /** Whether the provider takes work now. */
    is_active: boolean;
    /** Where the provider is, for nearby search and assignment distance. */
    latitude: number | null;
    /** See `latitude`. */
    longitude: number | null;
    /** What the provider offers. */
    service_types: Array<string>;
    /** Last change. */
    updated_at: Timestamp | null;
}
/**
 * POSTed to `TETHER_PUSH_WEBHOOK_URL` when a `work_assigned` or `chat_message` is
 * addressed to a user with no open socket for that role, signed in `X-Tether-Signature:
 * sha256=<hex HMAC-SHA256 of the exact body>`. No text, no name, no phone. Receivers
 * deduplicate by `event_id` (a crash between a 2xx and recording it sends it again).
 */
export interface PushEvent {
    /** What it announces. */
    type: PushEventType;
    /** When the order or message was stored. */
    at: Timestamp;
    /** This event's own id (UUID); the same on every try. */
    event_id: string;
    /** The addressee's role (the endpoint with no open socket). */
    role: Role;
    /** The session, for `chat_message` only (absent otherwise, never null). */
    session_id?: string;
    /** The addressee. */
    user_id: string;
    /** The work order, for `work_assigned` only (absent otherwise, never null). */
    work_id?: number;
}
/** `PUT /api/v1/profile` body. */
export interface PutProfileBody {
    /** 1-100 characters after trimming. */
    display_name: string;
    /** Optional `+` and 7-15 digits; null clears it. */
    mobile?: string | null;
    /** http(s) URL, at most 2048 characters; null clears it. */
    profile_pic_url?: string | null;
}
/** `PUT /api/v1/provider/status` body. */
export interface PutProviderStatusBody {
    /** Whether the provider takes work now. */
    is_active: boolean;
    /** Degrees; required when active. */
    latitude?: number | null;
    /** Degrees; required when active. */
    longitude?: number | null;
    /** 1-20 names of 1-64 characters when active. */
    service_types?: Array<string> | null;
}
/** `PUT /api/v1/seeker/search` body. */
export interface PutSeekerSearchBody {
    /** Whether the seeker is looking. */
    is_searching: boolean;
}
/** `POST /api/v1/sessions/{id}/rating` body. */
export interface RatingBody {
    /** At most 1000 characters. */
    rating_description?: string | null;
    /** Integer 1-5. */
    rating_stars: number;
}
/** `POST /api/v1/sessions/{id}/rating` answer. */
export interface RatingSaved {
    /** When rated. */
    rated_at: Timestamp;
    /** Optional text. */
    rating_description: string | null;
    /** Stars, 1-5. */
    rating_stars: number;
    /** The session rated. */
    session_id: string;
}
/** `GET/PUT /api/v1/seeker/search` answer. */
export interface SeekerSearch {
    /** Whether the seeker is looking for a provider. */
    is_searching: boolean;
    /** Last change (null when never set). */
    updated_at: Timestamp | null;
}
/**
 * Session snapshot (`GET /api/v1/sessions/...`). Rating fields only for the seeker;
 * the other party's mediums only once selected/shared.
 */
export interface SessionSnapshot {
    /** v1.1: the last arrival stage announced, or null. */
    arrival_stage: ArrivalStage | null;
    /** When it was cancelled. */
    cancelled_at: Timestamp | null;
    /** `seeker` / `provider`. */
    cancelled_by: Role | null;
    /** Same as `session_id`. */
    chat_room_id: string;
    /** When the chat started. */
    chat_started_at: Timestamp | null;
    /** When it was completed. */
    completed_at: Timestamp | null;
    /** `seeker` / `provider`. */
    completed_by: Role | null;
    /** Current state. */
    connection_state: ConnectionState;
    /** Creation time. */
    created_at: Timestamp;
    /** Last computed distance, rounded to 0.1 m. */
    current_distance_meters: number | null;
    /** `"450 meters away"` / `"1.3 km away"`, or null. */
    distance_formatted: string | null;
    /**
     * v1.2: how often the apps should send precise fixes while the session is active;
     * null otherwise.
     */
    location_cadence: Cadence | null;
    /** v1.1: the other party's last socket transition or fix, or null. */
    peer_last_seen: Timestamp | null;
    /** v1.1: the other party now (`online`, `offline`, `stale`); null once ended. */
    peer_status: PeerState | null;
    /** The provider's mediums: for the provider always, for the seeker once shared. */
    provider_mediums: Mediums | null;
    /** Seeker only: when rated. */
    rated_at?: Timestamp | null;
    /** Seeker only: text given. */
    rating_description?: string | null;
    /** Seeker only: stars given. */
    rating_stars?: number | null;
    /** The caller's role in this session. */
    role: Role;
    /** The seeker's mediums: for the seeker always, for the provider once selected. */
    seeker_mediums: Mediums | null;
    /** Session id (= chat room id). */
    session_id: string;
    /** The work order it came from. */
    work_id: number;
}
/** `GET /api/v1/sessions/{session_id}/timeline` answer. */
export interface SessionTimeline {
    /** Oldest first, `seq` 1, 2, 3, ... */
    events: Array<TimelineEvent>;
    /** The last event's `hash` (64 zeros if there were none, which a session never has). */
    head_hash: string;
    /** The session. */
    session_id: string;
}
/** `GET /api/v1/work-orders/{work_id}` answer. */
export interface WorkOrder {
    /** Creation time. */
    created_at: Timestamp;
    /** The seeker's note. */
    message: string;
    /** Who was asked. */
    provider_id: string;
    /** When the provider answered (or the order expired). */
    responded_at: Timestamp | null;
    /** Who asked. */
    seeker_id: string;
    /** What is needed. */
    service_type: string;
    /** The session, once accepted. */
    session_id: string | null;
    /** Current status. */
    status: WorkOrderStatus;
    /** Order id. */
    work_id: number;
}
/** `POST /api/v1/work-orders` answer (201). */
export interface WorkOrderCreated {
    /** Creation time. */
    created_at: Timestamp;
    /** Always `pending`. */
    status: WorkOrderStatus;
    /** The new order's id. */
    work_id: number;
}
/** Every client message. */
export type ClientMessage = SeekerClientMessage | ProviderClientMessage;
/** What a seeker sends on /ws/work/seeker/. */
export type SeekerClientMessage = BothClientMessage | ClientMediumSelection;
/** What a provider sends on /ws/work/provider/. */
export type ProviderClientMessage = BothClientMessage | ClientMediumShare | ClientWorkResponse;
/** What a seeker and a provider both send on their endpoints. */
type BothClientMessage = ClientCancelConnection | ClientChatMessage | ClientFinishService | ClientLocationUpdate | ClientMessageDelivered | ClientMessageRead | ClientPing | ClientStartChat | ClientTypingIndicator;
/** The wire `type` of each client message. */
export declare const CLIENT_MESSAGE_TYPES: readonly ["cancel_connection", "chat_message", "finish_service", "location_update", "medium_selection", "medium_share", "message_delivered", "message_read", "ping", "start_chat", "typing_indicator", "work_response"];
/** Every server message. */
export type ServerMessage = SeekerServerMessage | ProviderServerMessage;
/** What a seeker receives on /ws/work/seeker/. */
export type SeekerServerMessage = BothServerMessage | ServerMediumsSelected | ServerProviderMediumsShared | ServerWorkExpired | ServerWorkResponse;
/** What a provider receives on /ws/work/provider/. */
export type ProviderServerMessage = BothServerMessage | ServerMediumsShared | ServerSeekerMediumsSelected | ServerWorkAssigned | ServerWorkRejected;
/** What a seeker and a provider both receive on their endpoints. */
type BothServerMessage = ServerArrivalUpdate | ServerChatMessage | ServerChatReady | ServerConnectionCancelled | ServerDistanceUpdate | ServerError | ServerLocationCadence | ServerMessageSent | ServerMessageStatusUpdate | ServerPeerStatus | ServerPong | ServerServiceFinished | ServerTypingIndicator | ServerWorkAccepted;
/** The wire `type` of each server message. */
export declare const SERVER_MESSAGE_TYPES: readonly ["arrival_update", "chat_message", "chat_ready", "connection_cancelled", "distance_update", "error", "location_cadence", "mediums_selected", "mediums_shared", "message_sent", "message_status_update", "peer_status", "pong", "provider_mediums_shared", "seeker_mediums_selected", "service_finished", "typing_indicator", "work_accepted", "work_assigned", "work_expired", "work_rejected", "work_response"];
export {};
