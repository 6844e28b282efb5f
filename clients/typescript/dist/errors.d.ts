import type { ErrorCode } from './generated/protocol.js';
/**
 * Codes the SDK adds to the server's {@link ErrorCode}s:
 * - `timeout`: no answer in time (or, for {@link TetherConnectionError}, not connected
 *   within `connectTimeoutMs`);
 * - `disconnected`: the socket dropped before the answer came and the command is not safe
 *   to send again (it may or may not have taken effect);
 * - `not_connected`: nothing was sent: `connect()` has not been called yet, or (for
 *   the latest-wins `updateLocation` and `typing`) the socket is not open right now;
 * - `closed`: the client was closed for good (`close()`, a 1008 policy close, a refused
 *   token with no newer one, a connect timeout);
 * - `no_token`: the token provider gave an empty or missing token (nothing was sent), or
 *   it threw;
 * - `network`: no HTTP answer at all (refused connection, DNS, TLS, wrong port);
 * - `http`: an HTTP failure without a Tether error body (e.g. from a proxy).
 */
export type ClientErrorCode = 'timeout' | 'disconnected' | 'not_connected' | 'closed' | 'no_token' | 'network' | 'http';
/** Everything {@link TetherError.code} can be. */
export type TetherErrorCode = ErrorCode | ClientErrorCode;
/** Extra facts of a {@link TetherError}. */
export interface TetherErrorDetails {
    /**
     * From the server's `retry_after_ms` (WebSocket `error`, HTTP body) or HTTP
     * `Retry-After`: the least time to wait before sending the command again.
     */
    retryAfterMs?: number;
    /** The underlying failure (a network error, the error of the last connection attempt). */
    cause?: unknown;
}
/** A failed command or HTTP call: the server's error, or one of the SDK's own. */
export declare class TetherError extends Error {
    /** The server's `code`, or one of {@link ClientErrorCode}. */
    readonly code: TetherErrorCode;
    /** The HTTP status, for HTTP calls and refused WebSocket upgrades. */
    readonly status?: number | undefined;
    /** The `request_id` of the command, for WebSocket commands. */
    readonly requestId?: string | undefined;
    readonly name: string;
    /**
     * On `unavailable` and `rate_limited`: how long the server asked to wait before
     * sending again, in milliseconds (absent when it did not say).
     */
    readonly retryAfterMs?: number;
    constructor(
    /** The server's `code`, or one of {@link ClientErrorCode}. */
    code: TetherErrorCode, message: string, 
    /** The HTTP status, for HTTP calls and refused WebSocket upgrades. */
    status?: number | undefined, 
    /** The `request_id` of the command, for WebSocket commands. */
    requestId?: string | undefined, details?: TetherErrorDetails);
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
export declare class TetherConnectionError extends TetherError {
    /** The WebSocket close code of the failed attempt, when there was one. */
    readonly closeCode?: number | undefined;
    readonly name: string;
    constructor(code: TetherErrorCode, message: string, status?: number, 
    /** The WebSocket close code of the failed attempt, when there was one. */
    closeCode?: number | undefined, details?: TetherErrorDetails);
}
/** The error code an HTTP status stands for when there is no body to say. */
export declare function codeOfStatus(status: number): TetherErrorCode;
/** A non-negative finite number of milliseconds, or undefined. */
export declare function retryAfterOf(value: unknown): number | undefined;
