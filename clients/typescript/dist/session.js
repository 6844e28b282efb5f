import { TetherError } from './errors.js';
const STAGES = ['approaching_500', 'approaching_100', 'arrived'];
const STATUS_RANK = { sent: 0, delivered: 1, read: 2 };
/** Receipts kept for messages not known yet (a receipt may overtake its `message_sent`). */
const EARLY_RECEIPTS = 500;
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
export class TetherSession {
    role;
    #client;
    #api;
    #pinned;
    #historyLimit;
    #handlers = new Map();
    #unsubscribe = [];
    #ended = new Set();
    #id = null;
    #workId = null;
    #state = null;
    #distance = null;
    #stage = null;
    #presence = null;
    #cadence = null;
    #ownMediums = null;
    #peerMediums = null;
    #chatStartedAt = null;
    #endedBy = null;
    #peerTyping = false;
    #messages = [];
    #receipts = new Map();
    /** Bumped by every live change of a field: a refresh that started earlier does not overwrite it. */
    #versions = { state: 0, distance: 0, presence: 0, cadence: 0, mediums: 0, chat: 0, end: 0 };
    #runningRefresh;
    #queuedRefresh;
    #refreshTimer;
    #wasOpen;
    #disposed = false;
    constructor(client, options = {}) {
        this.#client = client;
        this.role = client.role;
        this.#api = options.api;
        this.#pinned = options.sessionId;
        this.#historyLimit = Math.min(200, Math.max(1, options.historyLimit ?? 50));
        if (options.sessionId)
            this.#id = options.sessionId;
        this.#unsubscribe.push(client.onAny((message) => this.#receive(message)));
        this.#wasOpen = client.state.state === 'open';
        this.#unsubscribe.push(client.onState((info) => {
            const open = info.state === 'open';
            if (open && !this.#wasOpen)
                this.#scheduleRefresh();
            this.#wasOpen = open;
        }));
        if (this.#wasOpen)
            this.#scheduleRefresh();
    }
    // ---- what it knows ----
    /** The socket client it follows. */
    get client() {
        return this.#client;
    }
    /** The session's id, or null before one is known. */
    get id() {
        return this.#id;
    }
    /** The work order it came from, when known. */
    get workId() {
        return this.#workId;
    }
    /** `waiting`, `active`, `cancelled`, `completed`; null before it is known. */
    get state() {
        return this.#state;
    }
    /** Whether it ended (cancelled or completed). */
    get ended() {
        return this.#state === 'cancelled' || this.#state === 'completed';
    }
    /** Who cancelled or finished it (this side's role when this side did). */
    get endedBy() {
        return this.#endedBy;
    }
    /** The last distance, with its trend and ETA; null before one was computed. */
    get distance() {
        return this.#distance;
    }
    /** The trend of the last distance (shortcut of `distance.trend`). */
    get trend() {
        return this.#distance?.trend ?? null;
    }
    /** The ETA of the last distance in seconds (shortcut of `distance.etaSeconds`). */
    get etaSeconds() {
        return this.#distance?.etaSeconds ?? null;
    }
    /** The closest arrival stage announced, or null. */
    get stage() {
        return this.#stage;
    }
    /** The other party's presence; null before the server told it. */
    get peer() {
        return this.#presence;
    }
    /**
     * How often to send fixes (protocol 1.2), null before the server sent one (a server before
     * 1.2 never does) and when the session is not active.
     */
    get cadence() {
        return this.#cadence;
    }
    /** This side's mediums (selected or shared), when known. */
    get ownMediums() {
        return this.#ownMediums;
    }
    /** The other party's mediums, once they selected or shared them. */
    get peerMediums() {
        return this.#peerMediums;
    }
    /** When the chat started, or null. */
    get chatStartedAt() {
        return this.#chatStartedAt;
    }
    /** Whether the other party is typing. */
    get peerTyping() {
        return this.#peerTyping;
    }
    /** Both parties' messages, oldest first (one's own still sending last); a new array on every change. */
    get messages() {
        return this.#messages;
    }
    /** The other party's messages this side has not marked read. */
    get unread() {
        return this.#messages.filter((m) => !m.mine && m.delivery_status !== 'read');
    }
    // ---- events ----
    /** Calls `handler` on each event of `type`; returns a function that unsubscribes. */
    on(type, handler) {
        let set = this.#handlers.get(type);
        if (!set)
            this.#handlers.set(type, (set = new Set()));
        const handlers = set;
        handlers.add(handler);
        return () => handlers.delete(handler);
    }
    /** Stops following the client (and its timers). */
    dispose() {
        this.#disposed = true;
        clearTimeout(this.#refreshTimer);
        for (const off of this.#unsubscribe.splice(0))
            off();
    }
    // ---- actions ----
    /**
     * Sends a chat message and shows it at once (`pending`); resolves with it once stored
     * (`message_id`, `timestamp`, `redacted` set), or marks it failed (`error`) and rejects.
     */
    async sendChat(text, clientMessageId = randomId()) {
        const sessionId = this.#requireId();
        const local = {
            message_id: null,
            session_id: sessionId,
            sender_type: this.role,
            message: text.trim(),
            delivery_status: 'sent',
            timestamp: null,
            delivered_at: null,
            read_at: null,
            mine: true,
            pending: true,
            client_message_id: clientMessageId,
        };
        this.#messages = [...this.#messages, local];
        this.#emitMessage(local, 'local');
        try {
            const sent = await this.#client.sendChat(sessionId, text, clientMessageId);
            // The `message_sent` handler has updated it by now.
            return this.#find(sent.message_id) ?? this.#ownSent(sent.message_id, sent.timestamp, sent.redacted, text.trim(), clientMessageId, sessionId);
        }
        catch (error) {
            const failure = error instanceof TetherError ? error : new TetherError('internal', String(error));
            const current = this.#messages.find((m) => m.client_message_id === clientMessageId && m.message_id === null);
            if (current)
                this.#replace(current, { ...current, pending: false, error: failure }, 'local');
            throw failure;
        }
    }
    /**
     * Marks the other party's message read (the client keeps the receipt until the server has
     * it); the message shows `read` once confirmed.
     */
    async markRead(messageId) {
        await this.#client.markRead(messageId);
        const message = this.#find(messageId);
        if (message && message.delivery_status !== 'read') {
            const now = new Date().toISOString();
            this.#replace(message, { ...message, delivery_status: 'read', read_at: now, delivered_at: message.delivered_at ?? now }, 'local');
        }
    }
    /** Marks every unread message of the other party read. */
    async markAllRead() {
        await Promise.all(this.unread.map((m) => (m.message_id ? this.markRead(m.message_id) : undefined)));
    }
    /**
     * Reads the snapshot and the latest messages through the `api` given (or `api`): the
     * followed session's, or (when there is none, or it ended) the role's waiting or active
     * one. Values that events changed while it was under way are kept. Done by itself when a
     * session is taken up and after every reconnect when the session has an `api`.
     */
    refresh(api = this.#api) {
        if (!api)
            return Promise.reject(new TypeError('refresh() needs a TetherApi (options.api or the argument)'));
        // One read at a time, in order: what resolves has read everything since the call.
        if (this.#queuedRefresh)
            return this.#queuedRefresh;
        if (!this.#runningRefresh)
            return this.#startRefresh(api);
        const queued = this.#runningRefresh
            .catch(() => { })
            .then(() => {
            this.#queuedRefresh = undefined;
            return this.#startRefresh(api);
        });
        this.#queuedRefresh = queued;
        return queued;
    }
    #startRefresh(api) {
        const running = this.#read(api).finally(() => {
            if (this.#runningRefresh === running)
                this.#runningRefresh = undefined;
        });
        this.#runningRefresh = running;
        return running;
    }
    async #read(api) {
        const started = { ...this.#versions };
        const followed = this.#pinned ?? (this.#id !== null && !this.ended ? this.#id : null);
        const snapshot = followed ? await api.getSession(followed) : await api.activeSession(this.role);
        if (!snapshot || this.#disposed)
            return;
        if (snapshot.session_id !== this.#id) {
            if (this.#pinned && snapshot.session_id !== this.#pinned)
                return;
            if (this.#id !== null && !this.ended)
                return; // a session taken up meanwhile
            if (this.#ended.has(snapshot.session_id))
                return;
            this.#adopt(snapshot.session_id, snapshot.work_id, false);
            // Everything is new: apply the whole snapshot.
            for (const key of Object.keys(started))
                started[key] = this.#versions[key];
        }
        const page = await api.messages(snapshot.session_id, { limit: this.#historyLimit });
        if (this.#disposed || snapshot.session_id !== this.#id)
            return;
        this.#applySnapshot(snapshot, started);
        for (const message of page.messages)
            this.#mergeHistory(message);
        this.#emit('change', { cause: 'refresh' });
    }
    // ---- bookkeeping ----
    #requireId() {
        if (!this.#id)
            throw new TetherError('not_connected', 'No session yet');
        if (this.ended)
            throw new TetherError('conflict', `The session is ${this.#state}`);
        return this.#id;
    }
    #scheduleRefresh() {
        if (!this.#api || this.#disposed)
            return;
        clearTimeout(this.#refreshTimer);
        // Coalesces the bursts of a connect (peer_status, cadence, re-sent messages).
        this.#refreshTimer = setTimeout(() => {
            this.refresh().catch((error) => {
                const failure = error instanceof TetherError ? error : new TetherError('internal', String(error));
                this.#emit('error', failure);
            });
        }, 50);
    }
    /** Whether an event of `sessionId` is this session's (taking it up when free). */
    #accepts(sessionId) {
        if (this.#pinned)
            return sessionId === this.#pinned;
        if (sessionId === this.#id)
            return true;
        if ((this.#id === null || this.ended) && !this.#ended.has(sessionId)) {
            this.#adopt(sessionId, null, true);
            return true;
        }
        return false;
    }
    #adopt(sessionId, workId, refresh) {
        if (this.#id !== null && this.#id !== sessionId && this.ended)
            this.#ended.add(this.#id);
        this.#id = sessionId;
        this.#workId = workId;
        this.#state = null;
        this.#distance = null;
        this.#stage = null;
        this.#presence = null;
        this.#cadence = null;
        this.#ownMediums = null;
        this.#peerMediums = null;
        this.#chatStartedAt = null;
        this.#endedBy = null;
        this.#peerTyping = false;
        this.#messages = [];
        for (const key of Object.keys(this.#versions))
            this.#versions[key] += 1;
        this.#emit('session', { sessionId, workId });
        if (refresh)
            this.#scheduleRefresh();
    }
    #receive(message) {
        if (this.#disposed)
            return;
        if (message.type === 'message_status_update') {
            this.#receipt(message.message_id, message.status, message.timestamp);
            return;
        }
        if (message.type === 'work_accepted') {
            if (this.#pinned && message.session_id !== this.#pinned)
                return;
            if (message.session_id !== this.#id)
                this.#adopt(message.session_id, message.work_id, true);
            this.#workId = message.work_id;
            this.#setState('waiting', message.type);
            this.#emit('change', { cause: message.type });
            return;
        }
        if (!('session_id' in message) || typeof message.session_id !== 'string')
            return;
        if (!this.#accepts(message.session_id))
            return;
        const cause = message.type;
        const live = !this.ended; // after the end only the chat's last receipts change anything
        switch (message.type) {
            case 'mediums_selected':
                this.#ownMediums = message.mediums;
                this.#versions.mediums += 1;
                this.#setState('active', cause);
                break;
            case 'seeker_mediums_selected':
                this.#peerMediums = message.mediums;
                this.#versions.mediums += 1;
                this.#setState('active', cause);
                break;
            case 'mediums_shared':
                this.#ownMediums = message.mediums;
                this.#versions.mediums += 1;
                break;
            case 'provider_mediums_shared':
                this.#peerMediums = message.mediums;
                this.#versions.mediums += 1;
                break;
            case 'chat_ready':
                this.#chatStarted(message.timestamp);
                break;
            case 'distance_update':
                if (!live)
                    return;
                this.#distance = {
                    meters: message.distance_meters,
                    formatted: message.distance_formatted,
                    trend: message.trend ?? null,
                    etaSeconds: message.eta_seconds ?? null,
                    at: message.timestamp,
                };
                this.#versions.distance += 1;
                this.#emit('distance', this.#distance);
                break;
            case 'arrival_update':
                if (!live || !this.#closer(message.stage))
                    return;
                this.#stage = message.stage;
                this.#emit('stage', message.stage);
                break;
            case 'peer_status':
                if (!live)
                    return;
                this.#presence = { status: message.status, lastSeen: message.last_seen ?? null, at: message.timestamp };
                this.#versions.presence += 1;
                this.#emit('presence', this.#presence);
                break;
            case 'location_cadence':
                if (!live)
                    return;
                this.#cadence = cadenceOf(message);
                this.#versions.cadence += 1;
                this.#emit('cadence', this.#cadence);
                break;
            case 'typing_indicator':
                this.#setTyping(message.is_typing);
                break;
            case 'chat_message': {
                const { type: _type, request_id: _request, ...view } = message;
                this.#chatStarted(message.timestamp);
                this.#setTyping(false);
                this.#mergeHistory(view);
                break;
            }
            case 'message_sent': {
                const command = this.#client.commandOf(message);
                const text = command?.type === 'chat_message' ? (command.message ?? '').trim() : undefined;
                const clientId = command?.type === 'chat_message' ? (command.client_message_id ?? undefined) : undefined;
                this.#chatStarted(message.timestamp);
                this.#ownSent(message.message_id, message.timestamp, message.redacted, text, clientId, message.session_id);
                break;
            }
            case 'connection_cancelled':
                this.#end('cancelled', message.cancelled_by ?? this.role, cause);
                break;
            case 'service_finished':
                this.#end('completed', message.finished_by ?? this.role, cause);
                break;
            default:
                return;
        }
        this.#emit('change', { cause });
    }
    #setState(state, _cause) {
        if (this.#state === state || this.ended)
            return;
        if (state === 'waiting' && this.#state === 'active')
            return;
        this.#state = state;
        this.#versions.state += 1;
        this.#emit('state', state);
    }
    #end(state, by, cause) {
        if (this.ended)
            return;
        this.#setState(state, cause);
        this.#endedBy = by;
        this.#versions.end += 1;
        if (this.#cadence) {
            this.#cadence = null;
            this.#emit('cadence', null);
        }
        if (this.#presence?.status) {
            this.#presence = { ...this.#presence, status: null };
            this.#emit('presence', this.#presence);
        }
        this.#setTyping(false);
    }
    #setTyping(typing) {
        if (this.#peerTyping === typing)
            return;
        this.#peerTyping = typing;
        this.#emit('typing', typing);
    }
    #chatStarted(at) {
        if (this.#chatStartedAt)
            return;
        this.#chatStartedAt = at;
        this.#versions.chat += 1;
    }
    #closer(stage) {
        if (!stage)
            return false;
        return STAGES.indexOf(stage) > (this.#stage ? STAGES.indexOf(this.#stage) : -1);
    }
    #applySnapshot(snapshot, started) {
        const unchanged = (field) => this.#versions[field] === started[field];
        this.#workId = snapshot.work_id;
        if (unchanged('state') && unchanged('end') && !this.ended && snapshot.connection_state !== this.#state) {
            // A snapshot never takes back an end this side has seen.
            const state = snapshot.connection_state;
            this.#state = state;
            this.#emit('state', state);
            if (state === 'cancelled' || state === 'completed') {
                this.#endedBy = (state === 'cancelled' ? snapshot.cancelled_by : snapshot.completed_by) ?? null;
            }
        }
        if (unchanged('distance') && snapshot.current_distance_meters !== null && snapshot.distance_formatted !== null) {
            const same = this.#distance?.meters === snapshot.current_distance_meters;
            if (!same) {
                this.#distance = { meters: snapshot.current_distance_meters, formatted: snapshot.distance_formatted, trend: null, etaSeconds: null, at: null };
                this.#emit('distance', this.#distance);
            }
        }
        if (this.#closer(snapshot.arrival_stage)) {
            this.#stage = snapshot.arrival_stage;
            this.#emit('stage', snapshot.arrival_stage);
        }
        if (unchanged('presence') && (snapshot.peer_status !== undefined || snapshot.peer_last_seen !== undefined)) {
            const presence = { status: snapshot.peer_status ?? null, lastSeen: snapshot.peer_last_seen ?? null, at: null };
            if (presence.status !== this.#presence?.status || presence.lastSeen !== this.#presence?.lastSeen) {
                this.#presence = presence;
                this.#emit('presence', presence);
            }
        }
        // A server before 1.2 has no `location_cadence` in the snapshot: keep what we have
        // (none once the session ended).
        const told = snapshot.location_cadence;
        const cadence = this.ended ? null : told === undefined || !unchanged('cadence') ? this.#cadence : cadenceOf(told);
        if (!sameCadence(cadence, this.#cadence)) {
            this.#cadence = cadence;
            this.#emit('cadence', cadence);
        }
        if (unchanged('mediums')) {
            const own = this.role === 'seeker' ? snapshot.seeker_mediums : snapshot.provider_mediums;
            const peer = this.role === 'seeker' ? snapshot.provider_mediums : snapshot.seeker_mediums;
            this.#ownMediums = own ?? this.#ownMediums;
            this.#peerMediums = peer ?? this.#peerMediums;
        }
        if (unchanged('chat') && snapshot.chat_started_at)
            this.#chatStartedAt = snapshot.chat_started_at;
    }
    #find(messageId) {
        return this.#messages.find((m) => m.message_id === messageId);
    }
    /** A message from history or live delivery: added, or merged into the one known. */
    #mergeHistory(view) {
        const known = this.#find(view.message_id);
        const mine = view.sender_type === this.role;
        if (!known) {
            let message = { ...view, mine, pending: false };
            const early = this.#receipts.get(view.message_id);
            if (early) {
                this.#receipts.delete(view.message_id);
                message = advance(message, early.status, early.at);
            }
            this.#insert(message);
            this.#emitMessage(message);
            return;
        }
        let merged = { ...known, message: view.message, pending: false };
        if (view.redacted !== undefined)
            merged.redacted = view.redacted;
        merged = advance(merged, view.delivery_status, view.read_at ?? view.delivered_at ?? view.timestamp);
        if (view.delivered_at && !known.delivered_at)
            merged.delivered_at = view.delivered_at;
        if (view.read_at && !known.read_at)
            merged.read_at = view.read_at;
        if (!sameMessage(known, merged))
            this.#replace(known, merged);
    }
    /** One's own message is stored (`message_sent`). */
    #ownSent(messageId, timestamp, redacted, text, clientMessageId, sessionId) {
        const known = this.#find(messageId) ??
            (clientMessageId === undefined ? undefined : this.#messages.find((m) => m.client_message_id === clientMessageId && m.mine));
        let message = known
            ? { ...known, message_id: messageId, timestamp: known.timestamp ?? timestamp, pending: false }
            : {
                message_id: messageId,
                session_id: sessionId,
                sender_type: this.role,
                message: text ?? '',
                delivery_status: 'sent',
                timestamp,
                delivered_at: null,
                read_at: null,
                mine: true,
                pending: false,
            };
        delete message.error;
        if (redacted)
            message.redacted = true;
        if (clientMessageId !== undefined)
            message.client_message_id = clientMessageId;
        const early = this.#receipts.get(messageId);
        if (early) {
            this.#receipts.delete(messageId);
            message = advance(message, early.status, early.at);
        }
        // A history read may have brought the stored copy before this answer: the local echo goes.
        const echo = clientMessageId === undefined ? undefined : this.#messages.find((m) => m !== known && m.message_id === null && m.client_message_id === clientMessageId);
        if (echo)
            this.#messages = this.#messages.filter((m) => m !== echo);
        if (known) {
            if (!sameMessage(known, message) || echo) {
                // Stored: it takes its place by time among the others.
                this.#messages = this.#messages.filter((m) => m !== known);
                this.#insert(message);
                this.#emitMessage(message);
            }
        }
        else {
            this.#insert(message);
            this.#emitMessage(message);
        }
        return message;
    }
    /** A receipt for one's own message (kept until the message is known: it can come first). */
    #receipt(messageId, status, at) {
        const known = this.#find(messageId);
        if (!known) {
            const early = this.#receipts.get(messageId);
            if (!early || STATUS_RANK[status] > STATUS_RANK[early.status])
                this.#receipts.set(messageId, { status, at });
            if (this.#receipts.size > EARLY_RECEIPTS) {
                const oldest = this.#receipts.keys().next().value;
                if (oldest !== undefined)
                    this.#receipts.delete(oldest);
            }
            return;
        }
        const advanced = advance(known, status, at);
        if (advanced !== known) {
            this.#replace(known, advanced, 'message_status_update');
        }
    }
    #insert(message) {
        const list = [...this.#messages];
        const key = sortKey(message);
        let i = list.length;
        while (i > 0 && sortKey(list[i - 1]) > key)
            i -= 1;
        list.splice(i, 0, message);
        this.#messages = list;
    }
    #replace(old, next, cause) {
        this.#messages = this.#messages.map((m) => (m === old ? next : m));
        this.#emitMessage(next, cause);
    }
    /** Tells `message` handlers; with a `cause`, also `change` (otherwise the caller does). */
    #emitMessage(message, cause) {
        this.#emit('message', message);
        if (cause)
            this.#emit('change', { cause });
    }
    #emit(type, value) {
        for (const handler of [...(this.#handlers.get(type) ?? [])]) {
            try {
                handler(value);
            }
            catch (error) {
                console.error('tether session: a handler threw', error);
            }
        }
    }
}
/** `message` with its status moved forward to `status` (never back), or `message` itself. */
function advance(message, status, at) {
    if (STATUS_RANK[status] <= STATUS_RANK[message.delivery_status])
        return message;
    const next = { ...message, delivery_status: status };
    if (status === 'delivered' || status === 'read')
        next.delivered_at = message.delivered_at ?? at;
    if (status === 'read')
        next.read_at = message.read_at ?? at;
    return next;
}
function cadenceOf(told) {
    return told && { band: told.band, interval_s: told.interval_s, min_move_m: told.min_move_m };
}
function sameCadence(a, b) {
    return a === b || (a !== null && b !== null && a.band === b.band && a.interval_s === b.interval_s && a.min_move_m === b.min_move_m);
}
function sameMessage(a, b) {
    return (a.message_id === b.message_id &&
        a.message === b.message &&
        a.delivery_status === b.delivery_status &&
        a.delivered_at === b.delivered_at &&
        a.read_at === b.read_at &&
        a.timestamp === b.timestamp &&
        a.pending === b.pending &&
        a.error === b.error &&
        Boolean(a.redacted) === Boolean(b.redacted));
}
/** Stored messages by time (RFC 3339 UTC sorts as text); unsent ones last. */
function sortKey(message) {
    return message.timestamp ?? '\uffff';
}
function randomId() {
    return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
