import { checkTokenSource, httpBase, messageOf, obtainToken } from './common.js';
import { TetherError, codeOfStatus, retryAfterOf } from './errors.js';
/**
 * The HTTP API under `/api/v1`, one method per endpoint. Every failure rejects with
 * {@link TetherError}: the server's `code` and the HTTP `status` (with `retryAfterMs` from
 * `retry_after_ms` or `Retry-After` on 429 and 503), `http` for an answer without a Tether
 * error body, `network` when nothing answered (the fetch error is the `cause`), `timeout`,
 * or `no_token` when the token provider gave none (nothing is sent then). Nothing is
 * retried.
 */
export class TetherApi {
    #options;
    #base;
    constructor(options) {
        checkTokenSource(options.token);
        this.#base = httpBase(options.url);
        this.#options = options;
    }
    getProfile() {
        return this.#call('GET', '/api/v1/profile');
    }
    putProfile(body) {
        return this.#call('PUT', '/api/v1/profile', body);
    }
    getProviderStatus() {
        return this.#call('GET', '/api/v1/provider/status');
    }
    putProviderStatus(body) {
        return this.#call('PUT', '/api/v1/provider/status', body);
    }
    getSeekerSearch() {
        return this.#call('GET', '/api/v1/seeker/search');
    }
    putSeekerSearch(body) {
        return this.#call('PUT', '/api/v1/seeker/search', body);
    }
    nearbyProviders(query) {
        return this.#call('GET', `/api/v1/providers/nearby?${params(query)}`);
    }
    createWorkOrder(body) {
        return this.#call('POST', '/api/v1/work-orders', body);
    }
    getWorkOrder(workId) {
        return this.#call('GET', `/api/v1/work-orders/${workId}`);
    }
    /** The waiting or active session in `role`, or null when there is none (404). */
    async activeSession(role) {
        try {
            return await this.#call('GET', `/api/v1/sessions/active?role=${role}`);
        }
        catch (error) {
            if (error instanceof TetherError && error.status === 404)
                return null;
            throw error;
        }
    }
    getSession(sessionId) {
        return this.#call('GET', `/api/v1/sessions/${encodeURIComponent(sessionId)}`);
    }
    /** One page of history, oldest first; pass `before` (a message id) for older pages. */
    messages(sessionId, page = {}) {
        return this.#call('GET', `/api/v1/sessions/${encodeURIComponent(sessionId)}/messages?${params(page)}`);
    }
    /** Rates a completed session (seeker; once, within 24 h): the same {@link Rating} `finish` takes. */
    rate(sessionId, body) {
        return this.#call('POST', `/api/v1/sessions/${encodeURIComponent(sessionId)}/rating`, body);
    }
    /**
     * The session's tamper-evident timeline; check its hash chain with
     * `verifyTimeline`.
     */
    timeline(sessionId) {
        return this.#call('GET', `/api/v1/sessions/${encodeURIComponent(sessionId)}/timeline`);
    }
    async #call(method, path, body) {
        const fetchImpl = this.#options.fetch ?? globalThis.fetch;
        if (!fetchImpl)
            throw new TetherError('network', 'No fetch implementation: pass options.fetch');
        const token = await obtainToken(this.#options.token, 'connect'); // `no_token`: nothing sent
        const headers = { authorization: `Bearer ${token}` };
        if (body !== undefined)
            headers['content-type'] = 'application/json';
        const url = new URL(path, this.#base).toString();
        const timeoutMs = this.#options.requestTimeoutMs ?? 10_000;
        const abort = typeof AbortController === 'function' ? new AbortController() : undefined;
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            abort?.abort();
        }, timeoutMs);
        let status;
        let ok;
        let retryAfterHeader;
        let text;
        try {
            const init = { method, headers };
            if (body !== undefined)
                init.body = JSON.stringify(body);
            if (abort)
                init.signal = abort.signal;
            const response = await fetchImpl(url, init);
            ({ status, ok } = response);
            retryAfterHeader = response.headers.get('retry-after');
            text = await response.text();
        }
        catch (error) {
            if (timedOut)
                throw new TetherError('timeout', `No answer to ${method} ${pathOf(path)} within ${timeoutMs} ms`, undefined, undefined, { cause: error });
            throw new TetherError('network', `${method} ${pathOf(path)} failed: ${messageOf(error)}`, undefined, undefined, { cause: error });
        }
        finally {
            clearTimeout(timer);
        }
        let json;
        try {
            json = text ? JSON.parse(text) : undefined;
        }
        catch {
            json = undefined;
        }
        if (!ok) {
            const error = errorBody(json);
            const retryAfterMs = error?.retryAfterMs ?? retryAfterHeaderMs(retryAfterHeader);
            throw new TetherError(error?.code ?? codeOfStatus(status), error?.error ?? `HTTP ${status}`, status, undefined, retryAfterMs === undefined ? {} : { retryAfterMs });
        }
        return json;
    }
}
/** The path without its query, for messages. */
function pathOf(path) {
    return path.split('?')[0] ?? path;
}
/** A Tether error body `{error, code, retry_after_ms?}`, or undefined. */
function errorBody(json) {
    if (typeof json !== 'object' || json === null)
        return undefined;
    const { error, code, retry_after_ms } = json;
    if (typeof error !== 'string' || typeof code !== 'string')
        return undefined;
    const retryAfterMs = retryAfterOf(retry_after_ms);
    return { error, code: code, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
}
/** `Retry-After` in seconds (or an HTTP date) as milliseconds. */
function retryAfterHeaderMs(value) {
    if (!value)
        return undefined;
    const seconds = Number(value);
    if (Number.isFinite(seconds) && seconds >= 0)
        return seconds * 1000;
    const at = Date.parse(value);
    return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
function params(query) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
        if (value !== undefined && value !== null)
            search.set(key, String(value));
    }
    return search.toString();
}
