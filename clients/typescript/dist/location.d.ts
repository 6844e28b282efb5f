import { TetherError } from './errors.js';
import type { TetherSession } from './session.js';
/** A position fix from the device. */
export interface LocationFix {
    /** Degrees, [-90, 90]. */
    latitude: number;
    /** Degrees, [-180, 180]. */
    longitude: number;
    /** The fix's accuracy radius in metres; absent for a precise fix (see `updateLocation`). */
    accuracyM?: number;
}
/** Options of {@link LocationReporter}. */
export interface LocationReporterOptions {
    /**
     * The server refused a fix (`validation`, `not_found`, `conflict`, ...). Fixes that never
     * reached it (the socket was not open or dropped) or that it was too busy for
     * (`unavailable`, `rate_limited`) are not errors: the reporter keeps the latest and sends
     * it once connected, or after the server's `retry_after_ms`.
     */
    onError?: (error: TetherError, fix: LocationFix) => void;
    /** Clock in milliseconds (default `Date.now`). */
    now?: () => number;
}
/** Haversine distance in metres between two points (Earth radius 6371 km, as the server computes). */
export declare function haversineMeters(a: {
    latitude: number;
    longitude: number;
}, b: {
    latitude: number;
    longitude: number;
}): number;
/**
 * Sends a party's fixes for its session, following the server's location cadence: give it
 * every fix the device reports ({@link report}) and it sends
 * - before the session has a cadence (a server before protocol 1.2, or none announced yet):
 *   every fix at once, as `updateLocation` would;
 * - with a cadence: the first fix of the session at once, then at most one fix every
 *   `interval_s` seconds and only once the position is `min_move_m` metres or more from the
 *   last one sent (the latest fix waits for the interval to pass, then goes by itself);
 * - with `interval_s: 0` (band `arrived`): nothing, until the server announces another cadence.
 *
 * Fixes wait while there is no session (the latest is sent once one starts) and while the
 * socket is not open (the latest is sent on reconnect); a fix lost with a dropped socket is
 * kept like one that never left. Call `dispose()` when done.
 */
export declare class LocationReporter {
    #private;
    constructor(session: TetherSession, options?: LocationReporterOptions);
    /** Gives the reporter the device's newest fix; it sends it now, later, or not at all. */
    report(fix: LocationFix): void;
    /** The last fix sent in the current session (null before one). */
    get lastSent(): LocationFix | null;
    /** The latest fix that waits (for the interval, a move, a session, the socket, or a cadence that allows sending). */
    get waiting(): LocationFix | null;
    /** When the waiting fix goes by itself (ms since the epoch), if it will. */
    get dueAt(): number | null;
    /** Stops: nothing more is sent. */
    dispose(): void;
}
