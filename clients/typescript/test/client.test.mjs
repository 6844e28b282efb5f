// Unit tests of the socket clients against a fake WebSocket (node --test).
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';

import { ProviderClient, SeekerClient, TetherError, backoffDelay, socketUrl, tokenExpiryMs } from '../dist/index.js';
import { FakeWebSocket, fakeToken, until } from './fake-websocket.mjs';

const hourFromNow = () => Math.floor(Date.now() / 1000) + 3600;
const clients = [];

function seeker(options = {}) {
  const client = new SeekerClient({
    url: 'http://edge.test:8080',
    token: () => fakeToken(hourFromNow()),
    WebSocket: FakeWebSocket,
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

beforeEach(() => FakeWebSocket.reset());
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

test('the socket URL carries the role path and the token', () => {
  assert.equal(socketUrl('http://h:1', 'seeker', 'a.b.c'), 'ws://h:1/ws/work/seeker/?token=a.b.c');
  assert.equal(socketUrl('https://h', 'provider', 't'), 'wss://h/ws/work/provider/?token=t');
  assert.equal(tokenExpiryMs(fakeToken(1234)), 1234_000);
  assert.equal(tokenExpiryMs('not a jwt'), undefined);
});

test('backoff is full jitter under an exponential cap', () => {
  assert.equal(backoffDelay(0, 500, 30_000, () => 0.999999), 499);
  assert.equal(backoffDelay(3, 500, 30_000, () => 0.5), 2000);
  assert.equal(backoffDelay(20, 500, 30_000, () => 0.5), 15_000);
  assert.equal(backoffDelay(5, 500, 30_000, () => 0), 0);
});

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

test('typed handlers; chat messages are acknowledged and de-duplicated across reconnects', async () => {
  const client = seeker();
  const seen = [];
  client.on('chat_message', (m) => seen.push(m.message_id));
  let ws = await connected(client);
  const message = { type: 'chat_message', message_id: 'm1', session_id: 's1', sender_type: 'provider', message: 'hi', delivery_status: 'sent', timestamp: 't', delivered_at: null, read_at: null };
  ws.serverSend(message);
  assert.deepEqual(ws.frames, [{ type: 'message_delivered', message_id: 'm1' }]);

  ws.serverClose(1012, 'edge restarting');
  await until(() => FakeWebSocket.instances.length === 2);
  ws = FakeWebSocket.last;
  ws.serverOpen();
  ws.serverSend(message); // the server re-sends what is still `sent` on connect
  ws.serverSend({ ...message, message_id: 'm2' });
  assert.deepEqual(seen, ['m1', 'm2']);
  // Every copy is acknowledged again: the first acknowledgement may have been lost.
  assert.deepEqual(ws.frames.map((f) => f.message_id), ['m1', 'm2']);
});

test('work_assigned is de-duplicated by work_id', async () => {
  const client = new ProviderClient({ url: 'http://e', token: () => fakeToken(hourFromNow()), WebSocket: FakeWebSocket });
  clients.push(client);
  const works = [];
  client.on('work_assigned', (w) => works.push(w.work_id));
  const ws = await connected(client);
  for (const id of [7, 7, 8]) ws.serverSend({ type: 'work_assigned', work_id: id });
  assert.deepEqual(works, [7, 8]);
});

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
  FakeWebSocket.last.serverOpen();
  await new Promise((r) => setTimeout(r, 80));
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
  await assert.rejects(pending, (e) => e.code === 'closed');
  await new Promise((r) => setTimeout(r, 60));
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
  FakeWebSocket.last.serverOpen();

  FakeWebSocket.last.serverClose(4401, 'Token expired');
  await until(() => client.state.state === 'closed');
  assert.equal(client.state.lastClose.code, 4401);
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
  const answer = () => {
    for (const frame of ws.frames.filter((f) => f.type === 'ping' && !f.answered)) {
      frame.answered = true;
      ws.serverSend({ type: 'pong', timestamp: 't', request_id: frame.request_id });
    }
  };
  const pump = setInterval(answer, 3);
  await new Promise((r) => setTimeout(r, 120));
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
  await until(() => FakeWebSocket.instances.length === 2);
  const next = FakeWebSocket.last;
  next.serverOpen();
  assert.deepEqual(next.frames, [chatFrame]);
  assert.equal(chatFrame.client_message_id, 'c-1');
  next.serverSend({ type: 'message_sent', message_id: 'm1', session_id: 's1', timestamp: 't', request_id: chatFrame.request_id });
  assert.equal((await chat).message_id, 'm1');
});

test('send() is fire-and-forget and refuses while disconnected', async () => {
  const client = seeker();
  assert.equal(client.updateLocation('s1', 1, 2), false);
  const ws = await connected(client);
  assert.equal(client.updateLocation('s1', 1, 2), true);
  assert.equal(client.typing('s1', true), true);
  assert.deepEqual(ws.frames, [
    { type: 'location_update', session_id: 's1', latitude: 1, longitude: 2 },
    { type: 'typing_indicator', session_id: 's1', is_typing: true },
  ]);
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

test('finish sends the rating fields only when given', async () => {
  const client = seeker();
  const ws = await connected(client);
  client.finish('s1', { stars: 5, description: 'great' }).catch(() => {});
  client.finish('s1').catch(() => {});
  const [rated, plain] = ws.frames;
  assert.equal(rated.rating_stars, 5);
  assert.equal(rated.rating_description, 'great');
  assert.equal('rating_stars' in plain, false);
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
