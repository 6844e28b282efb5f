import { checkTokenSource, httpBase, messageOf, obtainToken, type FetchLike, type TokenSource } from './common.js';
import { TetherError, codeOfStatus, retryAfterOf } from './errors.js';
import type {
  CreateWorkOrderBody,
  ErrorCode,
  MessagePage,
  NearbyProviders,
  Profile,
  ProviderStatus,
  PutProfileBody,
  PutSeekerSearchBody,
  RatingSaved,
  Role,
  SeekerSearch,
  WorkOrder,
  WorkOrderCreated,
} from './generated/protocol.js';
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
export class TetherApi {
  readonly #options: ApiOptions;
  readonly #base: URL;

  constructor(options: ApiOptions) {
    checkTokenSource(options.token);
    this.#base = httpBase(options.url);
    this.#options = options;
  }

  getProfile(): Promise<Profile> {
    return this.#call('GET', '/api/v1/profile');
  }
  putProfile(body: PutProfileBody): Promise<Profile> {
    return this.#call('PUT', '/api/v1/profile', body);
  }
  getProviderStatus(): Promise<ProviderStatus> {
    return this.#call('GET', '/api/v1/provider/status');
  }
  putProviderStatus(body: PutProviderStatusBody): Promise<ProviderStatus> {
    return this.#call('PUT', '/api/v1/provider/status', body);
  }
  getSeekerSearch(): Promise<SeekerSearch> {
    return this.#call('GET', '/api/v1/seeker/search');
  }
  putSeekerSearch(body: PutSeekerSearchBody): Promise<SeekerSearch> {
    return this.#call('PUT', '/api/v1/seeker/search', body);
  }
  nearbyProviders(query: NearbyQuery): Promise<NearbyProviders> {
    return this.#call('GET', `/api/v1/providers/nearby?${params(query)}`);
  }
  createWorkOrder(body: CreateWorkOrderBody): Promise<WorkOrderCreated> {
    return this.#call('POST', '/api/v1/work-orders', body);
  }
  getWorkOrder(workId: number): Promise<WorkOrder> {
    return this.#call('GET', `/api/v1/work-orders/${workId}`);
  }
  /** The waiting or active session in `role`, or null when there is none (404). */
  async activeSession(role: Role): Promise<SessionSnapshot | null> {
    try {
      return await this.#call<SessionSnapshot>('GET', `/api/v1/sessions/active?role=${role}`);
    } catch (error) {
      if (error instanceof TetherError && error.status === 404) return null;
      throw error;
    }
  }
  getSession(sessionId: string): Promise<SessionSnapshot> {
    return this.#call('GET', `/api/v1/sessions/${encodeURIComponent(sessionId)}`);
  }
  /** One page of history, oldest first; pass `before` (a message id) for older pages. */
  messages(sessionId: string, page: { before?: string; limit?: number } = {}): Promise<MessagePage> {
    return this.#call('GET', `/api/v1/sessions/${encodeURIComponent(sessionId)}/messages?${params(page)}`);
  }
  /** Rates a completed session (seeker; once, within 24 h): the same {@link Rating} `finish` takes. */
  rate(sessionId: string, body: Rating): Promise<RatingSaved> {
    return this.#call('POST', `/api/v1/sessions/${encodeURIComponent(sessionId)}/rating`, body);
  }
  /**
   * The session's tamper-evident timeline; check its hash chain with
   * `verifyTimeline`.
   */
  timeline(sessionId: string): Promise<SessionTimeline> {
    return this.#call('GET', `/api/v1/sessions/${encodeURIComponent(sessionId)}/timeline`);
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const fetchImpl = this.#options.fetch ?? (globalThis as { fetch?: FetchLike }).fetch;
    if (!fetchImpl) throw new TetherError('network', 'No fetch implementation: pass options.fetch');
    const token = await obtainToken(this.#options.token, 'connect'); // `no_token`: nothing sent
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const url = new URL(path, this.#base).toString();
    const timeoutMs = this.#options.requestTimeoutMs ?? 10_000;
    const abort = typeof AbortController === 'function' ? new AbortController() : undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort?.abort();
    }, timeoutMs);
    let status: number;
    let ok: boolean;
    let retryAfterHeader: string | null;
    let text: string;
    try {
      const init: Parameters<FetchLike>[1] = { method, headers };
      if (body !== undefined) init.body = JSON.stringify(body);
      if (abort) init.signal = abort.signal;
      const response = await fetchImpl(url, init);
      ({ status, ok } = response);
      retryAfterHeader = response.headers.get('retry-after');
      text = await response.text();
    } catch (error) {
      if (timedOut) throw new TetherError('timeout', `No answer to ${method} ${pathOf(path)} within ${timeoutMs} ms`, undefined, undefined, { cause: error });
      throw new TetherError('network', `${method} ${pathOf(path)} failed: ${messageOf(error)}`, undefined, undefined, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!ok) {
      const error = errorBody(json);
      const retryAfterMs = error?.retryAfterMs ?? retryAfterHeaderMs(retryAfterHeader);
      throw new TetherError(
        error?.code ?? codeOfStatus(status),
        error?.error ?? `HTTP ${status}`,
        status,
        undefined,
        retryAfterMs === undefined ? {} : { retryAfterMs },
      );
    }
    return json as T;
  }
}

/** The path without its query, for messages. */
function pathOf(path: string): string {
  return path.split('?')[0] ?? path;
}

/** A Tether error body `{error, code, retry_after_ms?}`, or undefined. */
function errorBody(json: unknown): { error: string; code: ErrorCode; retryAfterMs?: number } | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const { error, code, retry_after_ms } = json as { error?: unknown; code?: unknown; retry_after_ms?: unknown };
  if (typeof error !== 'string' || typeof code !== 'string') return undefined;
  const retryAfterMs = retryAfterOf(retry_after_ms);
  return { error, code: code as ErrorCode, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
}

/** `Retry-After` in seconds (or an HTTP date) as milliseconds. */
function retryAfterHeaderMs(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function params(query: object): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) search.set(key, String(value));
  }
  return search.toString();
}
