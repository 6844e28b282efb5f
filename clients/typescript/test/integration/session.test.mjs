// The SDK against the real stack (tether-test-stack: every service, real NATS and
// PostgreSQL, real sockets): one whole session, the re-send on connect, errors, and a
// token that expires on an open socket. Run with `npm run test:integration`.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { randomUUID } from 'node:crypto';

import { WebSocket as NodeWebSocket } from 'ws';

import { ProviderClient, SeekerClient, TetherApi, TetherError } from '../../dist/index.js';
import { startStack } from '../stack.mjs';

// Node 22 and browsers have a global WebSocket; Debian's Node (18) does not.
const WebSocket = globalThis.WebSocket ?? NodeWebSocket;

// A hang fails the test instead of stalling the suite (a per-test option: Debian's
// Node 18 has no --test-timeout flag).
const LIMIT = { timeout: 60_000 };

let stack;
const clients = [];

before(async () => {
  stack = await startStack();
});
after(async () => {
  for (const client of clients) client.close();
  await stack?.stop();
});

/** A user with an HTTP API and a socket client of `role` (not yet connected). */
function party(role, name, options = {}) {
  const { token } = stack.mint({ name });
  const common = { url: stack.httpBase, token: () => token, WebSocket, ...options };
  const client = role === 'seeker' ? new SeekerClient(common) : new ProviderClient(common);
  clients.push(client);
  return { api: new TetherApi(common), client, token };
}

/** Resolves with the next message of `type` on `client`. */
function next(client, type, ms = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} within ${ms} ms`)), ms);
    const off = client.on(type, (message) => {
      clearTimeout(timer);
      off();
      resolve(message);
    });
  });
}

/** A provider who is active, and a seeker with a session accepted between them. */
async function openSession() {
  const seeker = party('seeker', 'Sam Seeker');
  const provider = party('provider', 'Pat Provider');
  await seeker.api.putProfile({ display_name: 'Sam Seeker' });
  await provider.api.putProfile({ display_name: 'Pat Provider' });
  await provider.api.putProviderStatus({ is_active: true, service_types: ['plumbing'], latitude: 52.52, longitude: 13.405 });
  await Promise.all([seeker.client.connect(), provider.client.connect()]);

  const assigned = next(provider.client, 'work_assigned');
  const order = await seeker.api.createWorkOrder({
    provider_id: (await provider.api.getProfile()).user_id,
    service_type: 'plumbing',
    message: 'Leaking tap',
    latitude: 52.521,
    longitude: 13.406,
  });
  assert.equal((await assigned).work_id, order.work_id);
  const seekerAccepted = next(seeker.client, 'work_accepted');
  const answer = await provider.client.respondToWork(order.work_id, true);
  assert.equal(answer.type, 'work_accepted');
  const sessionId = answer.session_id;
  assert.equal((await seekerAccepted).session_id, sessionId);
  return { seeker, provider, sessionId, workId: order.work_id };
}

test('one whole session through the SDK', LIMIT, async () => {
  const { seeker, provider, sessionId } = await openSession();

  // Mediums: the seeker's selection activates the session.
  const providerSees = next(provider.client, 'seeker_mediums_selected');
  const selected = await seeker.client.selectMediums(sessionId, { call: '+4915112345678' });
  assert.equal(selected.connection_state, 'active');
  assert.deepEqual((await providerSees).mediums, { call: '+4915112345678' });
  const seekerSees = next(seeker.client, 'provider_mediums_shared');
  await provider.client.shareMediums(sessionId, { whatsapp: '+4915187654321' });
  assert.deepEqual((await seekerSees).mediums, { whatsapp: '+4915187654321' });

  // Locations: once both are known, both parties get the distance.
  const distances = Promise.all([next(seeker.client, 'distance_update'), next(provider.client, 'distance_update')]);
  assert.equal(seeker.client.updateLocation(sessionId, 52.52, 13.405), true);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(provider.client.updateLocation(sessionId, 52.529, 13.405), true);
  const [forSeeker, forProvider] = await distances;
  assert.equal(forSeeker.distance_meters, forProvider.distance_meters);
  assert.match(forSeeker.distance_formatted, /^1\.0 km away$/);

  // Chat: message_sent, automatic delivery receipt, read receipt, typing.
  const typing = next(provider.client, 'typing_indicator');
  seeker.client.typing(sessionId, true);
  assert.equal((await typing).is_typing, true);
  const received = next(provider.client, 'chat_message');
  const delivered = next(seeker.client, 'message_status_update');
  const sent = await seeker.client.sendChat(sessionId, 'On my way?');
  const message = await received;
  assert.equal(message.message_id, sent.message_id);
  assert.equal(message.message, 'On my way?');
  assert.deepEqual([(await delivered).status, (await delivered).message_id], ['delivered', sent.message_id]);
  const read = next(seeker.client, 'message_status_update');
  provider.client.markRead(message.message_id);
  assert.equal((await read).status, 'read');
  const history = await seeker.api.messages(sessionId);
  assert.deepEqual(history.messages.map((m) => [m.message, m.delivery_status]), [['On my way?', 'read']]);

  // Finish with a rating: both told, then the server closes both sockets with 1000 and
  // the clients reconnect by themselves.
  const providerFinished = next(provider.client, 'service_finished');
  const reconnecting = new Promise((resolve) => {
    const off = seeker.client.onState((info) => info.state === 'reconnecting' && (off(), resolve(info)));
  });
  const finished = await seeker.client.finish(sessionId, { stars: 5, description: 'Great' });
  assert.equal(finished.type, 'service_finished');
  assert.equal((await providerFinished).finished_by, 'seeker');
  assert.equal((await reconnecting).lastClose.code, 1000);
  const snapshot = await seeker.api.getSession(sessionId);
  assert.equal(snapshot.connection_state, 'completed');
  assert.equal(snapshot.rating_stars, 5);
  assert.equal(await seeker.api.activeSession('seeker'), null);
  // The reconnect (full jitter: possibly at once) may already be done by now.
  await new Promise((resolve) => {
    if (seeker.client.state.state === 'open') return resolve();
    const off = seeker.client.onState((info) => info.state === 'open' && (off(), resolve()));
  });
});

test('a message sent while the recipient was offline arrives on connect and is acknowledged', LIMIT, async () => {
  const { seeker, provider, sessionId } = await openSession();
  provider.client.close();
  const sent = await seeker.client.sendChat(sessionId, 'Are you there?');

  const later = new ProviderClient({ url: stack.httpBase, token: () => provider.token, WebSocket });
  clients.push(later);
  const received = next(later, 'chat_message');
  const delivered = next(seeker.client, 'message_status_update');
  await later.connect();
  assert.equal((await received).message_id, sent.message_id);
  assert.equal((await delivered).status, 'delivered');
});

test('server errors reject with their code', LIMIT, async () => {
  const { seeker } = await openSession();
  await assert.rejects(
    seeker.client.selectMediums('00000000-0000-4000-8000-000000000000', {}),
    (e) => e instanceof TetherError && e.code === 'not_found',
  );
  await assert.rejects(
    seeker.client.selectMediums('not-a-uuid', { call: 'abc' }),
    (e) => e instanceof TetherError && ['validation', 'not_found'].includes(e.code),
  );
  const lonely = party('seeker', 'Lonely');
  await assert.rejects(
    lonely.api.createWorkOrder({ provider_id: '00000000-0000-4000-8000-000000000000', service_type: 'x', message: '', latitude: 0, longitude: 0 }),
    (e) => e instanceof TetherError && e.status === 404,
  );
  assert.equal((await seeker.client.ping()).type, 'pong');
});

test('a token that expires on an open socket: 4401, a new token, connected again', LIMIT, async () => {
  const sub = randomUUID();
  const first = stack.mint({ sub, ttlS: 2 }).token; // the edge closes at exp + 5 s leeway
  const second = stack.mint({ sub, ttlS: 3600 }).token;
  const reasons = [];
  const client = new SeekerClient({
    url: stack.httpBase,
    WebSocket,
    // No newer token at refresh time, one after the 4401.
    token: (reason) => (reasons.push(reason), reason === 'unauthorized' ? second : first),
  });
  clients.push(client);
  await client.connect();
  const closes = [];
  await new Promise((resolve) => {
    client.onState((info) => {
      if (info.lastClose) closes.push(info.lastClose.code);
      if (info.state === 'open') resolve();
    });
  });
  assert.ok(closes.includes(4401), `closes: ${closes}`);
  assert.equal(reasons.at(-1), 'unauthorized');
  assert.equal((await client.ping()).type, 'pong');
});
