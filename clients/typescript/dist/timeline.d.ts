/** `prev_hash` of the first event: 64 zeros. */
export declare const GENESIS_HASH: string;
/** SHA-256 of `data`; WebCrypto's `crypto.subtle.digest('SHA-256', ...)` by default. */
export type Sha256 = (data: Uint8Array) => Promise<ArrayBuffer | Uint8Array>;
/** Options of {@link verifyTimeline}. */
export interface VerifyTimelineOptions {
    /** The SHA-256 to use; default WebCrypto's (`globalThis.crypto.subtle`). */
    sha256?: Sha256;
}
/** The outcome of {@link verifyTimeline}. */
export type TimelineVerification = {
    ok: true;
    /** How many events (all verified). */
    events: number;
    /** The head hash (the last event's `hash`). */
    headHash: string;
} | {
    ok: false;
    /**
     * The first event that breaks a rule (0-based; the events before it are verified), or
     * null when the answer as a whole does (`head_hash`, `session_id`, too few events).
     */
    index: number | null;
    /** That event's `seq` as found, if it had one. */
    seq: number | null;
    /** Which rule. */
    reason: string;
    /** `event #4 (seq 4): <reason>` or `timeline: <reason>`, as `tether-timeline verify` says it. */
    message: string;
};
/**
 * RFC 8785 (JCS) canonical JSON of a value parsed from JSON: object keys sorted by UTF-16
 * code units, no whitespace, strings and numbers as ECMAScript's `JSON.stringify` writes
 * them (which is what JCS specifies).
 */
export declare function canonicalJson(value: unknown): string;
/**
 * The chain rule: lowercase hex SHA-256 of `prevHash` (64 ASCII characters) followed by the
 * JCS canonical JSON of the event object without its `hash` field (removed here if present).
 */
export declare function timelineEventHash(prevHash: string, event: object, options?: VerifyTimelineOptions): Promise<string>;
/**
 * Checks a timeline answer (as parsed from JSON: pass the response body, not a copy that
 * dropped or reordered fields) against every rule of the protocol, recomputing each hash.
 * Resolves with the first rule broken, or `ok`; rejects only when no SHA-256 is available
 * (WebCrypto needs a secure context in browsers: https, or http on localhost).
 */
export declare function verifyTimeline(answer: unknown, options?: VerifyTimelineOptions): Promise<TimelineVerification>;
