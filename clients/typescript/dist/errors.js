/** A failed command or HTTP call: the server's error, or one of the SDK's own. */
export class TetherError extends Error {
    code;
    status;
    requestId;
    name = 'TetherError';
    /**
     * On `unavailable` and `rate_limited`: how long the server asked to wait before
     * sending again, in milliseconds (absent when it did not say).
     */
    retryAfterMs;
    constructor(
    /** The server's `code`, or one of {@link ClientErrorCode}. */
    code, message, 
    /** The HTTP status, for HTTP calls and refused WebSocket upgrades. */
    status, 
    /** The `request_id` of the command, for WebSocket commands. */
    requestId, details = {}) {
        super(message, details.cause === undefined ? undefined : { cause: details.cause });
        this.code = code;
        this.status = status;
        this.requestId = requestId;
        if (details.retryAfterMs !== undefined)
            this.retryAfterMs = details.retryAfterMs;
    }
}
/**
 * Why a socket could not be opened (or was closed for good): `connect()` rejects with it,
 * and {@link StateInfo.error} carries the one that led to the current state. `status` is
 * the HTTP status of a refused upgrade when known (401 bad or expired token, 403 origin not
 * allowed, 404 not a Tether edge, 429 too many sockets, 503 shutting down); `code` is
 * `unauthorized`, `forbidden`, `not_found`, `rate_limited` or `unavailable` for those,
 * `http` for other statuses, `network` when nothing answered (wrong host or port),
 * `no_token`, `timeout` (`connectTimeoutMs`) or `closed`.
 */
export class TetherConnectionError extends TetherError {
    closeCode;
    name = 'TetherConnectionError';
    constructor(code, message, status, 
    /** The WebSocket close code of the failed attempt, when there was one. */
    closeCode, details = {}) {
        super(code, message, status, undefined, details);
        this.closeCode = closeCode;
    }
}
/** The error code an HTTP status stands for when there is no body to say. */
export function codeOfStatus(status) {
    switch (status) {
        case 400:
            return 'validation';
        case 401:
            return 'unauthorized';
        case 403:
            return 'forbidden';
        case 404:
            return 'not_found';
        case 409:
            return 'conflict';
        case 413:
            return 'payload_too_large';
        case 429:
            return 'rate_limited';
        case 503:
            return 'unavailable';
        default:
            return 'http';
    }
}
/** A non-negative finite number of milliseconds, or undefined. */
export function retryAfterOf(value) {
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
