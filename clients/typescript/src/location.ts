// Sending one's position as the server asks (protocol 1.2's `location_cadence`): the app
// reports every fix it gets, the reporter decides which to send.
import type { StateInfo } from './client.js';
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

/** Earth radius of the protocol's distances, metres. */
const EARTH_RADIUS_M = 6_371_000;

/** Haversine distance in metres between two points (Earth radius 6371 km, as the server computes). */
export function haversineMeters(
  a: { latitude: number; longitude: number },
  b: { latitude: number; longitude: number },
): number {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

const NOT_SENT = new Set(['not_connected', 'disconnected', 'closed']);
/** When the server was busy and said not when to try again. */
const BUSY_RETRY_MS = 1_000;

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
export class LocationReporter {
  readonly #session: TetherSession;
  readonly #onError: ((error: TetherError, fix: LocationFix) => void) | undefined;
  readonly #now: () => number;
  readonly #unsubscribe: (() => void)[] = [];
  /** The latest fix not sent yet. */
  #latest: LocationFix | null = null;
  #lastSent: { fix: LocationFix; at: number; sessionId: string } | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #dueAt: number | null = null;
  #disposed = false;

  constructor(session: TetherSession, options: LocationReporterOptions = {}) {
    this.#session = session;
    this.#onError = options.onError;
    this.#now = options.now ?? Date.now;
    this.#unsubscribe.push(
      session.on('session', () => {
        this.#lastSent = null;
        this.#consider();
      }),
      session.on('cadence', () => this.#consider()),
      session.on('state', () => this.#consider()),
      session.client.onState((info: StateInfo) => {
        if (info.state === 'open') this.#consider();
      }),
    );
  }

  /** Gives the reporter the device's newest fix; it sends it now, later, or not at all. */
  report(fix: LocationFix): void {
    if (this.#disposed) return;
    this.#latest = { ...fix };
    this.#consider();
  }

  /** The last fix sent in the current session (null before one). */
  get lastSent(): LocationFix | null {
    return this.#lastSent && this.#lastSent.sessionId === this.#session.id ? this.#lastSent.fix : null;
  }

  /** The latest fix that waits (for the interval, a move, a session, the socket, or a cadence that allows sending). */
  get waiting(): LocationFix | null {
    return this.#latest;
  }

  /** When the waiting fix goes by itself (ms since the epoch), if it will. */
  get dueAt(): number | null {
    return this.#dueAt;
  }

  /** Stops: nothing more is sent. */
  dispose(): void {
    this.#disposed = true;
    this.#clearTimer();
    clearTimeout(this.#retryTimer);
    for (const off of this.#unsubscribe.splice(0)) off();
  }

  #clearTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#dueAt = null;
  }

  #consider(): void {
    this.#clearTimer();
    const fix = this.#latest;
    const session = this.#session;
    if (!fix || this.#disposed || !session.id || session.ended) return;
    if (session.client.state.state !== 'open') return; // sent on the next open
    const cadence = session.cadence;
    if (!cadence) {
      this.#send(fix, session.id); // no cadence (yet): every fix, as before 1.2
      return;
    }
    if (cadence.interval_s <= 0) return; // `arrived`: stop until told otherwise
    const last = this.#lastSent?.sessionId === session.id ? this.#lastSent : null;
    if (!last) {
      this.#send(fix, session.id);
      return;
    }
    if (haversineMeters(last.fix, fix) < cadence.min_move_m) return; // waits for a fix that moved enough
    const due = last.at + cadence.interval_s * 1000;
    const now = this.#now();
    if (now >= due) {
      this.#send(fix, session.id);
      return;
    }
    this.#dueAt = due;
    this.#timer = setTimeout(() => this.#consider(), due - now);
  }

  #send(fix: LocationFix, sessionId: string): void {
    this.#latest = null;
    const previous = this.#lastSent;
    const sent = { fix, at: this.#now(), sessionId };
    this.#lastSent = sent;
    this.#session.client.updateLocation(sessionId, fix.latitude, fix.longitude, fix.accuracyM).catch((error: unknown) => {
      const failure = error instanceof TetherError ? error : new TetherError('internal', String(error));
      const busy = failure.code === 'unavailable' || failure.code === 'rate_limited';
      if (NOT_SENT.has(failure.code) || busy) {
        // Not taken: as if not sent, unless a newer fix has taken its place. Sent again on
        // the next open, or after the server's `retry_after_ms` when it was busy.
        if (this.#lastSent === sent) this.#lastSent = previous;
        if (this.#latest === null) this.#latest = fix;
        if (busy && !this.#disposed) {
          clearTimeout(this.#retryTimer);
          this.#retryTimer = setTimeout(() => this.#consider(), failure.retryAfterMs ?? BUSY_RETRY_MS);
        }
        return;
      }
      this.#onError?.(failure, fix);
    });
  }
}
