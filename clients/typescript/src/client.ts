import { TetherError } from './errors.js';
import type {
  ClientCancelConnection,
  ClientChatMessage,
  ClientFinishService,
  ClientLocationUpdate,
  ClientMediumSelection,
  ClientMediumShare,
  ClientStartChat,
  Mediums,
  ProviderClientMessage,
  ProviderServerMessage,
  Role,
  SeekerClientMessage,
  SeekerServerMessage,
  ServerChatReady,
  ServerConnectionCancelled,
  ServerMediumsSelected,
  ServerMediumsShared,
  ServerMessageSent,
  ServerPong,
  ServerServiceFinished,
  ServerWorkAccepted,
  ServerWorkRejected,
} from './generated/protocol.js';

/**
 * Why the token provider is asked: the first connect (and reconnects after a network
 * failure), a refresh shortly before the current token's `exp`, or after the server
 * closed the socket with 4401 (token expired). Return the same token only if there is no
 * newer one: after a 4401 the client then stops instead of retrying a dead token.
 */
export type TokenReason = 'connect' | 'refresh' | 'unauthorized';

/** Supplies the JWT; called before connecting and again before the token expires. */
export type TokenProvider = (reason: TokenReason) => string | Promise<string>;

/**
 * Where the socket is: `idle` before {@link TetherClient.connect}; `connecting`;
 * `open`; `reconnecting` while waiting out the backoff; `closed` for good (after
 * {@link TetherClient.close}, a 1008 policy close, or a 4401 with no newer token).
 */
export type SocketState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** The observable connection state. */
export interface StateInfo {
  state: SocketState;
  /** Failed attempts since the last stable connection. */
  attempt: number;
  /** The close that led here, when one did. */
  lastClose?: { code: number; reason: string };
  /** While `reconnecting`: the delay chosen before the next attempt. */
  retryInMs?: number;
}

/** What the client needs of a WebSocket: the browser / React Native / Node 22 API. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** A WebSocket constructor (`globalThis.WebSocket` by default). */
export type WebSocketFactory = new (url: string) => WebSocketLike;

/** Settings of a client; only `url` and `token` are required. */
export interface ClientOptions {
  /** The edge's base URL, `http(s)://host:port`; the socket URL is derived from it. */
  url: string;
  /** Supplies the JWT. */
  token: TokenProvider;
  /** WebSocket implementation; default `globalThis.WebSocket`. */
  WebSocket?: WebSocketFactory;
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

/** The HTTP base URL turned into the socket URL of a role, token in the query. */
export function socketUrl(base: string, role: Role, token: string): string {
  const url = new URL(`/ws/work/${role}/`, base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  // Browsers cannot set headers on a WebSocket: the contract accepts `?token=`, and the
  // edge redacts it from its logs.
  url.searchParams.set('token', token);
  return url.toString();
}

/** `exp` of a JWT in milliseconds, or undefined when it cannot be read (not verified). */
export function tokenExpiryMs(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '=')));
    return typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** The reconnect delay: "full jitter", uniform in [0, min(max, base * 2^attempt)). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}

/** Remembers the last `capacity` keys (insertion order), for de-duplication. */
class RecentKeys {
  readonly #keys = new Set<string>();
  constructor(readonly capacity: number) {}

  /** True when `key` is new (and remembers it). */
  add(key: string): boolean {
    if (this.#keys.has(key)) return false;
    this.#keys.add(key);
    if (this.#keys.size > this.capacity) {
      const oldest = this.#keys.values().next().value;
      if (oldest !== undefined) this.#keys.delete(oldest);
    }
    return true;
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

/**
 * Commands whose answer is the first server message echoing the `request_id`, with the
 * answer types that mean success. Commands not listed (`location_update`,
 * `typing_indicator`, receipts) get no answer on success and are fire-and-forget.
 */
const ANSWERS: Record<string, readonly string[]> = {
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
 * Commands that may be sent again when the socket drops before their answer: idempotent
 * or latest-wins (a `chat_message` only with its `client_message_id`, which the SDK
 * always sets). The others (`work_response`, `cancel_connection`, `finish_service`)
 * would answer `conflict` if the first attempt took effect, so they fail with
 * `disconnected` and the app checks the session snapshot.
 */
const RESENDABLE = new Set(['ping', 'medium_selection', 'medium_share', 'start_chat', 'chat_message']);

interface Pending {
  frame: { type: string; request_id: string };
  expect: readonly string[];
  resolve: (answer: never) => void;
  reject: (error: TetherError) => void;
  timer: ReturnType<typeof setTimeout>;
  written: boolean;
}

type Handler<M> = (message: M) => void;

/** The promise {@link TetherClient.connect} returns until the first open. */
interface FirstOpen {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: TetherError) => void;
}
type OfType<M, T> = Extract<M, { type: T }>;

/**
 * One role's socket: connects, reconnects, pings, correlates answers, acknowledges and
 * de-duplicates. Use {@link SeekerClient} or {@link ProviderClient}.
 */
export class TetherClient<Send extends { type: string }, Receive extends { type: string; request_id?: string }> {
  readonly #options: Required<Omit<ClientOptions, 'WebSocket'>> & { WebSocket?: WebSocketFactory };
  #ws: WebSocketLike | null = null;
  #token: string | undefined;
  #info: StateInfo = { state: 'idle', attempt: 0 };
  #openedAt = 0;
  #requestCounter = 0;
  readonly #pending = new Map<string, Pending>();
  readonly #handlers = new Map<string, Set<Handler<never>>>();
  readonly #anyHandlers = new Set<Handler<Receive>>();
  readonly #stateListeners = new Set<(info: StateInfo) => void>();
  readonly #seen: RecentKeys;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #firstOpen: FirstOpen | undefined;

  constructor(
    /** Which endpoint this client speaks to. */
    readonly role: Role,
    options: ClientOptions,
  ) {
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
      ...options,
    };
    this.#seen = new RecentKeys(this.#options.dedupeWindow);
  }

  /** The current connection state. */
  get state(): StateInfo {
    return this.#info;
  }

  /**
   * Starts connecting (and keeps reconnecting). Resolves once the first connection is
   * open; rejects if the client closes for good before that.
   */
  connect(): Promise<void> {
    if (this.#info.state === 'open') return Promise.resolve();
    if (this.#firstOpen) return this.#firstOpen.promise;
    let settle!: Omit<FirstOpen, 'promise'>;
    const opened = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    this.#firstOpen = { promise: opened, ...settle };
    if (this.#info.state === 'idle' || this.#info.state === 'closed') {
      this.#setState({ state: 'connecting', attempt: 0 });
      void this.#open('connect');
    }
    return opened;
  }

  /** Closes the socket for good; pending commands fail with `closed`. */
  close(): void {
    const ws = this.#ws;
    this.#stop({ code: 1000, reason: 'closed by the client' });
    ws?.close(1000, 'client closed');
  }

  /** Calls `listener` on every state change; returns a function that unsubscribes. */
  onState(listener: (info: StateInfo) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /**
   * Calls `handler` for each server message of `type` (duplicates of a `chat_message` or
   * `work_assigned` already seen are dropped); returns a function that unsubscribes.
   */
  on<T extends Receive['type']>(type: T, handler: Handler<OfType<Receive, T>>): () => void {
    let set = this.#handlers.get(type);
    if (!set) this.#handlers.set(type, (set = new Set()));
    set.add(handler as Handler<never>);
    return () => set.delete(handler as Handler<never>);
  }

  /** Calls `handler` for every server message (after de-duplication). */
  onAny(handler: Handler<Receive>): () => void {
    this.#anyHandlers.add(handler);
    return () => this.#anyHandlers.delete(handler);
  }

  /**
   * Sends a command without waiting for an answer; false when the socket is not open
   * (the message is dropped: use it for latest-wins messages such as locations).
   */
  send(message: Send): boolean {
    if (this.#ws?.readyState !== OPEN || this.#info.state !== 'open') return false;
    this.#ws.send(JSON.stringify(message));
    return true;
  }

  /**
   * Sends a command that has an answer and resolves with it (rejects with the server's
   * `error`, or `timeout`). While not connected the command waits for the connection
   * within the same timeout.
   */
  request<A = Receive>(message: Send, timeoutMs = this.#options.requestTimeoutMs): Promise<A> {
    const expect = ANSWERS[message.type];
    if (!expect) throw new TypeError(`${message.type} has no answer: use send()`);
    if (this.#info.state === 'closed' || this.#info.state === 'idle') {
      return Promise.reject(new TetherError('closed', 'The client is not connected'));
    }
    const requestId = `${this.role[0]}${++this.#requestCounter}-${Math.floor(this.#options.random() * 1e9).toString(36)}`;
    const frame = { ...message, request_id: requestId };
    return new Promise<A>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        reject(new TetherError('timeout', `No answer to ${message.type} within ${timeoutMs} ms`, undefined, requestId));
      }, timeoutMs);
      const pending: Pending = { frame, expect, resolve: resolve as (a: never) => void, reject, timer, written: false };
      this.#pending.set(requestId, pending);
      this.#write(pending);
    });
  }

  // ---- commands both roles have ----

  /** Opens the session's chat; both parties get `chat_ready`. */
  startChat(sessionId: string): Promise<ServerChatReady> {
    const message: ClientStartChat = { type: 'start_chat', session_id: sessionId };
    return this.request(message as unknown as Send);
  }

  /**
   * Sends a chat message; resolves with `message_sent` once it is stored. Safe to retry:
   * the SDK sets a `client_message_id` (pass your own to retry across app restarts).
   */
  sendChat(sessionId: string, text: string, clientMessageId: string = randomId()): Promise<ServerMessageSent> {
    const message: ClientChatMessage = {
      type: 'chat_message',
      session_id: sessionId,
      message: text,
      client_message_id: clientMessageId,
    };
    return this.request(message as unknown as Send);
  }

  /** Marks a received message read (the sender gets `message_status_update`). */
  markRead(messageId: string): boolean {
    return this.send({ type: 'message_read', message_id: messageId } as unknown as Send);
  }

  /** Tells the other party whether this one is typing. */
  typing(sessionId: string, isTyping: boolean): boolean {
    return this.send({ type: 'typing_indicator', session_id: sessionId, is_typing: isTyping } as unknown as Send);
  }

  /** Reports this party's position (latest wins; dropped while disconnected). */
  updateLocation(sessionId: string, latitude: number, longitude: number): boolean {
    const message: ClientLocationUpdate = { type: 'location_update', session_id: sessionId, latitude, longitude };
    return this.send(message as unknown as Send);
  }

  /** Cancels the session; the server then closes both parties' sockets (the client reconnects). */
  cancel(sessionId: string): Promise<ServerConnectionCancelled> {
    const message: ClientCancelConnection = { type: 'cancel_connection', session_id: sessionId };
    return this.request(message as unknown as Send);
  }

  /** Round trip to the server (the client pings by itself; this is for tests and probes). */
  ping(): Promise<ServerPong> {
    return this.request({ type: 'ping' } as unknown as Send);
  }

  // ---- internals ----

  /** Opens a socket with `fresh` or a token asked from the provider for `reason`. */
  async #open(reason: TokenReason, fresh?: string): Promise<void> {
    let token: string;
    try {
      token = fresh ?? (await this.#options.token(reason));
    } catch {
      this.#scheduleReconnect({ code: 0, reason: 'the token provider failed' });
      return;
    }
    if (this.#info.state === 'closed') return;
    if (reason === 'unauthorized' && token === this.#token) {
      this.#stop({ code: TOKEN_EXPIRED, reason: 'token expired and no newer token' });
      return;
    }
    this.#token = token;
    const Factory = this.#options.WebSocket ?? (globalThis as { WebSocket?: WebSocketFactory }).WebSocket;
    let ws: WebSocketLike;
    try {
      if (!Factory) throw new Error('no WebSocket implementation: pass options.WebSocket');
      ws = new Factory(socketUrl(this.#options.url, this.role, token));
    } catch (error) {
      // A bad URL or a missing implementation will not fix itself by retrying.
      this.#stop({ code: 0, reason: String((error as Error)?.message ?? error) });
      return;
    }
    this.#ws = ws;
    ws.onopen = () => {
      if (this.#ws !== ws) return;
      this.#openedAt = Date.now();
      this.#setState({ state: 'open', attempt: this.#info.attempt });
      this.#firstOpen?.resolve();
      this.#firstOpen = undefined;
      this.#startTimers();
      for (const pending of this.#pending.values()) this.#write(pending);
    };
    ws.onmessage = (event) => {
      if (this.#ws === ws) this.#receive(event.data);
    };
    ws.onclose = (event) => {
      if (this.#ws === ws) this.#closed(event.code, event.reason);
    };
    ws.onerror = () => {
      // Always followed by onclose, which decides what happens next.
    };
  }

  #write(pending: Pending): void {
    if (pending.written || this.#ws?.readyState !== OPEN || this.#info.state !== 'open') return;
    pending.written = true;
    this.#ws.send(JSON.stringify(pending.frame));
  }

  #receive(data: unknown): void {
    if (typeof data !== 'string') return;
    let message: Receive;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    const requestId = message.request_id;
    const pending = requestId === undefined ? undefined : this.#pending.get(requestId);
    if (pending) {
      this.#pending.delete(requestId!);
      clearTimeout(pending.timer);
      if (message.type === 'error') {
        const error = message as unknown as { code: TetherError['code']; error: string };
        pending.reject(new TetherError(error.code, error.error, undefined, requestId));
      } else if (!pending.expect.includes(message.type)) {
        pending.reject(new TetherError('internal', `Unexpected answer ${message.type} to ${pending.frame.type}`, undefined, requestId));
      } else {
        pending.resolve(message as never);
      }
    }
    if (!this.#isNew(message)) return;
    for (const handler of this.#handlers.get(message.type) ?? []) safely(handler, message as never);
    for (const handler of this.#anyHandlers) safely(handler, message);
  }

  /** De-duplication across reconnects; acknowledges every copy of a chat message. */
  #isNew(message: Receive): boolean {
    const m = message as unknown as { type: string; message_id?: string; work_id?: number };
    if (m.type === 'chat_message' && m.message_id) {
      // Every copy is acknowledged: the server re-sends while the status is `sent`, so a
      // copy means our earlier acknowledgement may have been lost.
      if (this.#options.autoDelivered) {
        this.send({ type: 'message_delivered', message_id: m.message_id } as unknown as Send);
      }
      return this.#seen.add(`message:${m.message_id}`);
    }
    if (m.type === 'work_assigned' && m.work_id !== undefined) {
      return this.#seen.add(`work:${m.work_id}`);
    }
    return true;
  }

  #startTimers(): void {
    this.#stopTimers();
    this.#pingTimer = setInterval(() => {
      this.request({ type: 'ping' } as unknown as Send, this.#options.pingTimeoutMs).catch((error: TetherError) => {
        if (error.code !== 'timeout') return;
        // A dead connection can take minutes to report itself: drop it now.
        const ws = this.#ws;
        this.#closed(PING_TIMEOUT, 'no pong in time');
        ws?.close(PING_TIMEOUT, 'no pong in time');
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

  #stopTimers(): void {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#refreshTimer);
    this.#pingTimer = undefined;
    this.#refreshTimer = undefined;
  }

  /** A socket cannot change its token: with a new one, reconnect at once. */
  async #refresh(): Promise<void> {
    let token: string;
    try {
      token = await this.#options.token('refresh');
    } catch {
      return; // keep the current socket; a 4401 will ask again
    }
    if (token === this.#token || this.#info.state !== 'open') return;
    const old = this.#ws;
    this.#detach();
    old?.close(1000, 'token refresh');
    this.#setState({ state: 'connecting', attempt: 0 });
    void this.#open('refresh', token);
  }

  /** Forgets the current socket (its late events are ignored) and its in-flight commands. */
  #detach(): void {
    this.#stopTimers();
    this.#ws = null;
    for (const [id, pending] of this.#pending) {
      if (!pending.written) continue;
      if (RESENDABLE.has(pending.frame.type)) {
        pending.written = false; // sent again on the next open
      } else {
        clearTimeout(pending.timer);
        this.#pending.delete(id);
        pending.reject(new TetherError('disconnected', `Connection lost before the answer to ${pending.frame.type}`, undefined, id));
      }
    }
  }

  #closed(code: number, reason: string): void {
    const wasOpen = this.#info.state === 'open';
    this.#detach();
    if (this.#info.state === 'closed') return;
    const close = { code, reason };
    if (NO_RECONNECT.has(code)) {
      this.#stop(close);
      return;
    }
    if (wasOpen && Date.now() - this.#openedAt >= this.#options.stableAfterMs) {
      this.#info = { ...this.#info, attempt: 0 };
    }
    const expiry = this.#token === undefined ? undefined : tokenExpiryMs(this.#token);
    // A refused upgrade (401) shows in a browser only as a failed connection (1006):
    // a token past its `exp` is treated like the server's 4401.
    if (code === TOKEN_EXPIRED || (!wasOpen && expiry !== undefined && expiry <= Date.now())) {
      this.#setState({ state: 'connecting', attempt: this.#info.attempt, lastClose: close });
      void this.#open('unauthorized');
      return;
    }
    this.#scheduleReconnect(close);
  }

  #scheduleReconnect(close: { code: number; reason: string }): void {
    if (this.#info.state === 'closed') return;
    const attempt = this.#info.attempt;
    const retryInMs = backoffDelay(attempt, this.#options.backoffBaseMs, this.#options.backoffMaxMs, this.#options.random);
    this.#setState({ state: 'reconnecting', attempt: attempt + 1, lastClose: close, retryInMs });
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      if (this.#info.state !== 'reconnecting') return;
      this.#setState({ state: 'connecting', attempt: this.#info.attempt, lastClose: close });
      void this.#open('connect');
    }, retryInMs);
  }

  #stop(close: { code: number; reason: string }): void {
    clearTimeout(this.#reconnectTimer);
    this.#detach();
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new TetherError('closed', 'The client is closed', undefined, id));
    }
    this.#pending.clear();
    this.#setState({ state: 'closed', attempt: this.#info.attempt, lastClose: close });
    this.#firstOpen?.reject(new TetherError('closed', `Closed before connecting: ${close.reason}`));
    this.#firstOpen = undefined;
  }

  #setState(info: StateInfo): void {
    this.#info = info;
    for (const listener of this.#stateListeners) safely(listener, info);
  }
}

function safely<T>(handler: (value: T) => void, value: T): void {
  try {
    handler(value);
  } catch (error) {
    // One failing handler must not stop the others or the client's own bookkeeping.
    console.error('tether client: a handler threw', error);
  }
}

function randomId(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** Seeker or provider answers that end a session. */
export interface Rating {
  /** 1 to 5. */
  stars: number;
  /** At most 1000 characters. */
  description?: string;
}

/** The seeker's socket (`/ws/work/seeker/`). */
export class SeekerClient extends TetherClient<SeekerClientMessage, SeekerServerMessage> {
  constructor(options: ClientOptions) {
    super('seeker', options);
  }

  /** Picks the mediums (0 to 3) the provider may use; activates a waiting session. */
  selectMediums(sessionId: string, mediums: Mediums): Promise<ServerMediumsSelected> {
    const message: ClientMediumSelection = { type: 'medium_selection', session_id: sessionId, mediums };
    return this.request(message);
  }

  /** Ends the session as completed, with an optional rating. */
  finish(sessionId: string, rating?: Rating): Promise<ServerServiceFinished> {
    const message: ClientFinishService = { type: 'finish_service', session_id: sessionId };
    if (rating) {
      message.rating_stars = rating.stars;
      if (rating.description !== undefined) message.rating_description = rating.description;
    }
    return this.request(message);
  }
}

/** The provider's socket (`/ws/work/provider/`). */
export class ProviderClient extends TetherClient<ProviderClientMessage, ProviderServerMessage> {
  constructor(options: ClientOptions) {
    super('provider', options);
  }

  /** Accepts or rejects a pending work order (`work_assigned`). */
  respondToWork(workId: number, accepted: boolean): Promise<ServerWorkAccepted | ServerWorkRejected> {
    return this.request({ type: 'work_response', work_id: workId, accepted });
  }

  /** Shares the provider's mediums with the seeker. */
  shareMediums(sessionId: string, mediums: Mediums): Promise<ServerMediumsShared> {
    const message: ClientMediumShare = { type: 'medium_share', session_id: sessionId, mediums };
    return this.request(message);
  }

  /** Ends the session as completed (the provider cannot rate). */
  finish(sessionId: string): Promise<ServerServiceFinished> {
    const message: ClientFinishService = { type: 'finish_service', session_id: sessionId };
    return this.request(message);
  }
}
