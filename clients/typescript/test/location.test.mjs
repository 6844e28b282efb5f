// LocationReporter against a fake WebSocket: every fix before a cadence (as before 1.2),
// then at most one per interval_s and only after min_move_m, nothing at `arrived`, and the
// latest fix kept while there is no session or no socket. Intervals are fractions of a
// second here (the server's are whole seconds) so the tests run in real time.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';

import { LocationReporter, SeekerClient, TetherSession, haversineMeters } from '../dist/index.js';
import { FakeWebSocket, fakeToken, probeFetch, sleep, until } from './fake-websocket.mjs';

const disposables = [];
const S1 = '11111111-1111-4111-8111-111111111111';
const S2 = '22222222-2222-4222-8222-222222222222';

/** A connected seeker, its session and reporter, and the socket. */
async function setup(options = {}) {
  const client = new SeekerClient({
    url: 'http://edge.test',
    token: () => fakeToken(Math.floor(Date.now() / 1000) + 3600),
    WebSocket: FakeWebSocket,
    fetch: probeFetch(undefined).impl,
    random: () => 0.5,
    backoffBaseMs: 1,
  });
  const session = new TetherSession(client);
  const errors = [];
  const reporter = new LocationReporter(session, { onError: (error, fix) => errors.push([error.code, fix]), ...options });
  disposables.push(reporter, session, client);
  const opened = client.connect();
  await until(() => FakeWebSocket.last?.onopen);
  FakeWebSocket.last.serverOpen();
  await opened;
  return { client, session, reporter, ws: FakeWebSocket.last, errors };
}

const accepted = (sessionId = S1) => ({ type: 'work_accepted', work_id: 1, session_id: sessionId, connection_state: 'waiting', message: 'm', timestamp: 't' });
const cadence = (band, interval_s, min_move_m, sessionId = S1) => ({ type: 'location_cadence', session_id: sessionId, band, interval_s, min_move_m, timestamp: 't' });
/** A point `north` metres north of the start. */
const at = (north) => ({ latitude: 52.52 + north / 111_195, longitude: 13.405 });
const sentFixes = (ws) => ws.frames.filter((f) => f.type === 'location_update').map((f) => Math.round(haversineMeters(at(0), f)));

beforeEach(() => FakeWebSocket.reset());
afterEach(() => {
  for (const d of disposables.splice(0)) (d.dispose ?? d.close).call(d);
});

test('haversine with the protocol\'s Earth radius', () => {
  assert.equal(Math.round(haversineMeters({ latitude: 52.52, longitude: 13.405 }, { latitude: 52.529, longitude: 13.405 })), 1001);
  assert.equal(haversineMeters(at(0), at(0)), 0);
});

test('before any cadence (a 1.1 server): every fix is sent at once, with its accuracy', async () => {
  const { reporter, ws } = await setup();
  ws.serverSend(accepted());
  reporter.report(at(0));
  reporter.report({ ...at(1), accuracyM: 12 });
  reporter.report(at(2));
  assert.deepEqual(sentFixes(ws), [0, 1, 2]);
  assert.equal(ws.frames.filter((f) => f.type === 'location_update')[1].accuracy_m, 12);
  assert.equal(ws.lastOf('location_update').session_id, S1);
});

test('with a cadence: at most every interval_s, only after min_move_m; the waiting fix goes when the interval ends', async () => {
  const { reporter, ws } = await setup();
  ws.serverSend(accepted());
  ws.serverSend(cadence('near', 0.15, 50));
  reporter.report(at(0)); // the first fix of the session: at once
  assert.deepEqual(sentFixes(ws), [0]);
  reporter.report(at(20)); // moved 20 m < 50 m: waits
  await sleep(200);
  assert.deepEqual(sentFixes(ws), [0], 'a small move is never sent by itself');
  assert.equal(reporter.waiting.latitude, at(20).latitude);
  reporter.report(at(70)); // moved enough, and the interval is over
  assert.deepEqual(sentFixes(ws), [0, 70]);
  const sentAt = Date.now();
  reporter.report(at(130)); // moved enough, but too soon: goes by itself when the interval ends
  assert.deepEqual(sentFixes(ws), [0, 70]);
  assert.ok(reporter.dueAt >= sentAt + 100);
  reporter.report(at(140)); // the latest replaces it
  await until(() => sentFixes(ws).length === 3);
  assert.ok(Date.now() - sentAt >= 140, `sent after ${Date.now() - sentAt} ms`);
  assert.deepEqual(sentFixes(ws), [0, 70, 140]);
  assert.equal(reporter.waiting, null);
});

test('a closer band applies at once; `arrived` (interval 0) stops until another cadence', async () => {
  const { reporter, ws } = await setup();
  ws.serverSend(accepted());
  ws.serverSend(cadence('far', 60, 200));
  reporter.report(at(0));
  reporter.report(at(30)); // far: 200 m and a minute
  assert.deepEqual(sentFixes(ws), [0]);
  ws.serverSend(cadence('close', 0, 10)); // interval 0: stop
  reporter.report(at(45));
  await sleep(30);
  assert.deepEqual(sentFixes(ws), [0], 'interval 0 sends nothing');
  ws.serverSend(cadence('close', 0.02, 10)); // told otherwise: the waiting fix goes
  await until(() => sentFixes(ws).length === 2);
  assert.deepEqual(sentFixes(ws), [0, 45]);
  ws.serverSend(cadence('arrived', 0, 0));
  reporter.report(at(80));
  reporter.report(at(200));
  await sleep(50);
  assert.deepEqual(sentFixes(ws), [0, 45]);
});

test('no session yet: the latest fix waits and goes when a session starts; a new session starts afresh', async () => {
  const { reporter, ws, session } = await setup();
  reporter.report(at(0));
  reporter.report(at(5));
  assert.deepEqual(sentFixes(ws), []);
  ws.serverSend(accepted());
  assert.deepEqual(sentFixes(ws), [5]);
  ws.serverSend(cadence('near', 60, 50));
  reporter.report(at(100)); // too soon within this session
  assert.deepEqual(sentFixes(ws), [5]);
  ws.serverSend({ type: 'service_finished', session_id: S1, message: 'm', timestamp: 't' });
  assert.equal(session.ended, true);
  ws.serverSend(accepted(S2)); // the next session: no cadence yet, its first fix at once
  assert.deepEqual(sentFixes(ws), [5, 100]);
  assert.equal(ws.lastOf('location_update').session_id, S2);
});

test('the socket not open: the latest fix waits for the reconnect; one lost in a drop is kept too', async () => {
  const { reporter, ws } = await setup();
  ws.serverSend(accepted());
  ws.serverSend(cadence('near', 60, 50));
  reporter.report(at(0));
  ws.serverClose(1006, ''); // dropped before the server confirmed it
  await sleep(0);
  assert.equal(reporter.waiting?.latitude, at(0).latitude, 'kept: it may never have arrived');
  assert.equal(reporter.lastSent, null);
  reporter.report(at(10));
  await until(() => FakeWebSocket.instances.length === 2 && FakeWebSocket.last.onopen);
  const next = FakeWebSocket.last;
  next.serverOpen();
  assert.deepEqual(sentFixes(next), [10], 'the latest, once');
});

test('the server\'s errors go to onError; the fix counts as sent', async () => {
  const { reporter, ws, errors } = await setup();
  ws.serverSend(accepted());
  reporter.report({ latitude: 91, longitude: 0 });
  ws.serverSend({ type: 'error', code: 'validation', error: 'latitude out of range', request_id: ws.lastOf('location_update').request_id });
  await until(() => errors.length === 1);
  assert.deepEqual(errors[0], ['validation', { latitude: 91, longitude: 0 }]);
  assert.equal(reporter.waiting, null);
});

test('a fix the server was too busy for is sent again after retry_after_ms (not an error)', async () => {
  const { reporter, ws, errors } = await setup();
  ws.serverSend(accepted());
  ws.serverSend(cadence('near', 60, 50));
  reporter.report(at(0));
  const refusedAt = Date.now();
  ws.serverSend({ type: 'error', code: 'unavailable', error: 'Service unavailable', retry_after_ms: 60, request_id: ws.lastOf('location_update').request_id });
  await until(() => sentFixes(ws).length === 2);
  assert.ok(Date.now() - refusedAt >= 55, `sent again after ${Date.now() - refusedAt} ms`);
  assert.deepEqual(sentFixes(ws), [0, 0], 'the first fix of the session again, at once after the wait');
  assert.deepEqual(errors, []);
});
