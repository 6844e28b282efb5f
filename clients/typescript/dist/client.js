import { checkTokenSource, httpBase, httpUrl, isEmptyToken, messageOf, obtainToken, quiet, } from './common.js';
import { TetherConnectionError, TetherError, codeOfStatus, retryAfterOf } from './errors.js';
/**
 * The socket URL of a role on the edge at `base` (`http(s)://` or `ws(s)://`), token in the
 * query: browsers cannot set headers on a WebSocket, and the contract accepts `?token=` on
 * the upgrade only (the edge redacts it from its logs).
 */
export function socketUrl(base, role, token) {
    const url = new URL(`/ws/work/${role}/`, httpBase(base));
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('token', token);
    return url.toString();
}
/** `exp` of a JWT in milliseconds, or undefined when it cannot be read (not verified). */
export function tokenExpiryMs(token) {
    const payload = token.split('.')[1];
    if (!payload)
        return undefined;
    try {
        const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
        const claims = JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '=')));
        const exp = typeof claims === 'object' && claims !== null && 'exp' in claims ? claims.exp : undefined;
        return typeof exp === 'number' ? exp * 1000 : undefined;
    }
    catch {
        return undefined;
    }
}
/** The reconnect delay: "full jitter", uniform in [0, min(max, base * 2^attempt)). */
export function backoffDelay(attempt, baseMs, maxMs, random) {
    const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
    return Math.floor(random() * cap);
}
/** Remembers the last `capacity` keys (insertion order), for de-duplication. */
class RecentKeys {
    capacity;
    #keys = new Set();
    constructor(capacity) {
        this.capacity = capacity;
    }
    /** True when `key` is new (and remembers it). */
    add(key) {
        if (this.#keys.has(key))
            return false;
        this.#keys.add(key);
        if (this.#keys.size > this.capacity) {
            const oldest = this.#keys.values().next().value;
            if (oldest !== undefined)
                this.#keys.delete(oldest);
        }
        return true;
    }
    has(key) {
        return this.#keys.has(key);
    }
}
const OPEN = 1;
/** `setTimeout` takes at most 2^31 - 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Close codes after which reconnecting cannot help (1008: policy, e.g. rate abuse). */
const NO_RECONNECT = new Set([1008]);
const TOKEN_EXPIRED = 4401;
/** Our own close code for a socket that stopped answering pings. */
const PING_TIMEOUT = 4000;
/** How long the probe of a refused upgrade may take. */
const PROBE_TIMEOUT_MS = 5_000;
/**
 * Commands whose answer is the first server message echoing the `request_id`, with the
 * answer types that mean success. The others (`location_update`, `typing_indicator`,
 * receipts) get no answer on success: see {@link Pending}.
 */
const ANSWERS = {
    ping: ['pong'],
    work_response: ['work_accepted', 'work_rejected'],
    medium_selection: ['mediums_selected'],
    medium_share: ['mediums_shared'],
    start_chat: ['chat_ready'],
    chat_message: ['message_sent'],
    cancel_connection: ['connection_cancelled'],
    finish_service: ['service_finished'],
};
/**
 * Commands that may be sent again when the socket drops before their answer, or after an
 * `unavailable` / `rate_limited` answer: idempotent or latest-wins (a `chat_message` only
 * with its `client_message_id`, which the SDK always sets). The others (`work_response`,
 * `cancel_connection`, `finish_service`) would answer `conflict` if the first attempt took
 * effect, so they fail with `disconnected` (or the server's error) and the app checks the
 * session snapshot.
 */
const RESENDABLE = new Set(['ping', 'medium_selection', 'medium_share', 'start_chat', 'chat_message']);
/**
 * One role's socket: connects, reconnects, pings, correlates answers, acknowledges and
 * de-duplicates. Use {@link SeekerClient} or {@link ProviderClient}.
 */
export class TetherClient {
    role;
    #options;
    #ws = null;
    #attempt;
    /** Bumped by every new attempt and by stopping: late async steps of older ones give up. */
    #generation = 0;
    #token;
    #info = { state: 'idle', attempt: 0 };
    #openedAt = 0;
    #requestCounter = 0;
    #writeCounter = 0;
    #pending = new Map();
    /** Outstanding receipts by `type:message_id`: asking again gives the same promise. */
    #receipts = new Map();
    /** Messages the app marked read: a re-sent copy means the receipt was lost, so it goes again. */
    #readIds;
    /** request_id -> write order of every frame written to the current socket and not yet answered. */
    #written = new Map();
    /** Write order of the last frame on this socket that has an answer. */
    #lastAnswering = 0;
    /** Errors without a `request_id` (the edge refused a frame before reading it) since the last answer. */
    #unmatched = [];
    #barrierQueued = false;
    #barrierInFlight = false;
    #flushTimer;
    #handlers = new Map();
    #anyHandlers = new Set();
    #stateListeners = new Set();
    #waiters = new Set();
    #seen;
    /** Direct answers -> the command they answered (see {@link TetherClient.commandOf}). */
    #answered = new WeakMap();
    #reconnectTimer;
    #pingTimer;
    #refreshTimer;
    #firstOpen;
    constructor(
    /** Which endpoint this client speaks to. */
    role, options) {
        this.role = role;
        checkTokenSource(options.token);
        httpBase(options.url); // a bad URL fails here, not at the first connect
        this.#options = {
            requestTimeoutMs: 10_000,
            pingIntervalMs: 25_000,
            pingTimeoutMs: 10_000,
            backoffBaseMs: 500,
            backoffMaxMs: 30_000,
            stableAfterMs: 5_000,
            refreshBeforeExpiryS: 60,
            autoDelivered: true,
            dedupeWindow: 5_000,
            random: Math.random,
            // An option given as `undefined` keeps its default.
            ...Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)),
        };
        this.#seen = new RecentKeys(this.#options.dedupeWindow);
        this.#readIds = new RecentKeys(this.#options.dedupeWindow);
    }
    /** The current connection state. */
    get state() {
        return this.#info;
    }
    /**
     * Starts connecting (and keeps reconnecting). Resolves once a connection is open; rejects
     * with a {@link TetherConnectionError} if the client closes for good before that: an
     * empty token (`no_token`), a refused token with no newer one (`unauthorized`, status
     * 401), a refusal retrying cannot fix (403, 404, other 4xx), `close()`, or
     * `connectTimeoutMs` (`timeout`). Failures it retries (no answer, 429, 5xx) show in
     * {@link StateInfo.error}. Not awaiting it is safe (it never becomes an unhandled
     * rejection).
     */
    connect() {
        if (this.#info.state === 'open')
            return Promise.resolve();
        if (this.#firstOpen)
            return this.#firstOpen.promise;
        let settle;
        const promise = quiet(new Promise((resolve, reject) => {
            settle = { resolve, reject };
        }));
        const first = { promise, ...settle, timer: undefined };
        this.#firstOpen = first;
        const limit = this.#options.connectTimeoutMs;
        if (limit !== undefined) {
            first.timer = setTimeout(() => {
                if (this.#firstOpen !== first)
                    return;
                const last = this.#info.error;
                const error = new TetherConnectionError('timeout', `Not connected within ${limit} ms${last ? `: ${last.message}` : ''}`, last?.status, last?.closeCode, { cause: last });
                this.#stop({ code: 0, reason: 'connect timeout' }, error);
            }, Math.min(limit, MAX_TIMER_MS));
        }
        if (this.#info.state === 'idle' || this.#info.state === 'closed') {
            this.#setState({ state: 'connecting', attempt: 0 });
            void this.#open('connect');
        }
        return promise;
    }
    /** Closes the socket for good; pending commands fail with `closed`. `connect()` starts again. */
    close() {
        this.#stop({ code: 1000, reason: 'closed by the client' });
    }
    /** Calls `listener` on every state change; returns a function that unsubscribes. */
    onState(listener) {
        this.#stateListeners.add(listener);
        return () => this.#stateListeners.delete(listener);
    }
    /**
     * Calls `handler` for each server message of `type` (duplicates of a `chat_message` or
     * `work_assigned` already seen are dropped); returns a function that unsubscribes. Works
     * on a `SeekerClient | ProviderClient` too (then any type either receives).
     */
    on(type, handler) {
        return this.#subscribe(type, handler);
    }
    /** Like {@link on}, for the next message of `type` only. */
    once(type, handler) {
        const off = this.#subscribe(type, (message) => {
            off();
            handler(message);
        });
        return off;
    }
    /**
     * Resolves with the next message of `type` (that passes `filter`); rejects with
     * `timeout` after `timeoutMs`, or `closed` when the client closes for good first.
     */
    waitFor(type, options = {}) {
        return this.#waitFor(type, options);
    }
    /** Calls `handler` for every server message (after de-duplication). */
    onAny(handler) {
        const listener = handler;
        this.#anyHandlers.add(listener);
        return () => this.#anyHandlers.delete(listener);
    }
    /**
     * The command a received message answered (matched by its `request_id`), when it was a
     * direct answer to one of this client's commands: e.g. the `chat_message` (with its text
     * and `client_message_id`) behind a `message_sent`. Undefined for events.
     */
    commandOf(message) {
        return this.#answered.get(message);
    }
    /**
     * Low level: writes a message as it is (no `request_id`, no confirmation); false when
     * the socket is not open (nothing is sent). Prefer the typed methods.
     */
    send(message) {
        if (this.#ws?.readyState !== OPEN || this.#info.state !== 'open')
            return false;
        this.#ws.send(JSON.stringify(message));
        return true;
    }
    /**
     * Sends a command that has an answer and resolves with it (rejects with the server's
     * `error` as {@link TetherError}, or `timeout`). While not connected the command waits
     * for the connection within the same timeout. Idempotent commands are sent again after
     * a reconnect and after `unavailable` / `rate_limited` (no sooner than the server's
     * `retry_after_ms`) while the timeout allows.
     */
    request(message, timeoutMs = this.#options.requestTimeoutMs) {
        const expect = ANSWERS[message.type];
        if (!expect)
            throw new TypeError(`${message.type} has no answer: use its method (it is confirmed without one)`);
        return this.#command('request', message, timeoutMs, expect);
    }
    // ---- commands both roles have ----
    /** Opens the session's chat; both parties get `chat_ready`. */
    startChat(sessionId) {
        const message = { type: 'start_chat', session_id: sessionId };
        return this.request(message);
    }
    /**
     * Sends a chat message; resolves with `message_sent` once it is stored. Safe to retry:
     * the SDK sets a `client_message_id` (pass your own to retry across app restarts).
     */
    sendChat(sessionId, text, clientMessageId = randomId()) {
        const message = {
            type: 'chat_message',
            session_id: sessionId,
            message: text,
            client_message_id: clientMessageId,
        };
        return this.request(message);
    }
    /**
     * Marks a received message read (the sender gets `message_status_update`). Kept until
     * the server has it: sent once connected, again after a drop, after `unavailable`, and
     * when the server re-sends the message. Resolves once confirmed; rejects with the
     * server's error (`not_found`, `forbidden`, ...), `not_connected` before `connect()`, or
     * `closed`. Safe not to await.
     */
    markRead(messageId) {
        this.#readIds.add(messageId);
        const message = { type: 'message_read', message_id: messageId };
        return this.#receipt(message);
    }
    /**
     * Acknowledges delivery of a message, like {@link markRead}. The client does this by
     * itself for every `chat_message` unless `autoDelivered` is false.
     */
    markDelivered(messageId) {
        const message = { type: 'message_delivered', message_id: messageId };
        return this.#receipt(message);
    }
    /**
     * Tells the other party whether this one is typing (latest wins). Resolves once the server
     * took it; rejects with its error (`not_found`, `conflict`, `validation`, ...), with
     * `not_connected` when the socket is not open (nothing sent), or `disconnected` when it
     * dropped first. Safe not to await.
     */
    typing(sessionId, isTyping) {
        const message = { type: 'typing_indicator', session_id: sessionId, is_typing: isTyping };
        return this.#fire(message);
    }
    /**
     * Reports this party's position (latest wins; `accuracyM` in metres, absent for a
     * precise fix). Settles like {@link typing}: never queued while disconnected nor sent
     * again, since a later fix replaces it.
     */
    updateLocation(sessionId, latitude, longitude, accuracyM) {
        const message = { type: 'location_update', session_id: sessionId, latitude, longitude };
        if (accuracyM !== undefined)
            message.accuracy_m = accuracyM;
        return this.#fire(message);
    }
    /**
     * Cancels the session. The server then closes both parties' sockets with 1000; the
     * client reconnects by itself (call `close()` when the app is done).
     */
    cancel(sessionId) {
        const message = { type: 'cancel_connection', session_id: sessionId };
        return this.request(message);
    }
    /** Round trip to the server (the client pings by itself; this is for tests and probes). */
    ping() {
        const message = { type: 'ping' };
        return this.request(message);
    }
    // ---- commands ----
    #command(kind, message, timeoutMs, expect = []) {
        return this.#enqueue(kind, message, timeoutMs, expect)[0];
    }
    /** A `ping` of the client's own, whose `pong` handlers do not see. */
    #internalPing(timeoutMs) {
        const ping = { type: 'ping' };
        const [promise, pending] = this.#enqueue('request', ping, timeoutMs, ['pong']);
        if (pending)
            pending.internal = true;
        return promise;
    }
    /** Makes a command's {@link Pending} (written at once when the socket is open) and its promise. */
    #enqueue(kind, message, timeoutMs, expect = []) {
        const refused = this.#refusal(kind);
        if (refused)
            return [Promise.reject(refused)];
        const id = `${this.role[0]}${++this.#requestCounter}-${Math.floor(this.#options.random() * 1e9).toString(36)}`;
        let pending;
        const promise = new Promise((resolve, reject) => {
            pending = {
                id,
                kind,
                frame: { ...message, request_id: id },
                expect,
                resolve: resolve,
                reject,
                timer: undefined,
                deadline: kind === 'receipt' ? Infinity : Date.now() + timeoutMs,
                written: false,
                seq: 0,
                notBefore: 0,
                tries: 0,
                internal: false,
            };
        });
        if (kind !== 'receipt') {
            pending.timer = setTimeout(() => {
                if (this.#pending.get(id) !== pending)
                    return;
                this.#pending.delete(id);
                pending.reject(new TetherError('timeout', `No answer to ${message.type} within ${timeoutMs} ms`, undefined, id));
            }, Math.min(timeoutMs, MAX_TIMER_MS));
        }
        this.#pending.set(id, pending);
        this.#write(pending);
        return [promise, pending];
    }
    /** Why a command of `kind` cannot be taken now, if it cannot. */
    #refusal(kind) {
        const state = this.#info.state;
        if (state === 'idle')
            return new TetherError('not_connected', 'connect() has not been called');
        if (state === 'closed')
            return new TetherError('closed', 'The client is closed');
        if (kind === 'fire' && !this.#isOpen()) {
            return new TetherError('not_connected', 'The socket is not open: nothing was sent');
        }
        return undefined;
    }
    #fire(message) {
        return quiet(this.#command('fire', message, this.#options.requestTimeoutMs));
    }
    #receipt(message) {
        const key = `${message.type}:${message.message_id}`;
        const outstanding = this.#receipts.get(key);
        if (outstanding)
            return outstanding.promise;
        const [promise, pending] = this.#enqueue('receipt', message, Infinity);
        const quieted = quiet(promise);
        if (pending)
            this.#receipts.set(key, { pending, promise: quieted });
        return quieted;
    }
    #isOpen() {
        return this.#ws?.readyState === OPEN && this.#info.state === 'open';
    }
    #write(pending) {
        if (pending.written || !this.#isOpen() || pending.notBefore > Date.now())
            return;
        pending.written = true;
        pending.seq = ++this.#writeCounter;
        this.#written.set(pending.id, pending.seq);
        if (pending.kind === 'request')
            this.#lastAnswering = pending.seq;
        this.#ws.send(JSON.stringify(pending.frame));
        if (pending.kind !== 'request')
            this.#scheduleBarrier();
    }
    /** Writes what waits (in the order the commands were made) and arms the timer of the next retry. */
    #flush() {
        clearTimeout(this.#flushTimer);
        this.#flushTimer = undefined;
        if (!this.#isOpen())
            return;
        let next = Infinity;
        const now = Date.now();
        for (const pending of [...this.#pending.values()]) {
            if (pending.notBefore > now)
                next = Math.min(next, pending.notBefore);
            else
                this.#write(pending);
        }
        if (next !== Infinity)
            this.#flushTimer = setTimeout(() => this.#flush(), Math.min(next - now, MAX_TIMER_MS));
    }
    /** Sends a `ping` whose answer confirms the commands without one written before it. */
    #scheduleBarrier() {
        if (this.#barrierQueued)
            return;
        this.#barrierQueued = true;
        setTimeout(() => {
            this.#barrierQueued = false;
            if (this.#barrierInFlight || !this.#isOpen())
                return;
            const unconfirmed = [...this.#pending.values()].some((p) => p.written && p.kind !== 'request' && p.seq > this.#lastAnswering);
            if (!unconfirmed && this.#unmatched.length === 0)
                return;
            this.#barrierInFlight = true;
            this.#internalPing(this.#options.requestTimeoutMs)
                .catch(() => { })
                .finally(() => {
                this.#barrierInFlight = false;
                this.#scheduleBarrier();
            });
        }, 0);
    }
    // ---- what arrives ----
    #receive(data) {
        if (typeof data !== 'string')
            return;
        let parsed;
        try {
            parsed = JSON.parse(data);
        }
        catch {
            return;
        }
        if (typeof parsed !== 'object' || parsed === null || typeof parsed.type !== 'string')
            return;
        const message = parsed;
        const requestId = message.request_id;
        const seq = requestId === undefined ? undefined : this.#written.get(requestId);
        if (requestId !== undefined && seq !== undefined) {
            this.#written.delete(requestId);
            this.#settleBefore(seq);
            const pending = this.#pending.get(requestId);
            if (pending?.written && pending.seq === seq) {
                this.#answered.set(message, pending.frame);
                this.#answer(pending, message);
                if (pending.internal && message.type === 'pong')
                    return;
            }
        }
        else if (requestId === undefined && message.type === 'error') {
            // Refused before its head was read (rate limit): which frame it was is known only
            // from the answers around it (see #settleBefore). A ping after it tells.
            this.#unmatched.push(errorOf(message, undefined));
            this.#scheduleBarrier();
        }
        if (!this.#isNew(message))
            return;
        for (const handler of this.#handlers.get(message.type) ?? [])
            safely(handler, message);
        for (const handler of this.#anyHandlers)
            safely(handler, message);
    }
    /**
     * The answer to the frame written `seq`-th arrived: every frame written before it has had
     * its answer, since the edge answers a socket's commands in order. Commands without an
     * answer on success are confirmed; commands with one that got none could only have been
     * answered by an error without `request_id`, and take those in order; errors left over
     * belong to commands without an answer, which of them cannot be told, so all of them count
     * as refused (receipts are then sent again).
     */
    #settleBefore(seq) {
        const earlier = [...this.#pending.values()].filter((p) => p.written && p.seq < seq).sort((a, b) => a.seq - b.seq);
        const errors = this.#unmatched.splice(0);
        const requests = earlier.filter((p) => p.kind === 'request');
        requests.forEach((pending, i) => {
            const error = errors[i];
            if (error)
                this.#fail(pending, withRequestId(error, pending.id));
        });
        const leftover = errors[requests.length];
        for (const pending of earlier) {
            if (pending.kind === 'request')
                continue;
            if (leftover)
                this.#fail(pending, withRequestId(leftover, pending.id));
            else
                this.#settle(pending, undefined);
        }
    }
    #answer(pending, message) {
        if (message.type === 'error') {
            this.#fail(pending, errorOf(message, pending.id));
        }
        else if (pending.kind !== 'request' || pending.expect.includes(message.type)) {
            this.#settle(pending, pending.kind === 'request' ? message : undefined);
        }
        else {
            this.#settle(pending, undefined, new TetherError('internal', `Unexpected answer ${message.type} to ${pending.frame.type}`, undefined, pending.id));
        }
    }
    /**
     * A command was refused. `unavailable` and `rate_limited` are retried for idempotent
     * commands and receipts, no sooner than the server's `retry_after_ms` (else after a
     * jittered backoff), while the command's timeout allows; anything else rejects.
     */
    #fail(pending, error) {
        const retryable = (error.code === 'unavailable' || error.code === 'rate_limited') &&
            (pending.kind === 'receipt' || (pending.kind === 'request' && RESENDABLE.has(pending.frame.type)));
        if (retryable) {
            const { backoffBaseMs, backoffMaxMs, random } = this.#options;
            const delay = Math.max(error.retryAfterMs ?? 0, backoffDelay(pending.tries, backoffBaseMs, backoffMaxMs, random));
            if (Date.now() + delay < pending.deadline) {
                pending.tries += 1;
                pending.written = false;
                pending.notBefore = Date.now() + delay;
                this.#written.delete(pending.id);
                if (this.#isOpen())
                    this.#flush(); // arms the timer of the earliest retry
                return;
            }
        }
        this.#settle(pending, undefined, error);
    }
    #settle(pending, answer, error) {
        if (this.#pending.get(pending.id) !== pending)
            return;
        this.#pending.delete(pending.id);
        this.#written.delete(pending.id);
        clearTimeout(pending.timer);
        if (pending.kind === 'receipt') {
            const frame = pending.frame;
            const key = `${frame.type}:${frame.message_id}`;
            if (this.#receipts.get(key)?.pending === pending)
                this.#receipts.delete(key);
        }
        if (error)
            pending.reject(error);
        else
            pending.resolve(answer);
    }
    /** De-duplication across reconnects; acknowledges every copy of a chat message. */
    #isNew(message) {
        if (message.type === 'chat_message' && message.message_id) {
            const id = message.message_id;
            const fresh = this.#seen.add(`message:${id}`);
            // Every copy is acknowledged: the server re-sends while the status is `sent`, so a
            // copy means our earlier receipts may have been lost; a read one goes again too.
            if (this.#options.autoDelivered)
                void this.markDelivered(id);
            if (!fresh && this.#readIds.has(id))
                void this.#receipt({ type: 'message_read', message_id: id });
            return fresh;
        }
        if (message.type === 'work_assigned') {
            return this.#seen.add(`work:${message.work_id}`);
        }
        return true;
    }
    #subscribe(type, handler) {
        let set = this.#handlers.get(type);
        if (!set)
            this.#handlers.set(type, (set = new Set()));
        const handlers = set;
        handlers.add(handler);
        return () => handlers.delete(handler);
    }
    #waitFor(type, options) {
        if (this.#info.state === 'closed')
            return Promise.reject(new TetherError('closed', 'The client is closed'));
        return new Promise((resolve, reject) => {
            let timer;
            const done = () => {
                off();
                clearTimeout(timer);
                this.#waiters.delete(closed);
            };
            const closed = (error) => {
                done();
                reject(error);
            };
            const off = this.#subscribe(type, (message) => {
                if (options.filter && !options.filter(message))
                    return;
                done();
                resolve(message);
            });
            this.#waiters.add(closed);
            if (options.timeoutMs !== undefined) {
                const ms = options.timeoutMs;
                timer = setTimeout(() => closed(new TetherError('timeout', `No ${type} within ${ms} ms`)), Math.min(ms, MAX_TIMER_MS));
            }
        });
    }
    // ---- the socket ----
    /** Opens a socket with `fresh` or a token asked from the provider for `reason`. */
    async #open(reason, fresh) {
        const generation = ++this.#generation;
        let token;
        try {
            token = fresh ?? (await obtainToken(this.#options.token, reason));
        }
        catch (error) {
            if (generation !== this.#generation || this.#info.state === 'closed')
                return;
            this.#tokenFailed(error);
            return;
        }
        if (generation !== this.#generation || this.#info.state === 'closed')
            return;
        this.#token = token;
        const Factory = this.#options.WebSocket ?? globalThis.WebSocket;
        let ws;
        try {
            if (!Factory)
                throw new Error('no WebSocket implementation: pass options.WebSocket');
            ws = new Factory(socketUrl(this.#options.url, this.role, token));
        }
        catch (error) {
            // A missing implementation will not fix itself by retrying.
            this.#stop({ code: 0, reason: messageOf(error) }, new TetherConnectionError('closed', messageOf(error), undefined, undefined, { cause: error }));
            return;
        }
        const attempt = { token, opened: false };
        this.#ws = ws;
        this.#attempt = attempt;
        ws.onopen = () => {
            if (this.#ws !== ws)
                return;
            attempt.opened = true;
            this.#openedAt = Date.now();
            this.#setState({ state: 'open', attempt: this.#info.attempt });
            const first = this.#firstOpen;
            this.#firstOpen = undefined;
            clearTimeout(first?.timer);
            first?.resolve();
            this.#startTimers();
            this.#flush();
        };
        ws.onmessage = (event) => {
            if (this.#ws === ws)
                this.#receive(event.data);
        };
        ws.onclose = (event) => {
            if (this.#ws !== ws)
                return;
            if (attempt.opened)
                this.#lost(event.code, event.reason);
            else
                void this.#refused(attempt, { code: event.code, reason: event.reason });
        };
        ws.onerror = (event) => {
            // Always followed by onclose, which decides what happens next; `ws` says here why
            // an upgrade failed ("Unexpected server response: 401", "connect ECONNREFUSED ...").
            if (this.#ws !== ws || attempt.opened)
                return;
            const detail = errorText(event);
            if (detail)
                attempt.detail = detail;
            const status = /Unexpected server response: (\d{3})/.exec(detail ?? '')?.[1];
            if (status)
                attempt.status = Number(status);
        };
    }
    /** The token provider gave nothing (stop: nothing to connect with) or threw (retry). */
    #tokenFailed(error) {
        const cause = error instanceof TetherError ? error.cause : error;
        const connectionError = new TetherConnectionError('no_token', messageOf(error), undefined, undefined, { cause });
        if (isEmptyToken(error))
            this.#stop({ code: 0, reason: 'no token' }, connectionError);
        else
            this.#scheduleReconnect({ code: 0, reason: 'the token provider failed' }, connectionError);
    }
    /** An attempt closed before it opened: find out why, then retry, renew the token, or stop. */
    async #refused(attempt, close) {
        this.#detach();
        const generation = this.#generation;
        const status = attempt.status ?? (await this.#probe(attempt.token));
        if (generation !== this.#generation || this.#info.state === 'closed')
            return;
        const where = httpBase(this.#options.url).host;
        let error;
        if (status === undefined) {
            const detail = attempt.detail ?? close.reason;
            error = new TetherConnectionError('network', `No WebSocket from ${where}${detail ? `: ${detail}` : ''}`, undefined, close.code);
        }
        else {
            error = new TetherConnectionError(codeOfStatus(status), `The edge at ${where} refused the socket with HTTP ${status}`, status, close.code);
        }
        const expiry = tokenExpiryMs(attempt.token);
        // Without a status (no probe possible), a token past its `exp` is the likely cause.
        if (status === 401 || (status === undefined && expiry !== undefined && expiry <= Date.now())) {
            void this.#renew(close, error, false);
        }
        else if (status !== undefined && status >= 400 && status < 500 && ![408, 425, 429].includes(status)) {
            this.#stop(close, error); // a wrong path, origin or request: retrying cannot help
        }
        else {
            this.#scheduleReconnect(close, error);
        }
    }
    /**
     * Why a socket could not be opened, where the WebSocket did not say: `GET` of the socket
     * path with the token as a header. 401/403/404/429/5xx are what the upgrade got too; 400
     * ("expected an upgrade") means the token and origin were fine. Undefined when unknown.
     */
    async #probe(token) {
        const fetchImpl = this.#options.fetch ?? globalThis.fetch;
        if (!fetchImpl)
            return undefined;
        const abort = typeof AbortController === 'function' ? new AbortController() : undefined;
        const timer = setTimeout(() => abort?.abort(), PROBE_TIMEOUT_MS);
        try {
            const init = { method: 'GET', headers: { authorization: `Bearer ${token}` } };
            if (abort)
                init.signal = abort.signal;
            const response = await fetchImpl(httpUrl(this.#options.url, `/ws/work/${this.role}/`), init);
            await response.text().catch(() => '');
            return response.status >= 400 && response.status !== 400 ? response.status : undefined;
        }
        catch {
            return undefined;
        }
        finally {
            clearTimeout(timer);
        }
    }
    /**
     * The server refused the token (4401 on an open socket, or 401 on the upgrade): ask the
     * provider for a newer one; the same one again stops the client. After a 4401 the new
     * token connects at once, after a 401 with the backoff (a provider that keeps minting
     * refused tokens must not spin).
     */
    async #renew(close, error, immediately) {
        this.#setState({ state: 'connecting', attempt: this.#info.attempt, lastClose: close, ...(error ? { error } : {}) });
        const generation = ++this.#generation;
        let token;
        try {
            token = await obtainToken(this.#options.token, 'unauthorized');
        }
        catch (failure) {
            if (generation === this.#generation && this.#info.state !== 'closed')
                this.#tokenFailed(failure);
            return;
        }
        if (generation !== this.#generation || this.#info.state === 'closed')
            return;
        if (token === this.#token) {
            const refused = error ?? new TetherConnectionError('unauthorized', 'The server refused the token (it expired) and the token provider has no newer one', undefined, close.code);
            this.#stop(close, refused);
            return;
        }
        if (immediately)
            void this.#open('unauthorized', token);
        else
            this.#scheduleReconnect(close, error, token);
    }
    /** An open socket closed. */
    #lost(code, reason) {
        this.#detach();
        if (this.#info.state === 'closed')
            return;
        const close = { code, reason };
        if (NO_RECONNECT.has(code)) {
            this.#stop(close, new TetherConnectionError('closed', `The server closed the socket with ${code}${reason ? ` (${reason})` : ''}`, undefined, code));
            return;
        }
        if (Date.now() - this.#openedAt >= this.#options.stableAfterMs) {
            this.#info = { ...this.#info, attempt: 0 };
        }
        if (code === TOKEN_EXPIRED) {
            void this.#renew(close, undefined, true);
            return;
        }
        this.#scheduleReconnect(close);
    }
    #startTimers() {
        this.#stopTimers();
        this.#pingTimer = setInterval(() => {
            this.#internalPing(this.#options.pingTimeoutMs).catch((error) => {
                if (error.code !== 'timeout' || !this.#ws)
                    return;
                // A dead connection can take minutes to report itself: drop it now.
                const ws = this.#ws;
                this.#lost(PING_TIMEOUT, 'no pong in time');
                ws.close(PING_TIMEOUT, 'no pong in time');
            });
        }, this.#options.pingIntervalMs);
        const expiry = this.#token === undefined ? undefined : tokenExpiryMs(this.#token);
        if (expiry !== undefined) {
            const left = expiry - Date.now();
            // Refresh ahead of `exp`, or half-way for a token shorter-lived than the margin.
            const delay = Math.max(left - this.#options.refreshBeforeExpiryS * 1000, left / 2, 0);
            this.#refreshTimer = setTimeout(() => void this.#refresh(), Math.min(delay, MAX_TIMER_MS));
        }
    }
    #stopTimers() {
        clearInterval(this.#pingTimer);
        clearTimeout(this.#refreshTimer);
        clearTimeout(this.#flushTimer);
        this.#pingTimer = undefined;
        this.#refreshTimer = undefined;
        this.#flushTimer = undefined;
    }
    /** A socket cannot change its token: with a new one, reconnect at once. */
    async #refresh() {
        let token;
        try {
            token = await obtainToken(this.#options.token, 'refresh');
        }
        catch {
            return; // keep the current socket; a 4401 will ask again
        }
        if (token === this.#token || this.#info.state !== 'open')
            return;
        const old = this.#ws;
        this.#detach();
        old?.close(1000, 'token refresh');
        this.#setState({ state: 'connecting', attempt: 0 });
        void this.#open('refresh', token);
    }
    /**
     * Forgets the current socket (its late events are ignored). Of what it had in flight,
     * idempotent commands and receipts wait for the next socket; the others fail with
     * `disconnected`.
     */
    #detach() {
        this.#stopTimers();
        this.#ws = null;
        this.#attempt = undefined;
        this.#written.clear();
        this.#unmatched = [];
        for (const pending of [...this.#pending.values()]) {
            if (!pending.written)
                continue;
            if (pending.kind === 'receipt' || (pending.kind === 'request' && RESENDABLE.has(pending.frame.type))) {
                pending.written = false; // sent again on the next open
            }
            else {
                this.#settle(pending, undefined, new TetherError('disconnected', `Connection lost before the answer to ${pending.frame.type}`, undefined, pending.id));
            }
        }
    }
    #scheduleReconnect(close, error, fresh) {
        if (this.#info.state === 'closed')
            return;
        const attempt = this.#info.attempt;
        const retryInMs = backoffDelay(attempt, this.#options.backoffBaseMs, this.#options.backoffMaxMs, this.#options.random);
        this.#setState({ state: 'reconnecting', attempt: attempt + 1, lastClose: close, retryInMs, ...(error ? { error } : {}) });
        clearTimeout(this.#reconnectTimer);
        this.#reconnectTimer = setTimeout(() => {
            if (this.#info.state !== 'reconnecting')
                return;
            this.#setState({ ...this.#info, state: 'connecting', retryInMs: undefined });
            void this.#open('connect', fresh);
        }, retryInMs);
    }
    /** Closes for good: everything waiting fails with `closed`, `connect()` with `error`. */
    #stop(close, error) {
        const ws = this.#ws;
        this.#generation += 1;
        clearTimeout(this.#reconnectTimer);
        this.#detach();
        ws?.close(1000, 'client closed');
        const closedError = (id) => new TetherError('closed', error ? `The client is closed: ${error.message}` : 'The client is closed', undefined, id, { cause: error });
        for (const pending of [...this.#pending.values()])
            this.#settle(pending, undefined, closedError(pending.id));
        for (const waiter of [...this.#waiters])
            waiter(closedError());
        this.#setState({ state: 'closed', attempt: this.#info.attempt, lastClose: close, ...(error ? { error } : {}) });
        const first = this.#firstOpen;
        this.#firstOpen = undefined;
        if (first) {
            clearTimeout(first.timer);
            first.reject(error ?? new TetherConnectionError('closed', `Closed before connecting: ${close.reason}`, undefined, close.code));
        }
    }
    #setState(info) {
        if (info.retryInMs === undefined)
            delete info.retryInMs;
        this.#info = info;
        for (const listener of this.#stateListeners)
            safely(listener, info);
    }
}
function errorOf(message, requestId) {
    const retryAfterMs = retryAfterOf('retry_after_ms' in message ? message.retry_after_ms : undefined);
    return new TetherError(message.code, message.error, undefined, requestId, retryAfterMs === undefined ? {} : { retryAfterMs });
}
function withRequestId(error, requestId) {
    const retryAfterMs = error.retryAfterMs;
    return new TetherError(error.code, error.message, error.status, requestId, retryAfterMs === undefined ? {} : { retryAfterMs });
}
/** The text of a WebSocket `error` event, where the implementation gives one (`ws` does). */
function errorText(event) {
    if (typeof event !== 'object' || event === null)
        return undefined;
    const { message, error } = event;
    if (typeof message === 'string' && message)
        return message;
    if (error instanceof Error)
        return error.message;
    return undefined;
}
function safely(handler, value) {
    try {
        handler(value);
    }
    catch (error) {
        // One failing handler must not stop the others or the client's own bookkeeping.
        console.error('tether client: a handler threw', error);
    }
}
function randomId() {
    return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
/** The seeker's socket (`/ws/work/seeker/`). */
export class SeekerClient extends TetherClient {
    constructor(options) {
        super('seeker', options);
    }
    /** Picks the mediums (0 to 3) the provider may use; activates a waiting session. */
    selectMediums(sessionId, mediums) {
        const message = { type: 'medium_selection', session_id: sessionId, mediums };
        return this.request(message);
    }
    /**
     * Ends the session as completed, with an optional rating (`{rating_stars: 1-5,
     * rating_description?}`, the same shape `TetherApi.rate` takes). The server then closes
     * both parties' sockets with 1000; the client reconnects by itself (call `close()` when
     * the app is done).
     */
    finish(sessionId, rating) {
        const message = { type: 'finish_service', session_id: sessionId };
        if (rating) {
            message.rating_stars = rating.rating_stars;
            if (rating.rating_description !== undefined)
                message.rating_description = rating.rating_description;
        }
        return this.request(message);
    }
}
/** The provider's socket (`/ws/work/provider/`). */
export class ProviderClient extends TetherClient {
    constructor(options) {
        super('provider', options);
    }
    /** Accepts or rejects a pending work order (`work_assigned`). */
    respondToWork(workId, accepted) {
        const message = { type: 'work_response', work_id: workId, accepted };
        return this.request(message);
    }
    /** Shares the provider's mediums with the seeker. */
    shareMediums(sessionId, mediums) {
        const message = { type: 'medium_share', session_id: sessionId, mediums };
        return this.request(message);
    }
    /**
     * Ends the session as completed (the provider cannot rate). The server then closes both
     * parties' sockets with 1000; the client reconnects by itself.
     */
    finish(sessionId) {
        const message = { type: 'finish_service', session_id: sessionId };
        return this.request(message);
    }
}
