/**
 * Why the token provider is asked: the first connect (and reconnects after a network
 * failure; every HTTP call), a refresh shortly before the current token's `exp`, or after
 * the server refused the token (close code 4401 on an open socket, HTTP 401 on the
 * upgrade). Return the same token only if there is no newer one: after a refusal the
 * client then stops instead of retrying a dead token.
 */
export type TokenReason = 'connect' | 'refresh' | 'unauthorized';
/**
 * Supplies the JWT. Returning nothing (`undefined`, `null`, an empty string) means "no
 * token": the client does not connect (and an HTTP call does not go out) and fails with
 * `no_token`.
 */
export type TokenProvider = (reason: TokenReason) => string | null | undefined | Promise<string | null | undefined>;
/** A fixed token, or a {@link TokenProvider}. */
export type TokenSource = string | TokenProvider;
/**
 * The part of an HTTP response the SDK reads; `globalThis.fetch` (browsers, React Native,
 * Node 18+) returns one.
 */
export interface FetchResponseLike {
    readonly status: number;
    readonly ok: boolean;
    readonly headers: {
        get(name: string): string | null;
    };
    text(): Promise<string>;
}
/** The part of `fetch` the SDK uses (`globalThis.fetch` by default). */
export type FetchLike = (input: string, init?: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    signal?: AbortSignal;
}) => Promise<FetchResponseLike>;
/** Throws a `TypeError` for a token source that can never give a token. */
export declare function checkTokenSource(token: TokenSource): void;
/**
 * The token for `reason`, trimmed. Rejects with `no_token` when the provider gives none
 * (nothing is sent then) or throws (its error is the `cause`).
 */
export declare function obtainToken(token: TokenSource, reason: TokenReason): Promise<string>;
/** Whether an {@link obtainToken} failure was an empty token (not a provider that threw). */
export declare function isEmptyToken(error: unknown): boolean;
/**
 * The edge's base URL as `http(s)`: `http://`, `https://`, `ws://` and `wss://` are all
 * accepted (the same edge serves both), anything else is a `TypeError`.
 */
export declare function httpBase(base: string): URL;
/** `path` on the edge at `base` (any of the accepted schemes), as an `http(s)` URL. */
export declare function httpUrl(base: string, path: string): string;
/**
 * A readable message of anything thrown, with its causes (`fetch failed (connect
 * ECONNREFUSED 127.0.0.1:1)`).
 */
export declare function messageOf(error: unknown): string;
/**
 * Marks a promise as handled so that one nobody awaits never becomes an unhandled
 * rejection (which ends a Node process); whoever awaits it still gets the rejection.
 */
export declare function quiet<T>(promise: Promise<T>): Promise<T>;
