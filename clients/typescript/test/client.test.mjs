// Unit tests of the socket clients against a fake WebSocket (node --test).
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';

import {
  ProviderClient,
  SeekerClient,
  TetherConnectionError,
  TetherError,
  backoffDelay,
  socketUrl,
  tokenExpiryMs,
} from '../dist/index.js';
import { FakeWebSocket, fakeToken, probeFetch, sleep, until } from './fake-websocket.mjs';

const hourFromNow = () => Math.floor(Date.now() / 1000) + 3600;
const clients = [];

function seeker(options = {}) {
  const client = new SeekerClient({
    url: 'http://edge.test:8080',
    token: () => fakeToken(hourFromNow()),
    WebSocket: FakeWebSocket,
    fetch: probeFetch(undefined).impl, // the probe of a failed upgrade finds nothing
    random: () => 0.5,
    backoffBaseMs: 20,
    ...options,
  });
  clients.push(client);
  return client;
}

function provider(options = {}) {
  const client = new ProviderClient({
    url: 'http://e',
    token: () => fakeToken(hourFromNow()),
    WebSocket: FakeWebSocket,
    fetch: probeFetch(undefined).impl,
    random: () => 0.5,
    backoffBaseMs: 20,
    ...options,
  });
  clients.push(client);
  return client;
}

async function connected(client) {
  const opened = client.connect();
  await until(() => FakeWebSocket.last && client.state.state === 'connecting' && FakeWebSocket.last.onopen);
  FakeWebSocket.last.serverOpen();
  await opened;
  return FakeWebSocket.last;
}

/** Waits for the socket after `n` sockets were made, and returns it (not opened). */
async function nextSocket(n) {
  await until(() => FakeWebSocket.instances.length > n && FakeWebSocket.last.onopen);
  return FakeWebSocket.last;
}

/** Whether a promise has settled, without waiting for it. */
async function settled(promise) {
  const marker = Symbol('pending');
  const result = await Promise.race([promise.then(() => 'resolved', () => 'rejected'), sleep(0).then(() => marker)]);
  return result === marker ? 'pending' : result;
}

const chatMessage = (id) => ({
  type: 'chat_message',
  message_id: id,
  session_id: 's1',
  sender_type: 'provider',
  message: 'hi',
  delivery_status: 'sent',
  timestamp: 't',
  delivered_at: null,
  read_at: null,
});

beforeEach(() => FakeWebSocket.reset());
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

// ---- URLs, backoff ----

test('the socket URL carries the role path and the token; http(s) and ws(s) bases both work', () => {
  assert.equal(socketUrl('http://h:1', 'seeker', 'a.b.c'), 'ws://h:1/ws/work/seeker/?token=a.b.c');
  assert.equal(socketUrl('https://h', 'provider', 't'), 'wss://h/ws/work/provider/?token=t');
  assert.equal(socketUrl('ws://h:1', 'seeker', 't'), 'ws://h:1/ws/work/seeker/?token=t');
  assert.equal(socketUrl('wss://h', 'seeker', 't'), 'wss://h/ws/work/seeker/?token=t');
  assert.throws(() => socketUrl('ftp://h', 'seeker', 't'), TypeError);
  assert.throws(() => new SeekerClient({ url: 'ftp://h', token: 't' }), TypeError);
  assert.equal(tokenExpiryMs(fakeToken(1234)), 1234_000);
  assert.equal(tokenExpiryMs('not a jwt'), undefined);
});

test('backoff is full jitter under an exponential cap', () => {
  assert.equal(backoffDelay(0, 500, 30_000, () => 0.999999), 499);
  assert.equal(backoffDelay(3, 500, 30_000, () => 0.5), 2000);
  assert.equal(backoffDelay(20, 500, 30_000, () => 0.5), 15_000);
  assert.equal(backoffDelay(5, 500, 30_000, () => 0), 0);
});

// ---- requests ----

test('connects, reports its state, and correlates answers by request_id', async () => {
  const client = seeker();
  const states = [];
  client.onState((info) => states.push(info.state));
  const ws = await connected(client);
  assert.match(ws.url, /^ws:\/\/edge\.test:8080\/ws\/work\/seeker\/\?token=/);
  assert.deepEqual(states, ['connecting', 'open']);

  const chat = client.sendChat('s1', 'hello');
  const ready = client.startChat('s1');
  const [first, second] = ws.frames;
  assert.equal(first.type, 'chat_message');
  assert.ok(first.client_message_id, 'a client_message_id is always set');
  assert.notEqual(first.request_id, second.request_id);
  // Answers may come in any order; each settles its own command.
  ws.serverSend({ type: 'chat_ready', session_id: 's1', chat_room_id: 's1', message: 'm', timestamp: 't', request_id: second.request_id });
  ws.serverSend({ type: 'message_sent', message_id: 'm1', session_id: 's1', timestamp: 't', request_id: first.request_id });
  assert.equal((await chat).message_id, 'm1');
  assert.equal((await ready).type, 'chat_ready');

  const failing = client.cancel('s1');
  ws.serverSend({ type: 'error', error: 'Session is not waiting or active', code: 'conflict', request_id: ws.frames.at(-1).request_id });
  await assert.rejects(failing, (e) => e instanceof TetherError && e.code === 'conflict' && /not waiting/.test(e.message));
});

test('a command without an answer in time rejects with timeout', async () => {
  const client = seeker({ requestTimeoutMs: 30 });
  await connected(client);
  await assert.rejects(client.startChat('s1'), (e) => e.code === 'timeout');
});

test('commands issued while connecting are sent once the socket opens', async () => {
  const client = seeker();
  client.connect();
  const ready = client.startChat('s1');
  await until(() => FakeWebSocket.last);
  const ws = FakeWebSocket.last;
  assert.equal(ws.sent.length, 0);
  ws.serverOpen();
  assert.equal(ws.frames[0].type, 'start_chat');
  ws.serverSend({ type: 'chat_ready', session_id: 's1', chat_room_id: 's1', message: 'm', timestamp: 't', request_id: ws.frames[0].request_id });
  await ready;
});

test('commands before connect() reject with not_connected; after close() with closed', async () => {
  const client = seeker();
  await assert.rejects(client.startChat('s1'), (e) => e instanceof TetherError && e.code === 'not_connected');
  await assert.rejects(client.markRead('m1'), (e) => e.code === 'not_connected');
  await assert.rejects(client.updateLocation('s1', 1, 2), (e) => e.code === 'not_connected');
  assert.equal(FakeWebSocket.instances.length, 0);
  await connected(client);
  client.close();
  await assert.rejects(client.startChat('s1'), (e) => e.code === 'closed');
  await assert.rejects(client.typing('s1', true), (e) => e.code === 'closed');
});

// ---- events ----

test('typed handlers; chat messages are acknowledged and de-duplicated across reconnects', async () => {
  const client = seeker();
  const seen = [];
  client.on('chat_message', (m) => seen.push(m.message_id));
  let ws = await connected(client);
  ws.serverSend(chatMessage('m1'));
  assert.deepEqual(ws.commands, [{ type: 'message_delivered', message_id: 'm1' }]);
  ws.answerPings();

  ws.serverClose(1012, 'edge restarting');
  ws = await nextSocket(1);
  ws.serverOpen();
  ws.serverSend(chatMessage('m1')); // the server re-sends what is still `sent` on connect
  ws.serverSend(chatMessage('m2'));
  assert.deepEqual(seen, ['m1', 'm2']);
  // Every copy is acknowledged again: the first acknowledgement may have been lost.
  assert.deepEqual(ws.commands.map((f) => f.message_id), ['m1', 'm2']);
});

test('work_assigned is de-duplicated by work_id', async () => {
  const client = provider();
  const works = [];
  client.on('work_assigned', (w) => works.push(w.work_id));
  const ws = await connected(client);
  for (const id of [7, 7, 8]) ws.serverSend({ type: 'work_assigned', work_id: id });
  assert.deepEqual(works, [7, 8]);
});

test('once handles one message; waitFor resolves with a match, times out, and fails on close', async () => {
  const client = seeker();
  const ws = await connected(client);
  const once = [];
  client.once('distance_update', (m) => once.push(m.distance_meters));
  const far = client.waitFor('distance_update', { filter: (m) => m.distance_meters > 100 });
  const never = client.waitFor('work_expired', { timeoutMs: 20 });
  const closing = client.waitFor('work_expired');
  for (const d of [10, 200, 300]) ws.serverSend({ type: 'distance_update', session_id: 's1', distance_meters: d, distance_formatted: `${d} meters away`, timestamp: 't' });
  assert.deepEqual(once, [10]);
  assert.equal((await far).distance_meters, 200);
  await assert.rejects(never, (e) => e instanceof TetherError && e.code === 'timeout');
  client.close();
  await assert.rejects(closing, (e) => e.code === 'closed');
  await assert.rejects(client.waitFor('pong'), (e) => e.code === 'closed');
});

test('a handler that throws does not stop the others', async () => {
  const client = seeker();
  const ws = await connected(client);
  const got = [];
  const original = console.error;
  console.error = (label) => got.push(label);
  try {
    client.on('distance_update', () => {
      throw new Error('boom');
    });
    client.on('distance_update', (m) => got.push(m.distance_formatted));
    ws.serverSend({ type: 'distance_update', session_id: 's1', distance_meters: 10, distance_formatted: '10 meters away', timestamp: 't' });
  } finally {
    console.error = original;
  }
  assert.deepEqual(got, ['tether client: a handler threw', '10 meters away']);
});

// ---- reconnecting ----

test('reconnects with growing, jittered delays; a stable connection resets them', async () => {
  const client = seeker({ backoffBaseMs: 4, stableAfterMs: 60 });
  const delays = [];
  client.onState((info) => info.state === 'reconnecting' && delays.push(info.retryInMs));
  await connected(client);
  for (let i = 0; i < 3; i++) {
    FakeWebSocket.last.serverClose(1006, '');
    await until(() => FakeWebSocket.instances.length === i + 2);
  }
  // random() is 0.5: half of 4, 8, 16 ms.
  assert.deepEqual(delays, [2, 4, 8]);
  await until(() => FakeWebSocket.last.onopen);
  FakeWebSocket.last.serverOpen();
  await sleep(80);
  FakeWebSocket.last.serverClose(1001, 'going away');
  assert.equal(delays.at(-1), 2);
});

test('1008 (policy) closes for good without reconnecting', async () => {
  const client = seeker();
  const ws = await connected(client);
  const pending = client.startChat('s1');
  ws.serverClose(1008, 'rate limit');
  assert.equal(client.state.state, 'closed');
  assert.deepEqual(client.state.lastClose, { code: 1008, reason: 'rate limit' });
  assert.equal(client.state.error.closeCode, 1008);
  await assert.rejects(pending, (e) => e.code === 'closed');
  await sleep(60);
  assert.equal(FakeWebSocket.instances.length, 1);
});

test('4401 asks for a new token; the same token again stops the client', async () => {
  const reasons = [];
  let current = fakeToken(hourFromNow(), 'first');
  const client = seeker({
    token: (reason) => {
      reasons.push(reason);
      return current;
    },
  });
  await connected(client);
  current = fakeToken(hourFromNow(), 'second');
  FakeWebSocket.last.serverClose(4401, 'Token expired');
  await until(() => FakeWebSocket.instances.length === 2);
  assert.match(FakeWebSocket.last.token, /sig-second$/);
  await until(() => FakeWebSocket.last.onopen);
  FakeWebSocket.last.serverOpen();

  FakeWebSocket.last.serverClose(4401, 'Token expired');
  await until(() => client.state.state === 'closed');
  assert.equal(client.state.lastClose.code, 4401);
  assert.equal(client.state.error.code, 'unauthorized');
  assert.deepEqual(reasons, ['connect', 'unauthorized', 'unauthorized']);
  assert.equal(FakeWebSocket.instances.length, 2);
});

test('a new token is fetched before expiry and the socket reconnects with it', async () => {
  let n = 0;
  const reasons = [];
  const client = seeker({
    refreshBeforeExpiryS: 3600, // the token expires in 2 s: refresh half-way, after 1 s
    token: (reason) => {
      reasons.push(reason);
      return fakeToken(Math.floor(Date.now() / 1000) + 2, `t${n++}`);
    },
  });
  await connected(client);
  await until(() => FakeWebSocket.instances.length === 2, 3000);
  assert.deepEqual(reasons, ['connect', 'refresh']);
  assert.equal(FakeWebSocket.instances[0].closedWith.code, 1000);
  assert.match(FakeWebSocket.last.token, /sig-t1$/);
});

test('a missing pong drops the socket and reconnects', async () => {
  const client = seeker({ pingIntervalMs: 20, pingTimeoutMs: 20 });
  const ws = await connected(client);
  await until(() => ws.closedWith, 1000);
  assert.equal(ws.closedWith.code, 4000);
  assert.equal(ws.frames[0].type, 'ping');
  await until(() => FakeWebSocket.instances.length === 2);
});

test('pongs keep the socket', async () => {
  const client = seeker({ pingIntervalMs: 15, pingTimeoutMs: 30 });
  const ws = await connected(client);
  const pump = setInterval(() => ws.answerPings(), 3);
  await sleep(120);
  clearInterval(pump);
  assert.equal(ws.closedWith, undefined);
  assert.ok(ws.frames.filter((f) => f.type === 'ping').length >= 3);
});

test('in flight at a drop: a chat message is resent with its ids, a cancel fails', async () => {
  const client = seeker({ backoffBaseMs: 1 });
  const ws = await connected(client);
  const chat = client.sendChat('s1', 'hello', 'c-1');
  const cancel = client.cancel('s1');
  const [chatFrame] = ws.frames;
  ws.serverClose(1006, '');
  await assert.rejects(cancel, (e) => e.code === 'disconnected');
  const next = await nextSocket(1);
  next.serverOpen();
  assert.deepEqual(next.frames, [chatFrame]);
  assert.equal(chatFrame.client_message_id, 'c-1');
  next.serverSend({ type: 'message_sent', message_id: 'm1', session_id: 's1', timestamp: 't', request_id: chatFrame.request_id });
  assert.equal((await chat).message_id, 'm1');
});

test('connect() twice while connecting gives the same promise; no WebSocket closes for good', async () => {
  const client = seeker();
  const first = client.connect();
  assert.equal(client.connect(), first);
  await until(() => FakeWebSocket.last?.onopen);
  FakeWebSocket.last.serverOpen();
  await first;

  const broken = new SeekerClient({ url: 'http://e', token: () => 't', WebSocket: undefined });
  const saved = globalThis.WebSocket;
  delete globalThis.WebSocket;
  try {
    await assert.rejects(broken.connect(), (e) => e.code === 'closed' && /no WebSocket/.test(e.message));
    assert.equal(broken.state.state, 'closed');
  } finally {
    if (saved) globalThis.WebSocket = saved;
  }
});

// ---- 1. refused connections, empty tokens, connect timeout ----

test('an empty token is refused up front: in the constructor, or by connect() without a socket', async () => {
  assert.throws(() => new SeekerClient({ url: 'http://e', token: '' }), TypeError);
  assert.throws(() => new SeekerClient({ url: 'http://e', token: '  ' }), TypeError);
  for (const empty of ['', undefined, null, '  ']) {
    const client = seeker({ token: async () => empty });
    await assert.rejects(
      client.connect(),
      (e) => e instanceof TetherConnectionError && e.code === 'no_token' && /no token/.test(e.message),
    );
    assert.equal(client.state.state, 'closed');
    assert.equal(client.state.error.code, 'no_token');
  }
  assert.equal(FakeWebSocket.instances.length, 0);
});

test('a token provider that throws is retried with the backoff, its error in the state', async () => {
  let calls = 0;
  const client = seeker({
    token: () => {
      if (++calls === 1) throw new Error('auth server down');
      return fakeToken(hourFromNow());
    },
  });
  const states = [];
  client.onState((info) => states.push(info));
  const opened = client.connect();
  const ws = await nextSocket(0);
  const failed = states.find((info) => info.state === 'reconnecting');
  assert.equal(failed.error.code, 'no_token');
  assert.equal(failed.error.cause.message, 'auth server down');
  ws.serverOpen();
  await opened;
});

test('HTTP 401 on the upgrade (as `ws` reports it): the token is asked again, the same one stops with the status', async () => {
  const reasons = [];
  const token = fakeToken(hourFromNow(), 'bad');
  const client = seeker({ token: (reason) => (reasons.push(reason), token) });
  const opened = client.connect();
  (await nextSocket(0)).serverRefuse(401);
  await assert.rejects(
    opened,
    (e) => e instanceof TetherConnectionError && e.code === 'unauthorized' && e.status === 401 && /HTTP 401/.test(e.message),
  );
  assert.deepEqual(reasons, ['connect', 'unauthorized']);
  assert.equal(client.state.state, 'closed');
  assert.equal(client.state.error.status, 401);
  assert.equal(FakeWebSocket.instances.length, 1);
  assert.doesNotMatch(client.state.error.message, /sig-bad/, 'the token is not in the message');
});

test('HTTP 401 with a newer token from the provider: reconnects with it after the backoff', async () => {
  let n = 0;
  const client = seeker({ token: () => fakeToken(hourFromNow(), `t${n++}`) });
  const states = [];
  client.onState((info) => states.push(info.state));
  const opened = client.connect();
  (await nextSocket(0)).serverRefuse(401);
  const ws = await nextSocket(1);
  assert.match(ws.token, /sig-t1$/);
  assert.ok(states.includes('reconnecting'), 'through the backoff');
  ws.serverOpen();
  await opened;
});

test('where the WebSocket does not say why (browsers), a probe of the socket path finds the 401', async () => {
  const probe = probeFetch(401);
  const token = fakeToken(hourFromNow(), 'bad');
  const client = seeker({ token, fetch: probe.impl });
  const opened = client.connect();
  (await nextSocket(0)).serverFail();
  await assert.rejects(opened, (e) => e.code === 'unauthorized' && e.status === 401);
  assert.equal(probe.calls.length, 1);
  assert.equal(probe.calls[0].url, 'http://edge.test:8080/ws/work/seeker/');
  assert.equal(probe.calls[0].headers.authorization, `Bearer ${token}`);
});

test('a refusal retrying cannot fix (403) stops; 503 and no answer at all are retried, the error in the state', async () => {
  const forbidden = seeker();
  const opened = forbidden.connect();
  (await nextSocket(0)).serverRefuse(403);
  await assert.rejects(opened, (e) => e.code === 'forbidden' && e.status === 403);

  FakeWebSocket.reset();
  const client = seeker({ backoffBaseMs: 4 });
  const errors = [];
  client.onState((info) => info.state === 'reconnecting' && errors.push([info.error.code, info.error.status]));
  const later = client.connect();
  (await nextSocket(0)).serverRefuse(503);
  (await nextSocket(1)).serverFail(); // e.g. a wrong port; the probe gets nothing either
  const ws = await nextSocket(2);
  assert.deepEqual(errors, [
    ['unavailable', 503],
    ['network', undefined],
  ]);
  ws.serverOpen();
  await later;
  assert.equal(client.state.error, undefined);
});

test('connectTimeoutMs: connect() rejects with timeout and the last failure, and the client closes', async () => {
  const client = seeker({ connectTimeoutMs: 60, backoffBaseMs: 10 });
  const opened = client.connect();
  (await nextSocket(0)).serverFail();
  await assert.rejects(
    opened,
    (e) => e instanceof TetherConnectionError && e.code === 'timeout' && e.cause?.code === 'network' && /within 60 ms/.test(e.message),
  );
  assert.equal(client.state.state, 'closed');
  const count = FakeWebSocket.instances.length;
  await sleep(50);
  assert.equal(FakeWebSocket.instances.length, count, 'no more attempts');
  // connect() starts it again.
  const again = client.connect();
  (await nextSocket(count)).serverOpen();
  await again;
});

// ---- 2. receipts ----

test('a receipt is confirmed by the answer to a ping the client sends after it', async () => {
  const client = seeker();
  const ws = await connected(client);
  const read = client.markRead('m1');
  assert.deepEqual(ws.commands, [{ type: 'message_read', message_id: 'm1' }]);
  assert.ok(ws.frames[0].request_id, 'receipts carry a request_id');
  await until(() => ws.lastOf('ping'));
  assert.equal(await settled(read), 'pending');
  ws.answerPings();
  await read;
});

test('a receipt written into a dying socket is sent again after the reconnect', async () => {
  const client = seeker({ backoffBaseMs: 1 });
  let ws = await connected(client);
  const read = client.markRead('m1');
  client.markRead('m1'); // asked twice: one receipt
  assert.equal(ws.commands.length, 1);
  ws.serverClose(1006, ''); // before any later answer confirmed it
  ws = await nextSocket(1);
  ws.serverOpen();
  assert.deepEqual(ws.commands, [{ type: 'message_read', message_id: 'm1' }]);
  await until(() => ws.lastOf('ping'));
  ws.answerPings();
  await read;
});

test('receipts asked for while reconnecting wait for the socket', async () => {
  const client = seeker({ backoffBaseMs: 40 });
  let ws = await connected(client);
  ws.serverClose(1006, '');
  assert.equal(client.state.state, 'reconnecting');
  const read = client.markRead('m9');
  ws = await nextSocket(1);
  ws.serverOpen();
  assert.deepEqual(ws.commands, [{ type: 'message_read', message_id: 'm9' }]);
  await until(() => ws.lastOf('ping'));
  ws.answerPings();
  await read;
});

test('a server re-send of a message read before sends the read receipt again (the de-duplicated copy)', async () => {
  const client = seeker({ backoffBaseMs: 1 });
  const seen = [];
  client.on('chat_message', (m) => {
    seen.push(m.message_id);
    client.markRead(m.message_id);
  });
  let ws = await connected(client);
  ws.serverSend(chatMessage('m1'));
  await until(() => ws.lastOf('ping'));
  ws.answerPings(); // both receipts confirmed...
  await sleep(5);
  ws.serverClose(1006, '');
  ws = await nextSocket(1);
  ws.serverOpen();
  ws.serverSend(chatMessage('m1')); // ...yet the server still has it `sent` (a receipt lost in a crash)
  assert.deepEqual(seen, ['m1'], 'the copy is not shown again');
  assert.deepEqual(ws.commands, [
    { type: 'message_delivered', message_id: 'm1' },
    { type: 'message_read', message_id: 'm1' },
  ]);
});

test('a receipt refused with unavailable is sent again no sooner than retry_after_ms; not_found rejects', async () => {
  const client = seeker();
  const ws = await connected(client);
  const read = client.markRead('m1');
  const first = ws.lastOf('message_read');
  const refusedAt = Date.now();
  ws.serverSend({ type: 'error', code: 'unavailable', error: 'Service unavailable', retry_after_ms: 80, request_id: first.request_id });
  await until(() => ws.frames.filter((f) => f.type === 'message_read').length === 2);
  assert.ok(Date.now() - refusedAt >= 75, `sent again after ${Date.now() - refusedAt} ms`);
  await until(() => ws.frames.at(-1).type === 'ping');
  ws.answerPings();
  await read;

  const unknown = client.markRead('nope');
  ws.serverSend({ type: 'error', code: 'not_found', error: 'Message not found', request_id: ws.lastOf('message_read').request_id });
  await assert.rejects(unknown, (e) => e instanceof TetherError && e.code === 'not_found');
});

// ---- 3. fire-and-forget commands report their errors ----

test('updateLocation and typing carry a request_id and reject with their server error', async () => {
  const client = seeker();
  const ws = await connected(client);
  const location = client.updateLocation('not-a-session', 1, 2);
  const frame = ws.lastOf('location_update');
  assert.ok(frame.request_id);
  ws.serverSend({ type: 'error', code: 'not_found', error: 'Session not found', request_id: frame.request_id });
  await assert.rejects(location, (e) => e instanceof TetherError && e.code === 'not_found' && e.requestId === frame.request_id);

  const typing = client.typing('s1', true);
  ws.serverSend({ type: 'error', code: 'validation', error: 'session_id is required', request_id: ws.lastOf('typing_indicator').request_id });
  await assert.rejects(typing, (e) => e.code === 'validation');
});

test('they resolve once a later answer on the socket shows no error came; accuracy is sent when given', async () => {
  const client = seeker();
  const ws = await connected(client);
  const location = client.updateLocation('s1', 1, 2, 12.5);
  const typing = client.typing('s1', false);
  assert.deepEqual(ws.commands, [
    { type: 'location_update', session_id: 's1', latitude: 1, longitude: 2, accuracy_m: 12.5 },
    { type: 'typing_indicator', session_id: 's1', is_typing: false },
  ]);
  await until(() => ws.lastOf('ping'));
  assert.equal(ws.frames.filter((f) => f.type === 'ping').length, 1, 'one ping confirms both');
  assert.equal(await settled(location), 'pending');
  ws.answerPings();
  await Promise.all([location, typing]);
});

test('while the socket is not open they reject with not_connected and send nothing; a drop rejects disconnected', async () => {
  const client = seeker({ backoffBaseMs: 50 });
  const ws = await connected(client);
  const lost = client.updateLocation('s1', 1, 2);
  ws.serverClose(1006, '');
  await assert.rejects(lost, (e) => e.code === 'disconnected');
  await assert.rejects(client.updateLocation('s1', 3, 4), (e) => e.code === 'not_connected');
  await assert.rejects(client.typing('s1', true), (e) => e.code === 'not_connected');
  const next = await nextSocket(1);
  next.serverOpen();
  assert.deepEqual(next.commands, [], 'latest-wins commands are not sent again');
});

test('a rate_limited error without request_id goes to the command it must have answered', async () => {
  const client = seeker();
  const ws = await connected(client);
  // The edge refuses a frame before reading its request_id; answers come in order.
  const location = client.updateLocation('s1', 1, 2);
  const ready = client.startChat('s1');
  ws.serverSend({ type: 'error', code: 'rate_limited', error: 'Rate limit exceeded' }); // for one of the two
  assert.equal(await settled(location), 'pending');
  // The ping the client sends after it settles both: start_chat got no answer of its own,
  // so the error was its; the location then went through. start_chat is sent again later.
  await until(() => ws.lastOf('ping'));
  ws.answerPings();
  await location;
  await until(() => ws.frames.filter((f) => f.type === 'start_chat').length === 2);
  const again = ws.lastOf('start_chat');
  ws.serverSend({ type: 'chat_ready', session_id: 's1', chat_room_id: 's1', message: 'm', timestamp: 't', request_id: again.request_id });
  await ready;
});

// ---- 6. retry_after_ms ----

test('unavailable with retry_after_ms: an idempotent command is sent again no sooner; others reject carrying it', async () => {
  const client = seeker();
  const ws = await connected(client);
  const chat = client.sendChat('s1', 'hello', 'c-1');
  const first = ws.lastOf('chat_message');
  const refusedAt = Date.now();
  ws.serverSend({ type: 'error', code: 'unavailable', error: 'Service unavailable', retry_after_ms: 60, request_id: first.request_id });
  await until(() => ws.frames.filter((f) => f.type === 'chat_message').length === 2);
  assert.ok(Date.now() - refusedAt >= 55);
  const second = ws.lastOf('chat_message');
  assert.equal(second.client_message_id, 'c-1');
  ws.serverSend({ type: 'message_sent', message_id: 'm1', session_id: 's1', timestamp: 't', request_id: second.request_id });
  assert.equal((await chat).message_id, 'm1');

  const cancel = client.cancel('s1');
  ws.serverSend({ type: 'error', code: 'unavailable', error: 'Service unavailable', retry_after_ms: 1500, request_id: ws.lastOf('cancel_connection').request_id });
  await assert.rejects(cancel, (e) => e.code === 'unavailable' && e.retryAfterMs === 1500);
});

test('a retry that the timeout would not allow rejects at once with the error', async () => {
  const client = seeker({ requestTimeoutMs: 1000 });
  const ws = await connected(client);
  const ready = client.startChat('s1');
  ws.serverSend({ type: 'error', code: 'rate_limited', error: 'slow down', retry_after_ms: 5000, request_id: ws.lastOf('start_chat').request_id });
  await assert.rejects(ready, (e) => e.code === 'rate_limited' && e.retryAfterMs === 5000);
});

// ---- 7. outgoing messages ----

test('finish sends the rating fields only when given', async () => {
  const client = seeker();
  const ws = await connected(client);
  client.finish('s1', { rating_stars: 5, rating_description: 'great' }).catch(() => {});
  client.finish('s1').catch(() => {});
  const [rated, plain] = ws.frames;
  assert.equal(rated.rating_stars, 5);
  assert.equal(rated.rating_description, 'great');
  assert.equal('rating_stars' in plain, false);
});

test('send() is a raw write that refuses while disconnected', async () => {
  const client = seeker();
  assert.equal(client.send({ type: 'ping' }), false);
  const ws = await connected(client);
  assert.equal(client.send({ type: 'typing_indicator', session_id: 's1', is_typing: true }), true);
  assert.deepEqual(ws.frames, [{ type: 'typing_indicator', session_id: 's1', is_typing: true }]);
});

test('request() refuses commands without an answer', async () => {
  const client = seeker();
  await connected(client);
  assert.throws(() => client.request({ type: 'message_read', message_id: 'm' }), TypeError);
});

test('pongs to the client\'s own pings do not reach handlers; ping() answers do', async () => {
  const client = seeker();
  const ws = await connected(client);
  const pongs = [];
  client.on('pong', (m) => pongs.push(m.request_id));
  await (async () => {
    const located = client.updateLocation('s1', 1, 2);
    await until(() => ws.lastOf('ping'));
    ws.answerPings();
    await located;
  })();
  assert.deepEqual(pongs, []);
  const answer = client.ping();
  ws.answerPings();
  assert.equal((await answer).type, 'pong');
  assert.equal(pongs.length, 1);
});
