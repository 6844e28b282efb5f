import { TetherError } from './errors.js';
import type { TokenProvider } from './client.js';
import type {
  CreateWorkOrderBody,
  ErrorCode,
  MessagePage,
  NearbyProviders,
  Profile,
  ProviderStatus,
  PutProfileBody,
  PutProviderStatusBody,
  PutSeekerSearchBody,
  RatingBody,
  RatingSaved,
  Role,
  SeekerSearch,
  SessionSnapshot,
  SessionTimeline,
  WorkOrder,
  WorkOrderCreated,
} from './generated/protocol.js';

/** Settings of {@link TetherApi}. */
export interface ApiOptions {
  /** The edge's base URL, `http(s)://host:port`. */
  url: string;
  /** Supplies the JWT (the same provider the socket client uses). */
  token: TokenProvider;
  /** `fetch` implementation; default `globalThis.fetch`. */
  fetch?: typeof fetch;
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
 * The HTTP API under `/api/v1`, one method per endpoint. Failures reject with
 * {@link TetherError} carrying the server's `code` and the HTTP status.
 */
export class TetherApi {
  readonly #options: ApiOptions;

  constructor(options: ApiOptions) {
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
  rate(sessionId: string, body: RatingBody): Promise<RatingSaved> {
    return this.#call('POST', `/api/v1/sessions/${encodeURIComponent(sessionId)}/rating`, body);
  }
  timeline(sessionId: string): Promise<SessionTimeline> {
    return this.#call('GET', `/api/v1/sessions/${encodeURIComponent(sessionId)}/timeline`);
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const fetchImpl = this.#options.fetch ?? globalThis.fetch;
    const token = await this.#options.token('connect');
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetchImpl(new URL(path, this.#options.url), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const error = json as { error?: string; code?: ErrorCode } | undefined;
      throw new TetherError(error?.code ?? 'http', error?.error ?? `HTTP ${response.status}`, response.status);
    }
    return json as T;
  }
}

function params(query: object): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) search.set(key, String(value));
  }
  return search.toString();
}
