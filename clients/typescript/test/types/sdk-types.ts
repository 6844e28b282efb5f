// Type-level tests of the SDK's surface, compiled with `tsc --strict --noEmit` by
// test/types.test.mjs. Every `@ts-expect-error` must be an error, everything else must
// compile.
import { WebSocket as NodeWebSocket } from 'ws';
import {
  ProviderClient,
  SeekerClient,
  TetherApi,
  TetherConnectionError,
  TetherError,
  type ClientOptions,
  type ErrorBody,
  type Rating,
  type SessionTimeline,
  type StateInfo,
  type TimelineEvent,
  type WebSocketFactory,
} from '@tether/client';
import * as sdk from '@tether/client';

// `ws`'s WebSocket fits without a cast.
const factory: WebSocketFactory = NodeWebSocket;
const options: ClientOptions = { url: 'ws://127.0.0.1:8080', token: 'a.b.c', WebSocket: factory };
// A provider may return nothing (then: `no_token`), a string, or a promise of either.
const providerOptions: ClientOptions = { url: 'https://edge', token: async () => (Math.random() > 0.5 ? 'jwt' : undefined) };

const seeker = new SeekerClient(options);
const provider = new ProviderClient(providerOptions);

// Typed events per role.
seeker.on('work_accepted', (m) => m.session_id.toUpperCase());
provider.on('work_assigned', (m) => m.work_id.toFixed());
// @ts-expect-error a seeker never receives work_assigned
seeker.on('work_assigned', () => {});
// @ts-expect-error not a message type
provider.on('no_such_message', () => {});

// on / once / waitFor on a union of the two clients.
const either: SeekerClient | ProviderClient = Math.random() > 0.5 ? seeker : provider;
either.on('chat_message', (m) => m.message_id.length);
either.once('service_finished', (m) => m.session_id);
async function waits(): Promise<string> {
  const message = await either.waitFor('chat_message', { timeoutMs: 1000, filter: (m) => m.session_id === 's' });
  const assigned = await provider.waitFor('work_assigned');
  return message.message + assigned.service_type;
}
void waits;

// Fire-and-forget commands return promises (safe not to await).
const located: Promise<void> = seeker.updateLocation('s', 1, 2, 10);
const typed: Promise<void> = either.typing('s', true);
const read: Promise<void> = either.markRead('m');
const delivered: Promise<void> = provider.markDelivered('m');
void [located, typed, read, delivered];

// Outgoing messages are checked by the generated types.
// @ts-expect-error chat_message needs its text
void seeker.request({ type: 'chat_message', session_id: 's' });
// @ts-expect-error work_response is a provider command
void seeker.request({ type: 'work_response', work_id: 1, accepted: true });
void provider.request({ type: 'work_response', work_id: 1, accepted: true });

// One rating shape on the socket and over HTTP.
const rating: Rating = { rating_stars: 5, rating_description: 'Great' };
void seeker.finish('s', rating);
const api = new TetherApi(options); // the socket client's options fit as they are
void api.rate('s', rating);
// @ts-expect-error the old socket-only shape is gone
void seeker.finish('s', { stars: 5 });

// service_types are strings; timeline data is typed by event type.
void api.putProviderStatus({ is_active: true, service_types: ['plumbing'], latitude: 1, longitude: 2 });
// @ts-expect-error service types are strings
void api.putProviderStatus({ is_active: true, service_types: [1] });
function stages(timeline: SessionTimeline): string[] {
  return timeline.events.map((event: TimelineEvent) => {
    if (event.type === 'arrival') return event.data.stage;
    if (event.type === 'mediums_selected' || event.type === 'mediums_shared') return event.data.mediums.join();
    const empty: Record<string, never> = event.data; // the others carry `{}`
    return Object.keys(empty).join();
  });
}
void stages;

// Errors: typed, with the connection's status; the HTTP error body is ErrorBody, and no
// export shadows the global Error.
function describe(error: unknown, state: StateInfo): string {
  if (error instanceof TetherConnectionError) return `${error.code} ${error.status ?? ''} ${error.closeCode ?? ''}`;
  if (error instanceof TetherError) return `${error.code} ${error.retryAfterMs ?? ''}`;
  return state.error?.status?.toString() ?? '';
}
void describe;
const body: ErrorBody = { error: 'e', code: 'unavailable' };
void body;
// @ts-expect-error the generated HTTP error body is no longer exported as `Error`
type Shadow = sdk.Error;

// ---- the session object, the location reporter, the timeline verifier, protocol 1.2 ----
import {
  LocationReporter,
  TetherSession,
  verifyTimeline,
  type Cadence,
  type PeerPresence,
  type ServerLocationCadence,
  type SessionMessage,
  type SessionSnapshot,
} from '@tether/client';

// location_cadence (protocol 1.2) is a typed event on both clients.
seeker.on('location_cadence', (m: ServerLocationCadence) => m.interval_s.toFixed());
either.on('location_cadence', (m) => m.band);
provider.on('arrival_update', (m) => m.stage);
seeker.on('peer_status', (m) => m.status);
seeker.on('distance_update', (m) => `${m.trend ?? ''} ${m.eta_seconds ?? ''}`);
// @ts-expect-error not a band
const band: Cadence['band'] = 'very_far';
void band;

const session = new TetherSession(either, { api });
session.on('stage', (stage) => stage.toUpperCase());
session.on('presence', (presence: PeerPresence) => presence.status);
session.on('cadence', (cadence) => cadence?.interval_s);
session.on('distance', (d) => [d.trend, d.etaSeconds, d.meters]);
session.on('message', (m: SessionMessage) => (m.mine ? m.delivery_status : m.message));
// @ts-expect-error not a session event
session.on('nope', () => {});
const messages: readonly SessionMessage[] = session.messages;
void messages;
async function chat(): Promise<string | null> {
  const sent = await session.sendChat('hello');
  return sent.message_id;
}
void chat;

const reporter = new LocationReporter(session, { onError: (error) => error.code });
reporter.report({ latitude: 52.52, longitude: 13.405, accuracyM: 8 });
// @ts-expect-error a fix needs both coordinates
reporter.report({ latitude: 52.52 });

async function snapshotAndTimeline(id: string): Promise<boolean> {
  const snapshot: SessionSnapshot = await api.getSession(id);
  const cadence: Cadence | null | undefined = snapshot.location_cadence; // absent before 1.2
  const result = await verifyTimeline(await api.timeline(id));
  return result.ok ? result.headHash.length === 64 && cadence !== undefined : result.reason.length > 0;
}
void snapshotAndTimeline;
