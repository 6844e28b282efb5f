// What the socket clients and the HTTP API share: tokens, base URLs, the fetch they use.
import { TetherError } from './errors.js';
/** Throws a `TypeError` for a token source that can never give a token. */
export function checkTokenSource(token) {
    if (typeof token === 'string' ? token.trim() === '' : typeof token !== 'function') {
        throw new TypeError('token must be a non-empty string or a function that returns one');
    }
}
/**
 * The token for `reason`, trimmed. Rejects with `no_token` when the provider gives none
 * (nothing is sent then) or throws (its error is the `cause`).
 */
export async function obtainToken(token, reason) {
    let raw;
    try {
        raw = typeof token === 'string' ? token : await token(reason);
    }
    catch (error) {
        throw new TetherError('no_token', `The token provider failed: ${messageOf(error)}`, undefined, undefined, { cause: error });
    }
    const value = typeof raw === 'string' ? raw.trim() : '';
    if (!value)
        throw new TetherError('no_token', 'The token provider returned no token (empty or missing)');
    return value;
}
/** Whether an {@link obtainToken} failure was an empty token (not a provider that threw). */
export function isEmptyToken(error) {
    return error instanceof TetherError && error.code === 'no_token' && error.cause === undefined;
}
/**
 * The edge's base URL as `http(s)`: `http://`, `https://`, `ws://` and `wss://` are all
 * accepted (the same edge serves both), anything else is a `TypeError`.
 */
export function httpBase(base) {
    const url = new URL(base);
    const protocol = { 'http:': 'http:', 'ws:': 'http:', 'https:': 'https:', 'wss:': 'https:' }[url.protocol];
    if (!protocol)
        throw new TypeError(`The edge URL must be http(s):// or ws(s)://, not ${url.protocol}//`);
    url.protocol = protocol;
    return url;
}
/** `path` on the edge at `base` (any of the accepted schemes), as an `http(s)` URL. */
export function httpUrl(base, path) {
    return new URL(path, httpBase(base)).toString();
}
/**
 * A readable message of anything thrown, with its causes (`fetch failed (connect
 * ECONNREFUSED 127.0.0.1:1)`).
 */
export function messageOf(error) {
    if (!(error instanceof Error))
        return String(error);
    const cause = error.cause;
    return cause === undefined || cause === error ? error.message : `${error.message} (${messageOf(cause)})`;
}
/**
 * Marks a promise as handled so that one nobody awaits never becomes an unhandled
 * rejection (which ends a Node process); whoever awaits it still gets the rejection.
 */
export function quiet(promise) {
    promise.catch(() => { });
    return promise;
}
