// TetherSession against a fake WebSocket (and a fake fetch for its refreshes): state,
// distance with trend and ETA, arrival stage, presence, cadence (and its absence), the
// messages with their receipts, the end, and the snapshot and history after a reconnect.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';

import { ProviderClient, SeekerClient, TetherApi, TetherError, TetherSession } from '../dist/index.js';
import { FakeWebSocket, fakeToken, probeFetch, sleep, until } from './fake-websocket.mjs';

const hourFromNow = () => Math.floor(Date.now() / 1000) + 3600;
const disposables = [];

function client(Role = SeekerClient, options = {}) {
  const c = new Role({
    url: 'http://edge.test',
    token: () => fakeToken(hourFromNow()),
    WebSocket: FakeWebSocket,
    fetch: probeFetch(undefined).impl,
    random: () => 0.5,
    backoffBaseMs: 1,
    ...options,
  });
  disposables.push(c);
  return c;
}

function session(c, options) {
  const s = new TetherSession(c, options);
  disposables.push(s);
  return s;
}

async function connected(c) {
  const opened = c.connect();
  await until(() => FakeWebSocket.last?.onopen && c.state.state === 'connecting');
  FakeWebSocket.last.serverOpen();
  await opened;
  return FakeWebSocket.last;
}

/** Records every event of `s` as [type, value]. */
function record(s) {
  const events = [];
  for (const type of ['session', 'state', 'distance', 'stage', 'presence', 'cadence', 'message', 'typing', 'error']) {
    s.on(type, (value) => events.push([type, value]));
  }
  return events;
}

const S1 = '11111111-1111-4111-8111-111111111111';
const S2 = '22222222-2222-4222-8222-222222222222';
const t = (s) => `2026-12-07T10:00:${String(s).padStart(2, '0')}.000Z`;

const accepted = (sessionId = S1, workId = 7) => ({
  type: 'work_accepted',
  work_id: workId,
  session_id: sessionId,
  connection_state: 'waiting',
  message: 'Provider accepted your request',
  timestamp: t(0),
});
const distance = (meters, trend = null, eta = null, at = t(1)) => ({
  type: 'distance_update',
  session_id: S1,
  distance_meters: meters,
  distance_formatted: `${Math.round(meters)} meters away`,
  trend,
  eta_seconds: eta,
  timestamp: at,
});
const incoming = (id, text, at = t(5), sessionId = S1) => ({
  type: 'chat_message',
  message_id: id,
  session_id: sessionId,
  sender_type: 'provider',
  message: text,
  delivery_status: 'sent',
  timestamp: at,
  delivered_at: null,
  read_at: null,
});

beforeEach(() => FakeWebSocket.reset());
afterEach(() => {
  for (const d of disposables.splice(0)) (d.dispose ?? d.close).call(d);
});

test('follows the session: state, distance with trend and ETA, closer stages only, presence, cadence', async () => {
  const seeker = client();
  const s = session(seeker);
  const events = record(s);
  const ws = await connected(seeker);
  assert.equal(s.id, null);

  ws.serverSend(accepted());
  assert.equal(s.id, S1);
  assert.equal(s.workId, 7);
  assert.equal(s.state, 'waiting');
  ws.serverSend({ type: 'provider_mediums_shared', session_id: S1, mediums: { whatsapp: '+4915100000002' }, timestamp: t(1) });
  assert.deepEqual(s.peerMediums, { whatsapp: '+4915100000002' });
  ws.serverSend({ type: 'mediums_selected', session_id: S1, mediums: { call: '+4915100000001' }, connection_state: 'active', timestamp: t(2) });
  assert.equal(s.state, 'active');
  assert.deepEqual(s.ownMediums, { call: '+4915100000001' });

  ws.serverSend(distance(640.2));
  assert.deepEqual(s.distance, { meters: 640.2, formatted: '640 meters away', trend: null, etaSeconds: null, at: t(1) });
  ws.serverSend(distance(420, 'approaching', 84, t(3)));
  ws.serverSend({ type: 'arrival_update', session_id: S1, stage: 'approaching_500', distance_meters: 420, distance_formatted: '420 meters away', timestamp: t(3) });
  assert.equal(s.trend, 'approaching');
  assert.equal(s.etaSeconds, 84);
  assert.equal(s.stage, 'approaching_500');
  // Stages only ever come closer (a repeat or a farther one changes nothing).
  ws.serverSend({ type: 'arrival_update', session_id: S1, stage: 'arrived', distance_meters: 30, distance_formatted: '30 meters away', timestamp: t(4) });
  ws.serverSend({ type: 'arrival_update', session_id: S1, stage: 'approaching_100', distance_meters: 90, distance_formatted: '90 meters away', timestamp: t(5) });
  assert.equal(s.stage, 'arrived');

  ws.serverSend({ type: 'peer_status', session_id: S1, peer_role: 'provider', status: 'stale', last_seen: t(2), timestamp: t(6) });
  assert.deepEqual(s.peer, { status: 'stale', lastSeen: t(2), at: t(6) });
  ws.serverSend({ type: 'location_cadence', session_id: S1, band: 'close', interval_s: 5, min_move_m: 10, timestamp: t(6) });
  assert.deepEqual(s.cadence, { band: 'close', interval_s: 5, min_move_m: 10 });
  ws.serverSend({ type: 'typing_indicator', session_id: S1, user_type: 'provider', is_typing: true, timestamp: t(7) });
  assert.equal(s.peerTyping, true);

  // Events of another session are not this one's while it is open.
  ws.serverSend({ ...distance(5), session_id: S2 });
  assert.equal(s.distance.meters, 420);

  assert.deepEqual(
    events.map(([type, value]) => [type, typeof value === 'object' && value !== null ? (value.sessionId ?? value.meters ?? value.status ?? value.band) : value]),
    [
      ['session', S1],
      ['state', 'waiting'],
      ['state', 'active'],
      ['distance', 640.2],
      ['distance', 420],
      ['stage', 'approaching_500'],
      ['stage', 'arrived'],
      ['presence', 'stale'],
      ['cadence', 'close'],
      ['typing', true],
    ],
  );
});

test('typed wire events: location_cadence, arrival_update, peer_status on the clients', async () => {
  const provider = client(ProviderClient);
  const ws = await connected(provider);
  const got = [];
  provider.on('location_cadence', (m) => got.push(`${m.band} ${m.interval_s}s ${m.min_move_m}m`));
  provider.on('arrival_update', (m) => got.push(m.stage));
  provider.on('peer_status', (m) => got.push(`${m.peer_role} ${m.status}`));
  ws.serverSend({ type: 'location_cadence', session_id: S1, band: 'far', interval_s: 60, min_move_m: 200, timestamp: t(0) });
  ws.serverSend({ type: 'arrival_update', session_id: S1, stage: 'approaching_100', distance_meters: 99, distance_formatted: '99 meters away', timestamp: t(1) });
  ws.serverSend({ type: 'peer_status', session_id: S1, peer_role: 'seeker', status: 'offline', last_seen: null, timestamp: t(2) });
  assert.deepEqual(got, ['far 60s 200m', 'approaching_100', 'seeker offline']);
});

test('a server without location_cadence (1.1): no cadence, and a snapshot without the field keeps it null', async () => {
  const seeker = client();
  const api = fakeApi({ snapshot: snapshotOf({ connection_state: 'active' }), messages: [] });
  const s = session(seeker, { api: api.api });
  const ws = await connected(seeker);
  ws.serverSend(accepted());
  ws.serverSend(distance(800, 'stationary'));
  await until(() => api.calls.includes(`/api/v1/sessions/${S1}`));
  await until(() => s.state === 'active');
  assert.equal(s.cadence, null);
  assert.equal(s.distance.trend, 'stationary', 'a live distance is newer than the snapshot');
  // With 1.2 the snapshot carries it.
  api.snapshot = snapshotOf({ connection_state: 'active', location_cadence: { band: 'near', interval_s: 15, min_move_m: 50 } });
  await s.refresh();
  assert.deepEqual(s.cadence, { band: 'near', interval_s: 15, min_move_m: 50 });
});

test('messages: incoming, own with local echo, a receipt before its message_sent, redacted, and sends through the client', async () => {
  const seeker = client();
  const s = session(seeker);
  const ws = await connected(seeker);
  ws.serverSend(accepted());

  ws.serverSend(incoming('m1', 'Call me at [hidden]', t(5)));
  ws.lastOf('message_delivered'); // acknowledged by the client
  assert.equal(s.messages.length, 1);
  assert.deepEqual(
    { ...s.messages[0] },
    { message_id: 'm1', session_id: S1, sender_type: 'provider', message: 'Call me at [hidden]', delivery_status: 'sent', timestamp: t(5), delivered_at: null, read_at: null, mine: false, pending: false },
  );
  assert.equal(s.unread.length, 1);
  assert.equal(s.chatStartedAt, t(5));

  // Own message: shown at once, stored on message_sent; a fast reader's receipt may come first.
  const sending = s.sendChat('  On my way, +49 151 2345678  ');
  assert.equal(s.messages.at(-1).pending, true);
  assert.equal(s.messages.at(-1).message_id, null);
  assert.equal(s.messages.at(-1).message, 'On my way, +49 151 2345678');
  const frame = ws.lastOf('chat_message');
  ws.serverSend({ type: 'message_status_update', message_id: 'm2', status: 'read', timestamp: t(9) });
  ws.serverSend({ type: 'message_sent', message_id: 'm2', session_id: S1, timestamp: t(8), redacted: true, request_id: frame.request_id });
  const stored = await sending;
  assert.equal(stored.message_id, 'm2');
  assert.equal(stored.client_message_id, frame.client_message_id);
  assert.equal(stored.redacted, true);
  assert.equal(stored.pending, false);
  assert.equal(stored.delivery_status, 'read');
  assert.equal(stored.delivered_at, t(9));
  assert.equal(stored.read_at, t(9));
  assert.deepEqual(s.messages.map((m) => m.message_id), ['m1', 'm2']);

  // Sent through the client directly: the text comes from the command the answer answered.
  const direct = seeker.sendChat(S1, 'Second');
  ws.serverSend({ type: 'message_sent', message_id: 'm3', session_id: S1, timestamp: t(10), request_id: ws.lastOf('chat_message').request_id });
  await direct;
  assert.deepEqual(s.messages.map((m) => [m.message_id, m.message, m.mine]), [['m1', 'Call me at [hidden]', false], ['m2', 'On my way, +49 151 2345678', true], ['m3', 'Second', true]]);

  // Receipts only move forward; each change is a new object.
  const before = s.messages[2];
  ws.serverSend({ type: 'message_status_update', message_id: 'm3', status: 'delivered', timestamp: t(11) });
  ws.serverSend({ type: 'message_status_update', message_id: 'm3', status: 'read', timestamp: t(12) });
  ws.serverSend({ type: 'message_status_update', message_id: 'm3', status: 'delivered', timestamp: t(13) });
  assert.notEqual(s.messages[2], before);
  assert.deepEqual([s.messages[2].delivery_status, s.messages[2].delivered_at, s.messages[2].read_at], ['read', t(11), t(12)]);

  // Reading the other party's message: read once the server has the receipt.
  const read = s.markRead('m1');
  await until(() => ws.lastOf('ping'));
  ws.answerPings();
  await read;
  assert.equal(s.messages[0].delivery_status, 'read');
  assert.equal(s.unread.length, 0);
});

test('a message that cannot be sent is marked failed', async () => {
  const seeker = client();
  const s = session(seeker);
  const ws = await connected(seeker);
  ws.serverSend(accepted());
  const sending = s.sendChat('hello');
  ws.serverSend({ type: 'error', code: 'conflict', error: 'Session is not waiting or active', request_id: ws.lastOf('chat_message').request_id });
  await assert.rejects(sending, (e) => e instanceof TetherError && e.code === 'conflict');
  const [failed] = s.messages;
  assert.equal(failed.pending, false);
  assert.equal(failed.error.code, 'conflict');
  assert.equal(failed.message_id, null);
  await assert.rejects(session(client()).sendChat('no session'), (e) => e.code === 'not_connected');
});

test('the end: state, who ended it, cadence and presence cleared; the next session is taken up', async () => {
  const provider = client(ProviderClient);
  const s = session(provider);
  const ws = await connected(provider);
  ws.serverSend(accepted());
  ws.serverSend({ type: 'seeker_mediums_selected', session_id: S1, mediums: { call: '+4915100000001' }, connection_state: 'active', message: 'm', timestamp: t(1) });
  ws.serverSend({ type: 'location_cadence', session_id: S1, band: 'near', interval_s: 15, min_move_m: 50, timestamp: t(1) });
  ws.serverSend({ type: 'peer_status', session_id: S1, peer_role: 'seeker', status: 'online', last_seen: t(1), timestamp: t(1) });
  ws.serverSend({ type: 'connection_cancelled', session_id: S1, cancelled_by: 'seeker', message: 'Seeker cancelled the connection', timestamp: t(2) });
  assert.equal(s.state, 'cancelled');
  assert.equal(s.ended, true);
  assert.equal(s.endedBy, 'seeker');
  assert.equal(s.cadence, null);
  assert.equal(s.peer.status, null);
  ws.serverSend(distance(100)); // late: changes nothing
  assert.equal(s.distance, null);

  // After the end, the first event of another session takes it up (here: on connect).
  ws.serverSend({ type: 'peer_status', session_id: S2, peer_role: 'seeker', status: 'online', last_seen: t(3), timestamp: t(3) });
  assert.equal(s.id, S2);
  assert.equal(s.state, null, 'unknown until a snapshot or an event says');
  assert.equal(s.peer.status, 'online');
  // The canceller's own message has no cancelled_by: it was this side.
  ws.serverSend({ type: 'service_finished', session_id: S2, message: 'Service marked as finished successfully', timestamp: t(4) });
  assert.deepEqual([s.state, s.endedBy], ['completed', 'provider']);
});

test('pinned to a session id, other sessions are ignored', async () => {
  const seeker = client();
  const s = session(seeker, { sessionId: S2 });
  const ws = await connected(seeker);
  ws.serverSend(accepted(S1));
  ws.serverSend(incoming('m1', 'hi', t(1), S1));
  assert.equal(s.id, S2);
  assert.equal(s.messages.length, 0);
  ws.serverSend(incoming('m2', 'hello', t(2), S2));
  assert.deepEqual(s.messages.map((m) => m.message_id), ['m2']);
});

test('with an API: snapshot and history when a session is taken up and after each reconnect', async () => {
  const seeker = client();
  const api = fakeApi({
    snapshot: snapshotOf({
      connection_state: 'active',
      current_distance_meters: 320.5,
      distance_formatted: '321 meters away',
      arrival_stage: 'approaching_500',
      peer_status: 'offline',
      peer_last_seen: t(1),
      provider_mediums: { call: '+4915100000002' },
      chat_started_at: t(2),
    }),
    messages: [
      { message_id: 'h1', session_id: S1, sender_type: 'seeker', message: 'mine, read', delivery_status: 'read', timestamp: t(3), delivered_at: t(4), read_at: t(5) },
      { message_id: 'h2', session_id: S1, sender_type: 'provider', message: 'Call me [hidden]', redacted: true, delivery_status: 'delivered', timestamp: t(6), delivered_at: t(6), read_at: null },
    ],
  });
  const s = session(seeker, { api: api.api });
  const ws = await connected(seeker);
  // On connect: no session yet, so the role's active one is asked for.
  await until(() => s.state === 'active');
  assert.deepEqual(api.calls.slice(0, 2), ['/api/v1/sessions/active?role=seeker', `/api/v1/sessions/${S1}/messages?limit=50`]);
  assert.equal(s.id, S1);
  assert.deepEqual(s.distance, { meters: 320.5, formatted: '321 meters away', trend: null, etaSeconds: null, at: null });
  assert.equal(s.stage, 'approaching_500');
  assert.deepEqual(s.peer, { status: 'offline', lastSeen: t(1), at: null });
  assert.deepEqual(s.peerMediums, { call: '+4915100000002' });
  assert.deepEqual(s.messages.map((m) => [m.message_id, m.mine, m.delivery_status, m.redacted ?? false]), [['h1', true, 'read', false], ['h2', false, 'delivered', true]]);

  // Missed while offline: a closer stage and a read receipt; the refresh after the reconnect has them.
  api.snapshot = { ...api.snapshot, arrival_stage: 'arrived', current_distance_meters: 35, distance_formatted: '35 meters away', peer_status: 'online' };
  api.messages = [...api.messages, { message_id: 'h3', session_id: S1, sender_type: 'provider', message: 'here', delivery_status: 'sent', timestamp: t(7), delivered_at: null, read_at: null }];
  const calls = api.calls.length;
  ws.serverClose(1012, 'restart');
  const next = await (async () => {
    await until(() => FakeWebSocket.instances.length === 2 && FakeWebSocket.last.onopen);
    return FakeWebSocket.last;
  })();
  next.serverOpen();
  await until(() => s.stage === 'arrived');
  assert.equal(api.calls[calls], `/api/v1/sessions/${S1}`, 'the followed session is asked for by id');
  assert.equal(s.distance.meters, 35);
  assert.equal(s.peer.status, 'online');
  assert.deepEqual(s.messages.map((m) => m.message_id), ['h1', 'h2', 'h3']);
});

test('a history read that brings one\'s own message before its message_sent leaves one copy', async () => {
  const seeker = client();
  const api = fakeApi({ snapshot: snapshotOf({ connection_state: 'active' }), messages: [] });
  const s = session(seeker, { api: api.api });
  const ws = await connected(seeker);
  ws.serverSend(accepted());
  await until(() => s.state === 'active');
  const sending = s.sendChat('hello');
  api.messages = [{ message_id: 'm9', session_id: S1, sender_type: 'seeker', message: 'hello', delivery_status: 'sent', timestamp: t(20), delivered_at: null, read_at: null }];
  await s.refresh();
  assert.deepEqual(s.messages.map((m) => [m.message_id, m.pending]), [['m9', false], [null, true]]);
  ws.serverSend({ type: 'message_sent', message_id: 'm9', session_id: S1, timestamp: t(20), request_id: ws.lastOf('chat_message').request_id });
  assert.equal((await sending).message_id, 'm9');
  assert.deepEqual(s.messages.map((m) => [m.message_id, m.pending, m.message]), [['m9', false, 'hello']]);
});

test('refresh() resolves once a read that started after the call is applied (reads run one at a time)', async () => {
  const seeker = client();
  const api = fakeApi({ snapshot: snapshotOf({ connection_state: 'active', peer_status: 'online' }), messages: [], delayMs: 40 });
  await connected(seeker);
  // Made on an open client: it reads by itself after 50 ms, while this read is under way.
  const s = session(seeker, { api: api.api });
  await s.refresh();
  assert.equal(s.state, 'active');
  assert.equal(s.peer.status, 'online');
  api.snapshot = { ...api.snapshot, peer_status: 'stale' };
  const [a, b, c] = [s.refresh(), s.refresh(), s.refresh()];
  assert.equal(b, c, 'one queued read serves every call made while one runs');
  await Promise.all([a, b, c]);
  assert.equal(s.peer.status, 'stale');
});

test('a failed refresh is an error event; the session keeps what it had', async () => {
  const seeker = client();
  const api = fakeApi({ snapshot: null, messages: [], fail: 503 });
  const s = session(seeker, { api: api.api });
  const events = record(s);
  const errors = () => events.filter(([type]) => type === 'error').map(([, error]) => error);
  const ws = await connected(seeker);
  ws.serverSend(accepted());
  await until(() => errors().length > 0);
  assert.equal(errors()[0].code, 'unavailable');
  assert.equal(s.state, 'waiting');
  await sleep(0);
});

// ---- helpers: a fake HTTP API ----

function snapshotOf(fields) {
  return {
    session_id: S1,
    work_id: 7,
    role: 'seeker',
    connection_state: 'waiting',
    seeker_mediums: null,
    provider_mediums: null,
    current_distance_meters: null,
    distance_formatted: null,
    chat_room_id: S1,
    chat_started_at: null,
    created_at: t(0),
    cancelled_at: null,
    cancelled_by: null,
    completed_at: null,
    completed_by: null,
    arrival_stage: null,
    peer_status: null,
    peer_last_seen: null,
    ...fields,
  };
}

function fakeApi(state) {
  const calls = [];
  const fetch = async (url) => {
    if (state.delayMs) await sleep(state.delayMs);
    const { pathname, search } = new URL(url);
    calls.push(pathname + search);
    const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    if (state.fail) return json(state.fail, { error: 'Service unavailable', code: 'unavailable' });
    if (pathname.endsWith('/messages')) return json(200, { messages: state.messages, has_more: false });
    if (!state.snapshot) return json(404, { error: 'No active session', code: 'not_found' });
    return json(200, state.snapshot);
  };
  state.calls = calls;
  state.api = new TetherApi({ url: 'http://edge.test', token: 't', fetch });
  return state;
}
