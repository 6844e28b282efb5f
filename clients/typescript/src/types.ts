// Refinements of generated types whose schema is looser than the protocol (a JSON Schema
// cannot say "data depends on type"), or stricter than what the SDK must accept (a server
// before protocol 1.2 sends no `location_cadence`). The package root exports these under
// the generated names, so `TimelineEvent`, `SessionSnapshot` etc. are the ones to use.
import type {
  ArrivalStage,
  Cadence,
  Mediums,
  PutProviderStatusBody as GeneratedPutProviderStatusBody,
  RatingBody,
  SessionSnapshot as GeneratedSessionSnapshot,
  SessionTimeline as GeneratedSessionTimeline,
  TimelineEvent as GeneratedTimelineEvent,
  TimelineEventType,
} from './generated/protocol.js';

/** `telegram`, `whatsapp` or `call`. */
export type MediumName = keyof Mediums;

/** `PUT /api/v1/provider/status` body. */
export type PutProviderStatusBody = Omit<GeneratedPutProviderStatusBody, 'service_types'> & {
  /** 1-20 names of 1-64 characters when active. */
  service_types?: string[] | null;
};

/** The `data` of a timeline event, by its `type`. */
export interface TimelineEventDataByType {
  work_created: Record<string, never>;
  work_accepted: Record<string, never>;
  chat_started: Record<string, never>;
  /** The mediums' names, sorted (never the numbers). */
  mediums_selected: { mediums: MediumName[] };
  /** The mediums' names, sorted (never the numbers). */
  mediums_shared: { mediums: MediumName[] };
  session_active: Record<string, never>;
  arrival: { stage: ArrivalStage };
  cancelled: Record<string, never>;
  completed: Record<string, never>;
}

// A new event type in the schema fails the build here until its `data` is described.
type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type MustBeTrue<T extends true> = T;
type _EveryTimelineEventTypeHasData = MustBeTrue<Exactly<keyof TimelineEventDataByType, TimelineEventType>>;

/**
 * One timeline event, `{seq, type, at, actor_role, data, prev_hash, hash}`; `data` is typed
 * by `type` (narrow on `type` to read it).
 */
export type TimelineEvent = {
  [T in TimelineEventType]: Omit<GeneratedTimelineEvent, 'type' | 'data'> & { type: T; data: TimelineEventDataByType[T] };
}[TimelineEventType];

/** `GET /api/v1/sessions/{session_id}/timeline` answer. */
export type SessionTimeline = Omit<GeneratedSessionTimeline, 'events'> & {
  /** Oldest first, `seq` 1, 2, 3, ... */
  events: TimelineEvent[];
};

/**
 * A rating, as the socket's `finish_service` (seeker) and `POST .../rating` both take it:
 * `rating_stars` an integer 1-5, `rating_description` at most 1000 characters.
 */
export type Rating = RatingBody;

/**
 * Session snapshot. `location_cadence` (protocol 1.2: `{band, interval_s, min_move_m}` while
 * active, null otherwise) is optional here: a server before 1.2 does not send it.
 */
export type SessionSnapshot = Omit<GeneratedSessionSnapshot, 'location_cadence'> & {
  location_cadence?: Cadence | null;
};
