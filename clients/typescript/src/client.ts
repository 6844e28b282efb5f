import {
  checkTokenSource,
  httpBase,
  httpUrl,
  isEmptyToken,
  messageOf,
  obtainToken,
  quiet,
  type FetchLike,
  type TokenReason,
  type TokenSource,
} from './common.js';
import { TetherConnectionError, TetherError, codeOfStatus, retryAfterOf } from './errors.js';
import type {
  ClientCancelConnection,
  ClientChatMessage,
  ClientFinishService,
  ClientLocationUpdate,
  ClientMediumSelection,
  ClientMediumShare,
  ClientMessage,
  ClientMessageDelivered,
  ClientMessageRead,
  ClientPing,
  ClientStartChat,
  ClientTypingIndicator,
  ClientWorkResponse,
  Mediums,
  ProviderClientMessage,
  ProviderServerMessage,
  Role,
  SeekerClientMessage,
  SeekerServerMessage,
  ServerChatReady,
  ServerConnectionCancelled,
  ServerError,
  ServerMediumsSelected,
  ServerMediumsShared,
  ServerMessage,
  ServerMessageSent,
  ServerPong,
  ServerServiceFinished,
  ServerWorkAccepted,
  ServerWorkRejected,
} from './generated/protocol.js';
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
  lastClose?: { code: number; reason: string };
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
export type SocketEventHandler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/**
 * What the client needs of a WebSocket: the browser / React Native / Node 22 API, which
 * the `ws` package's `WebSocket` also has. Both fit without a cast.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: SocketEventHandler<unknown> | null;
  onmessage: SocketEventHandler<{ data: unknown }> | null;
  onclose: SocketEventHandler<{ code: number; reason: string }> | null;
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
export function socketUrl(base: string, role: Role, token: string): string {
  const url = new URL(`/ws/work/${role}/`, httpBase(base));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('token', token);
  return url.toString();
}

/** `exp` of a JWT in milliseconds, or undefined when it cannot be read (not verified). */
export function tokenExpiryMs(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const claims: unknown = JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '=')));
    const exp = typeof claims === 'object' && claims !== null && 'exp' in claims ? claims.exp : undefined;
    return typeof exp === 'number' ? exp * 1000 : undefined;
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

  has(key: string): boolean {
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

type ClientType = ClientMessage['type'];
type ServerType = ServerMessage['type'];

/**
 * Commands whose answer is the first server message echoing the `request_id`, with the
 * answer types that mean success. The others (`location_update`, `typing_indicator`,
 * receipts) get no answer on success: see {@link Pending}.
 */
const ANSWERS: Partial<Record<ClientType, readonly ServerType[]>> = {
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
const RESENDABLE = new Set<ClientType>(['ping', 'medium_selection', 'medium_share', 'start_chat', 'chat_message']);

/**
 * - `request`: has an answer (success or `error`) echoing its `request_id`.
 * - `fire`: latest-wins without an answer on success (`location_update`,
 *   `typing_indicator`): sent only while open, never again.
 * - `receipt`: `message_read` / `message_delivered`, no answer on success; kept until
 *   confirmed, sent again after a reconnect or an `unavailable`.
 *
 * The edge handles each socket's commands one at a time, in order, and always answers
 * errors; so a command without an answer on success is confirmed once the answer to a
 * later command on the same socket arrives with no error for it before. The client sends a
 * `ping` for that when nothing else follows.
 */
type Kind = 'request' | 'fire' | 'receipt';

interface Pending {
  id: string;
  kind: Kind;
  frame: ClientMessage & { request_id: string };
  expect: readonly string[];
  resolve: (answer: unknown) => void;
  reject: (error: TetherError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** No retry is started that would end after this (ms since the epoch). */
  deadline: number;
  /** Written to the current socket. */
  written: boolean;
  /** Order of writing (only meaningful while `written`). */
  seq: number;
  /** Not written again before this (a retry's delay). */
  notBefore: number;
  /** Retries after `unavailable` / `rate_limited` so far. */
  tries: number;
  /** The client's own (keep-alive and confirming pings): its answer is not passed to handlers. */
  internal: boolean;
}

/** The promise {@link TetherClient.connect} returns until the first open. */
interface FirstOpen {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: TetherError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** What one connection attempt told before it closed. */
interface Attempt {
  token: string;
  opened: boolean;
  /** HTTP status of a refused upgrade, when the WebSocket implementation says (`ws` does). */
  status?: number;
  /** The implementation's error text (e.g. `connect ECONNREFUSED 127.0.0.1:1`). */
  detail?: string;
}

/** Any seeker or provider client. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTetherClient = TetherClient<any, any>;

/** The server messages client type `C` receives (a union for a union of clients). */
export type ReceivedBy<C> = C extends TetherClient<ClientMessage, infer R> ? R : never;

/** The message of `type` T that client type `C` receives. */
export type MessageOf<C, T> = Extract<ReceivedBy<C>, { type: T }>;

/** Options of {@link TetherClient.waitFor}. */
export interface WaitForOptions<M> {
  /** Reject with a `timeout` {@link TetherError} after this long. Default: no limit. */
  timeoutMs?: number;
  /** Only a message for which this returns true settles the wait. */
  filter?: (message: M) => boolean;
}

/** Commands both roles send (checked against both endpoints' unions). */
type SharedClientMessage = Extract<SeekerClientMessage, ProviderClientMessage>;

type Listener = (message: ServerMessage) => void;

/**
 * One role's socket: connects, reconnects, pings, correlates answers, acknowledges and
 * de-duplicates. Use {@link SeekerClient} or {@link ProviderClient}.
 */
export class TetherClient<Send extends ClientMessage, Receive extends ServerMessage> {
  readonly #options: Required<Omit<ClientOptions, 'WebSocket' | 'fetch' | 'connectTimeoutMs'>> &
    Pick<ClientOptions, 'WebSocket' | 'fetch' | 'connectTimeoutMs'>;
  #ws: WebSocketLike | null = null;
  #attempt: Attempt | undefined;
  /** Bumped by every new attempt and by stopping: late async steps of older ones give up. */
  #generation = 0;
  #token: string | undefined;
  #info: StateInfo = { state: 'idle', attempt: 0 };
  #openedAt = 0;
  #requestCounter = 0;
  #writeCounter = 0;
  readonly #pending = new Map<string, Pending>();
  /** Outstanding receipts by `type:message_id`: asking again gives the same promise. */
  readonly #receipts = new Map<string, { pending: Pending; promise: Promise<void> }>();
  /** Messages the app marked read: a re-sent copy means the receipt was lost, so it goes again. */
  readonly #readIds: RecentKeys;
  /** request_id -> write order of every frame written to the current socket and not yet answered. */
  readonly #written = new Map<string, number>();
  /** Write order of the last frame on this socket that has an answer. */
  #lastAnswering = 0;
  /** Errors without a `request_id` (the edge refused a frame before reading it) since the last answer. */
  #unmatched: TetherError[] = [];
  #barrierQueued = false;
  #barrierInFlight = false;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #handlers = new Map<string, Set<Listener>>();
  readonly #anyHandlers = new Set<Listener>();
  readonly #stateListeners = new Set<(info: StateInfo) => void>();
  readonly #waiters = new Set<(error: TetherError) => void>();
  readonly #seen: RecentKeys;
  /** Direct answers -> the command they answered (see {@link TetherClient.commandOf}). */
  readonly #answered = new WeakMap<object, ClientMessage>();
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #firstOpen: FirstOpen | undefined;

  constructor(
    /** Which endpoint this client speaks to. */
    readonly role: Role,
    options: ClientOptions,
  ) {
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
      ...(Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as ClientOptions),
    };
    this.#seen = new RecentKeys(this.#options.dedupeWindow);
    this.#readIds = new RecentKeys(this.#options.dedupeWindow);
  }

  /** The current connection state. */
  get state(): StateInfo {
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
  connect(): Promise<void> {
    if (this.#info.state === 'open') return Promise.resolve();
    if (this.#firstOpen) return this.#firstOpen.promise;
    let settle!: Pick<FirstOpen, 'resolve' | 'reject'>;
    const promise = quiet(
      new Promise<void>((resolve, reject) => {
        settle = { resolve, reject };
      }),
    );
    const first: FirstOpen = { promise, ...settle, timer: undefined };
    this.#firstOpen = first;
    const limit = this.#options.connectTimeoutMs;
    if (limit !== undefined) {
      first.timer = setTimeout(() => {
        if (this.#firstOpen !== first) return;
        const last = this.#info.error;
        const error = new TetherConnectionError(
          'timeout',
          `Not connected within ${limit} ms${last ? `: ${last.message}` : ''}`,
          last?.status,
          last?.closeCode,
          { cause: last },
        );
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
  close(): void {
    this.#stop({ code: 1000, reason: 'closed by the client' });
  }

  /** Calls `listener` on every state change; returns a function that unsubscribes. */
  onState(listener: (info: StateInfo) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /**
   * Calls `handler` for each server message of `type` (duplicates of a `chat_message` or
   * `work_assigned` already seen are dropped); returns a function that unsubscribes. Works
   * on a `SeekerClient | ProviderClient` too (then any type either receives).
   */
  on<C extends AnyTetherClient, const T extends ReceivedBy<C>['type']>(
    this: C,
    type: T,
    handler: (message: MessageOf<C, T>) => void,
  ): () => void {
    return this.#subscribe(type, handler as Listener);
  }

  /** Like {@link on}, for the next message of `type` only. */
  once<C extends AnyTetherClient, const T extends ReceivedBy<C>['type']>(
    this: C,
    type: T,
    handler: (message: MessageOf<C, T>) => void,
  ): () => void {
    const off = this.#subscribe(type, (message) => {
      off();
      (handler as Listener)(message);
    });
    return off;
  }

  /**
   * Resolves with the next message of `type` (that passes `filter`); rejects with
   * `timeout` after `timeoutMs`, or `closed` when the client closes for good first.
   */
  waitFor<C extends AnyTetherClient, const T extends ReceivedBy<C>['type']>(
    this: C,
    type: T,
    options: WaitForOptions<MessageOf<C, T>> = {},
  ): Promise<MessageOf<C, T>> {
    return this.#waitFor(type, options as WaitForOptions<ServerMessage>) as Promise<MessageOf<C, T>>;
  }

  /** Calls `handler` for every server message (after de-duplication). */
  onAny(handler: (message: Receive) => void): () => void {
    const listener = handler as Listener;
    this.#anyHandlers.add(listener);
    return () => this.#anyHandlers.delete(listener);
  }

  /**
   * The command a received message answered (matched by its `request_id`), when it was a
   * direct answer to one of this client's commands: e.g. the `chat_message` (with its text
   * and `client_message_id`) behind a `message_sent`. Undefined for events.
   */
  commandOf(message: Receive): Readonly<Send> | undefined {
    return this.#answered.get(message) as Send | undefined;
  }

  /**
   * Low level: writes a message as it is (no `request_id`, no confirmation); false when
   * the socket is not open (nothing is sent). Prefer the typed methods.
   */
  send(message: Send): boolean {
    if (this.#ws?.readyState !== OPEN || this.#info.state !== 'open') return false;
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
  request<A = Receive>(message: Send | SharedClientMessage, timeoutMs: number = this.#options.requestTimeoutMs): Promise<A> {
    const expect = ANSWERS[message.type];
    if (!expect) throw new TypeError(`${message.type} has no answer: use its method (it is confirmed without one)`);
    return this.#command<A>('request', message, timeoutMs, expect);
  }

  // ---- commands both roles have ----

  /** Opens the session's chat; both parties get `chat_ready`. */
  startChat(sessionId: string): Promise<ServerChatReady> {
    const message: ClientStartChat = { type: 'start_chat', session_id: sessionId };
    return this.request(message);
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
    return this.request(message);
  }

  /**
   * Marks a received message read (the sender gets `message_status_update`). Kept until
   * the server has it: sent once connected, again after a drop, after `unavailable`, and
   * when the server re-sends the message. Resolves once confirmed; rejects with the
   * server's error (`not_found`, `forbidden`, ...), `not_connected` before `connect()`, or
   * `closed`. Safe not to await.
   */
  markRead(messageId: string): Promise<void> {
    this.#readIds.add(messageId);
    const message: ClientMessageRead = { type: 'message_read', message_id: messageId };
    return this.#receipt(message);
  }

  /**
   * Acknowledges delivery of a message, like {@link markRead}. The client does this by
   * itself for every `chat_message` unless `autoDelivered` is false.
   */
  markDelivered(messageId: string): Promise<void> {
    const message: ClientMessageDelivered = { type: 'message_delivered', message_id: messageId };
    return this.#receipt(message);
  }

  /**
   * Tells the other party whether this one is typing (latest wins). Resolves once the server
   * took it; rejects with its error (`not_found`, `conflict`, `validation`, ...), with
   * `not_connected` when the socket is not open (nothing sent), or `disconnected` when it
   * dropped first. Safe not to await.
   */
  typing(sessionId: string, isTyping: boolean): Promise<void> {
    const message: ClientTypingIndicator = { type: 'typing_indicator', session_id: sessionId, is_typing: isTyping };
    return this.#fire(message);
  }

  /**
   * Reports this party's position (latest wins; `accuracyM` in metres, absent for a
   * precise fix). Settles like {@link typing}: never queued while disconnected nor sent
   * again, since a later fix replaces it.
   */
  updateLocation(sessionId: string, latitude: number, longitude: number, accuracyM?: number): Promise<void> {
    const message: ClientLocationUpdate = { type: 'location_update', session_id: sessionId, latitude, longitude };
    if (accuracyM !== undefined) message.accuracy_m = accuracyM;
    return this.#fire(message);
  }

  /**
   * Cancels the session. The server then closes both parties' sockets with 1000; the
   * client reconnects by itself (call `close()` when the app is done).
   */
  cancel(sessionId: string): Promise<ServerConnectionCancelled> {
    const message: ClientCancelConnection = { type: 'cancel_connection', session_id: sessionId };
    return this.request(message);
  }

  /** Round trip to the server (the client pings by itself; this is for tests and probes). */
  ping(): Promise<ServerPong> {
    const message: ClientPing = { type: 'ping' };
    return this.request(message);
  }

  // ---- commands ----

  #command<A>(kind: Kind, message: ClientMessage, timeoutMs: number, expect: readonly string[] = []): Promise<A> {
    return this.#enqueue<A>(kind, message, timeoutMs, expect)[0];
  }

  /** A `ping` of the client's own, whose `pong` handlers do not see. */
  #internalPing(timeoutMs: number): Promise<ServerPong> {
    const ping: ClientPing = { type: 'ping' };
    const [promise, pending] = this.#enqueue<ServerPong>('request', ping, timeoutMs, ['pong']);
    if (pending) pending.internal = true;
    return promise;
  }

  /** Makes a command's {@link Pending} (written at once when the socket is open) and its promise. */
  #enqueue<A>(kind: Kind, message: ClientMessage, timeoutMs: number, expect: readonly string[] = []): [Promise<A>, Pending?] {
    const refused = this.#refusal(kind);
    if (refused) return [Promise.reject(refused)];
    const id = `${this.role[0]}${++this.#requestCounter}-${Math.floor(this.#options.random() * 1e9).toString(36)}`;
    let pending!: Pending;
    const promise = new Promise<A>((resolve, reject) => {
      pending = {
        id,
        kind,
        frame: { ...message, request_id: id },
        expect,
        resolve: resolve as (answer: unknown) => void,
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
        if (this.#pending.get(id) !== pending) return;
        this.#pending.delete(id);
        pending.reject(new TetherError('timeout', `No answer to ${message.type} within ${timeoutMs} ms`, undefined, id));
      }, Math.min(timeoutMs, MAX_TIMER_MS));
    }
    this.#pending.set(id, pending);
    this.#write(pending);
    return [promise, pending];
  }

  /** Why a command of `kind` cannot be taken now, if it cannot. */
  #refusal(kind: Kind): TetherError | undefined {
    const state = this.#info.state;
    if (state === 'idle') return new TetherError('not_connected', 'connect() has not been called');
    if (state === 'closed') return new TetherError('closed', 'The client is closed');
    if (kind === 'fire' && !this.#isOpen()) {
      return new TetherError('not_connected', 'The socket is not open: nothing was sent');
    }
    return undefined;
  }

  #fire(message: ClientMessage): Promise<void> {
    return quiet(this.#command<void>('fire', message, this.#options.requestTimeoutMs));
  }

  #receipt(message: ClientMessageRead | ClientMessageDelivered): Promise<void> {
    const key = `${message.type}:${message.message_id}`;
    const outstanding = this.#receipts.get(key);
    if (outstanding) return outstanding.promise;
    const [promise, pending] = this.#enqueue<void>('receipt', message, Infinity);
    const quieted = quiet(promise);
    if (pending) this.#receipts.set(key, { pending, promise: quieted });
    return quieted;
  }

  #isOpen(): boolean {
    return this.#ws?.readyState === OPEN && this.#info.state === 'open';
  }

  #write(pending: Pending): void {
    if (pending.written || !this.#isOpen() || pending.notBefore > Date.now()) return;
    pending.written = true;
    pending.seq = ++this.#writeCounter;
    this.#written.set(pending.id, pending.seq);
    if (pending.kind === 'request') this.#lastAnswering = pending.seq;
    this.#ws!.send(JSON.stringify(pending.frame));
    if (pending.kind !== 'request') this.#scheduleBarrier();
  }

  /** Writes what waits (in the order the commands were made) and arms the timer of the next retry. */
  #flush(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (!this.#isOpen()) return;
    let next = Infinity;
    const now = Date.now();
    for (const pending of [...this.#pending.values()]) {
      if (pending.notBefore > now) next = Math.min(next, pending.notBefore);
      else this.#write(pending);
    }
    if (next !== Infinity) this.#flushTimer = setTimeout(() => this.#flush(), Math.min(next - now, MAX_TIMER_MS));
  }

  /** Sends a `ping` whose answer confirms the commands without one written before it. */
  #scheduleBarrier(): void {
    if (this.#barrierQueued) return;
    this.#barrierQueued = true;
    setTimeout(() => {
      this.#barrierQueued = false;
      if (this.#barrierInFlight || !this.#isOpen()) return;
      const unconfirmed = [...this.#pending.values()].some(
        (p) => p.written && p.kind !== 'request' && p.seq > this.#lastAnswering,
      );
      if (!unconfirmed && this.#unmatched.length === 0) return;
      this.#barrierInFlight = true;
      this.#internalPing(this.#options.requestTimeoutMs)
        .catch(() => {})
        .finally(() => {
          this.#barrierInFlight = false;
          this.#scheduleBarrier();
        });
    }, 0);
  }

  // ---- what arrives ----

  #receive(data: unknown): void {
    if (typeof data !== 'string') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { type?: unknown }).type !== 'string') return;
    const message = parsed as Receive;
    const requestId = message.request_id;
    const seq = requestId === undefined ? undefined : this.#written.get(requestId);
    if (requestId !== undefined && seq !== undefined) {
      this.#written.delete(requestId);
      this.#settleBefore(seq);
      const pending = this.#pending.get(requestId);
      if (pending?.written && pending.seq === seq) {
        this.#answered.set(message, pending.frame);
        this.#answer(pending, message);
        if (pending.internal && message.type === 'pong') return;
      }
    } else if (requestId === undefined && message.type === 'error') {
      // Refused before its head was read (rate limit): which frame it was is known only
      // from the answers around it (see #settleBefore). A ping after it tells.
      this.#unmatched.push(errorOf(message, undefined));
      this.#scheduleBarrier();
    }
    if (!this.#isNew(message)) return;
    for (const handler of this.#handlers.get(message.type) ?? []) safely(handler, message);
    for (const handler of this.#anyHandlers) safely(handler, message);
  }

  /**
   * The answer to the frame written `seq`-th arrived: every frame written before it has had
   * its answer, since the edge answers a socket's commands in order. Commands without an
   * answer on success are confirmed; commands with one that got none could only have been
   * answered by an error without `request_id`, and take those in order; errors left over
   * belong to commands without an answer, which of them cannot be told, so all of them count
   * as refused (receipts are then sent again).
   */
  #settleBefore(seq: number): void {
    const earlier = [...this.#pending.values()].filter((p) => p.written && p.seq < seq).sort((a, b) => a.seq - b.seq);
    const errors = this.#unmatched.splice(0);
    const requests = earlier.filter((p) => p.kind === 'request');
    requests.forEach((pending, i) => {
      const error = errors[i];
      if (error) this.#fail(pending, withRequestId(error, pending.id));
    });
    const leftover = errors[requests.length];
    for (const pending of earlier) {
      if (pending.kind === 'request') continue;
      if (leftover) this.#fail(pending, withRequestId(leftover, pending.id));
      else this.#settle(pending, undefined);
    }
  }

  #answer(pending: Pending, message: ServerMessage): void {
    if (message.type === 'error') {
      this.#fail(pending, errorOf(message, pending.id));
    } else if (pending.kind !== 'request' || pending.expect.includes(message.type)) {
      this.#settle(pending, pending.kind === 'request' ? message : undefined);
    } else {
      this.#settle(pending, undefined, new TetherError('internal', `Unexpected answer ${message.type} to ${pending.frame.type}`, undefined, pending.id));
    }
  }

  /**
   * A command was refused. `unavailable` and `rate_limited` are retried for idempotent
   * commands and receipts, no sooner than the server's `retry_after_ms` (else after a
   * jittered backoff), while the command's timeout allows; anything else rejects.
   */
  #fail(pending: Pending, error: TetherError): void {
    const retryable =
      (error.code === 'unavailable' || error.code === 'rate_limited') &&
      (pending.kind === 'receipt' || (pending.kind === 'request' && RESENDABLE.has(pending.frame.type)));
    if (retryable) {
      const { backoffBaseMs, backoffMaxMs, random } = this.#options;
      const delay = Math.max(error.retryAfterMs ?? 0, backoffDelay(pending.tries, backoffBaseMs, backoffMaxMs, random));
      if (Date.now() + delay < pending.deadline) {
        pending.tries += 1;
        pending.written = false;
        pending.notBefore = Date.now() + delay;
        this.#written.delete(pending.id);
        if (this.#isOpen()) this.#flush(); // arms the timer of the earliest retry
        return;
      }
    }
    this.#settle(pending, undefined, error);
  }

  #settle(pending: Pending, answer: unknown, error?: TetherError): void {
    if (this.#pending.get(pending.id) !== pending) return;
    this.#pending.delete(pending.id);
    this.#written.delete(pending.id);
    clearTimeout(pending.timer);
    if (pending.kind === 'receipt') {
      const frame = pending.frame as ClientMessageRead | ClientMessageDelivered;
      const key = `${frame.type}:${frame.message_id}`;
      if (this.#receipts.get(key)?.pending === pending) this.#receipts.delete(key);
    }
    if (error) pending.reject(error);
    else pending.resolve(answer);
  }

  /** De-duplication across reconnects; acknowledges every copy of a chat message. */
  #isNew(message: ServerMessage): boolean {
    if (message.type === 'chat_message' && message.message_id) {
      const id = message.message_id;
      const fresh = this.#seen.add(`message:${id}`);
      // Every copy is acknowledged: the server re-sends while the status is `sent`, so a
      // copy means our earlier receipts may have been lost; a read one goes again too.
      if (this.#options.autoDelivered) void this.markDelivered(id);
      if (!fresh && this.#readIds.has(id)) void this.#receipt({ type: 'message_read', message_id: id });
      return fresh;
    }
    if (message.type === 'work_assigned') {
      return this.#seen.add(`work:${message.work_id}`);
    }
    return true;
  }

  #subscribe(type: string, handler: Listener): () => void {
    let set = this.#handlers.get(type);
    if (!set) this.#handlers.set(type, (set = new Set()));
    const handlers = set;
    handlers.add(handler);
    return () => handlers.delete(handler);
  }

  #waitFor(type: string, options: WaitForOptions<ServerMessage>): Promise<ServerMessage> {
    if (this.#info.state === 'closed') return Promise.reject(new TetherError('closed', 'The client is closed'));
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        off();
        clearTimeout(timer);
        this.#waiters.delete(closed);
      };
      const closed = (error: TetherError) => {
        done();
        reject(error);
      };
      const off = this.#subscribe(type, (message) => {
        if (options.filter && !options.filter(message)) return;
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
  async #open(reason: TokenReason, fresh?: string): Promise<void> {
    const generation = ++this.#generation;
    let token: string;
    try {
      token = fresh ?? (await obtainToken(this.#options.token, reason));
    } catch (error) {
      if (generation !== this.#generation || this.#info.state === 'closed') return;
      this.#tokenFailed(error);
      return;
    }
    if (generation !== this.#generation || this.#info.state === 'closed') return;
    this.#token = token;
    const Factory = this.#options.WebSocket ?? (globalThis as { WebSocket?: WebSocketFactory }).WebSocket;
    let ws: WebSocketLike;
    try {
      if (!Factory) throw new Error('no WebSocket implementation: pass options.WebSocket');
      ws = new Factory(socketUrl(this.#options.url, this.role, token));
    } catch (error) {
      // A missing implementation will not fix itself by retrying.
      this.#stop({ code: 0, reason: messageOf(error) }, new TetherConnectionError('closed', messageOf(error), undefined, undefined, { cause: error }));
      return;
    }
    const attempt: Attempt = { token, opened: false };
    this.#ws = ws;
    this.#attempt = attempt;
    ws.onopen = () => {
      if (this.#ws !== ws) return;
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
      if (this.#ws === ws) this.#receive(event.data);
    };
    ws.onclose = (event) => {
      if (this.#ws !== ws) return;
      if (attempt.opened) this.#lost(event.code, event.reason);
      else void this.#refused(attempt, { code: event.code, reason: event.reason });
    };
    ws.onerror = (event) => {
      // Always followed by onclose, which decides what happens next; `ws` says here why
      // an upgrade failed ("Unexpected server response: 401", "connect ECONNREFUSED ...").
      if (this.#ws !== ws || attempt.opened) return;
      const detail = errorText(event);
      if (detail) attempt.detail = detail;
      const status = /Unexpected server response: (\d{3})/.exec(detail ?? '')?.[1];
      if (status) attempt.status = Number(status);
    };
  }

  /** The token provider gave nothing (stop: nothing to connect with) or threw (retry). */
  #tokenFailed(error: unknown): void {
    const cause = error instanceof TetherError ? error.cause : error;
    const connectionError = new TetherConnectionError('no_token', messageOf(error), undefined, undefined, { cause });
    if (isEmptyToken(error)) this.#stop({ code: 0, reason: 'no token' }, connectionError);
    else this.#scheduleReconnect({ code: 0, reason: 'the token provider failed' }, connectionError);
  }

  /** An attempt closed before it opened: find out why, then retry, renew the token, or stop. */
  async #refused(attempt: Attempt, close: { code: number; reason: string }): Promise<void> {
    this.#detach();
    const generation = this.#generation;
    const status = attempt.status ?? (await this.#probe(attempt.token));
    if (generation !== this.#generation || this.#info.state === 'closed') return;
    const where = httpBase(this.#options.url).host;
    let error: TetherConnectionError;
    if (status === undefined) {
      const detail = attempt.detail ?? close.reason;
      error = new TetherConnectionError('network', `No WebSocket from ${where}${detail ? `: ${detail}` : ''}`, undefined, close.code);
    } else {
      error = new TetherConnectionError(codeOfStatus(status), `The edge at ${where} refused the socket with HTTP ${status}`, status, close.code);
    }
    const expiry = tokenExpiryMs(attempt.token);
    // Without a status (no probe possible), a token past its `exp` is the likely cause.
    if (status === 401 || (status === undefined && expiry !== undefined && expiry <= Date.now())) {
      void this.#renew(close, error, false);
    } else if (status !== undefined && status >= 400 && status < 500 && ![408, 425, 429].includes(status)) {
      this.#stop(close, error); // a wrong path, origin or request: retrying cannot help
    } else {
      this.#scheduleReconnect(close, error);
    }
  }

  /**
   * Why a socket could not be opened, where the WebSocket did not say: `GET` of the socket
   * path with the token as a header. 401/403/404/429/5xx are what the upgrade got too; 400
   * ("expected an upgrade") means the token and origin were fine. Undefined when unknown.
   */
  async #probe(token: string): Promise<number | undefined> {
    const fetchImpl = this.#options.fetch ?? (globalThis as { fetch?: FetchLike }).fetch;
    if (!fetchImpl) return undefined;
    const abort = typeof AbortController === 'function' ? new AbortController() : undefined;
    const timer = setTimeout(() => abort?.abort(), PROBE_TIMEOUT_MS);
    try {
      const init: Parameters<FetchLike>[1] = { method: 'GET', headers: { authorization: `Bearer ${token}` } };
      if (abort) init.signal = abort.signal;
      const response = await fetchImpl(httpUrl(this.#options.url, `/ws/work/${this.role}/`), init);
      await response.text().catch(() => '');
      return response.status >= 400 && response.status !== 400 ? response.status : undefined;
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The server refused the token (4401 on an open socket, or 401 on the upgrade): ask the
   * provider for a newer one; the same one again stops the client. After a 4401 the new
   * token connects at once, after a 401 with the backoff (a provider that keeps minting
   * refused tokens must not spin).
   */
  async #renew(close: { code: number; reason: string }, error: TetherConnectionError | undefined, immediately: boolean): Promise<void> {
    this.#setState({ state: 'connecting', attempt: this.#info.attempt, lastClose: close, ...(error ? { error } : {}) });
    const generation = ++this.#generation;
    let token: string;
    try {
      token = await obtainToken(this.#options.token, 'unauthorized');
    } catch (failure) {
      if (generation === this.#generation && this.#info.state !== 'closed') this.#tokenFailed(failure);
      return;
    }
    if (generation !== this.#generation || this.#info.state === 'closed') return;
    if (token === this.#token) {
      const refused =
        error ?? new TetherConnectionError('unauthorized', 'The server refused the token (it expired) and the token provider has no newer one', undefined, close.code);
      this.#stop(close, refused);
      return;
    }
    if (immediately) void this.#open('unauthorized', token);
    else this.#scheduleReconnect(close, error, token);
  }

  /** An open socket closed. */
  #lost(code: number, reason: string): void {
    this.#detach();
    if (this.#info.state === 'closed') return;
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

  #startTimers(): void {
    this.#stopTimers();
    this.#pingTimer = setInterval(() => {
      this.#internalPing(this.#options.pingTimeoutMs).catch((error: TetherError) => {
        if (error.code !== 'timeout' || !this.#ws) return;
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

  #stopTimers(): void {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#refreshTimer);
    clearTimeout(this.#flushTimer);
    this.#pingTimer = undefined;
    this.#refreshTimer = undefined;
    this.#flushTimer = undefined;
  }

  /** A socket cannot change its token: with a new one, reconnect at once. */
  async #refresh(): Promise<void> {
    let token: string;
    try {
      token = await obtainToken(this.#options.token, 'refresh');
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

  /**
   * Forgets the current socket (its late events are ignored). Of what it had in flight,
   * idempotent commands and receipts wait for the next socket; the others fail with
   * `disconnected`.
   */
  #detach(): void {
    this.#stopTimers();
    this.#ws = null;
    this.#attempt = undefined;
    this.#written.clear();
    this.#unmatched = [];
    for (const pending of [...this.#pending.values()]) {
      if (!pending.written) continue;
      if (pending.kind === 'receipt' || (pending.kind === 'request' && RESENDABLE.has(pending.frame.type))) {
        pending.written = false; // sent again on the next open
      } else {
        this.#settle(pending, undefined, new TetherError('disconnected', `Connection lost before the answer to ${pending.frame.type}`, undefined, pending.id));
      }
    }
  }

  #scheduleReconnect(close: { code: number; reason: string }, error?: TetherConnectionError, fresh?: string): void {
    if (this.#info.state === 'closed') return;
    const attempt = this.#info.attempt;
    const retryInMs = backoffDelay(attempt, this.#options.backoffBaseMs, this.#options.backoffMaxMs, this.#options.random);
    this.#setState({ state: 'reconnecting', attempt: attempt + 1, lastClose: close, retryInMs, ...(error ? { error } : {}) });
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      if (this.#info.state !== 'reconnecting') return;
      this.#setState({ ...this.#info, state: 'connecting', retryInMs: undefined });
      void this.#open('connect', fresh);
    }, retryInMs);
  }

  /** Closes for good: everything waiting fails with `closed`, `connect()` with `error`. */
  #stop(close: { code: number; reason: string }, error?: TetherConnectionError): void {
    const ws = this.#ws;
    this.#generation += 1;
    clearTimeout(this.#reconnectTimer);
    this.#detach();
    ws?.close(1000, 'client closed');
    const closedError = (id?: string) =>
      new TetherError('closed', error ? `The client is closed: ${error.message}` : 'The client is closed', undefined, id, { cause: error });
    for (const pending of [...this.#pending.values()]) this.#settle(pending, undefined, closedError(pending.id));
    for (const waiter of [...this.#waiters]) waiter(closedError());
    this.#setState({ state: 'closed', attempt: this.#info.attempt, lastClose: close, ...(error ? { error } : {}) });
    const first = this.#firstOpen;
    this.#firstOpen = undefined;
    if (first) {
      clearTimeout(first.timer);
      first.reject(error ?? new TetherConnectionError('closed', `Closed before connecting: ${close.reason}`, undefined, close.code));
    }
  }

  #setState(info: StateInfo): void {
    if (info.retryInMs === undefined) delete info.retryInMs;
    this.#info = info;
    for (const listener of this.#stateListeners) safely(listener, info);
  }
}

function errorOf(message: ServerError, requestId: string | undefined): TetherError {
  const retryAfterMs = retryAfterOf('retry_after_ms' in message ? message.retry_after_ms : undefined);
  return new TetherError(message.code, message.error, undefined, requestId, retryAfterMs === undefined ? {} : { retryAfterMs });
}

function withRequestId(error: TetherError, requestId: string): TetherError {
  const retryAfterMs = error.retryAfterMs;
  return new TetherError(error.code, error.message, error.status, requestId, retryAfterMs === undefined ? {} : { retryAfterMs });
}

/** The text of a WebSocket `error` event, where the implementation gives one (`ws` does). */
function errorText(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const { message, error } = event as { message?: unknown; error?: unknown };
  if (typeof message === 'string' && message) return message;
  if (error instanceof Error) return error.message;
  return undefined;
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

  /**
   * Ends the session as completed, with an optional rating (`{rating_stars: 1-5,
   * rating_description?}`, the same shape `TetherApi.rate` takes). The server then closes
   * both parties' sockets with 1000; the client reconnects by itself (call `close()` when
   * the app is done).
   */
  finish(sessionId: string, rating?: Rating): Promise<ServerServiceFinished> {
    const message: ClientFinishService = { type: 'finish_service', session_id: sessionId };
    if (rating) {
      message.rating_stars = rating.rating_stars;
      if (rating.rating_description !== undefined) message.rating_description = rating.rating_description;
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
    const message: ClientWorkResponse = { type: 'work_response', work_id: workId, accepted };
    return this.request(message);
  }

  /** Shares the provider's mediums with the seeker. */
  shareMediums(sessionId: string, mediums: Mediums): Promise<ServerMediumsShared> {
    const message: ClientMediumShare = { type: 'medium_share', session_id: sessionId, mediums };
    return this.request(message);
  }

  /**
   * Ends the session as completed (the provider cannot rate). The server then closes both
   * parties' sockets with 1000; the client reconnects by itself.
   */
  finish(sessionId: string): Promise<ServerServiceFinished> {
    const message: ClientFinishService = { type: 'finish_service', session_id: sessionId };
    return this.request(message);
  }
}
