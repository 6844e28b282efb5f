// The SDK against the real stack (tether-test-stack: every service, real NATS and
// PostgreSQL, real sockets): one whole session, the session object (masked chat, presence,
// arrival, receipts) with the location reporter and the timeline verified, the re-send on
// connect, errors, a token that expires on an open socket, refused and unreachable
// connections, receipts lost with their socket, errors of commands without an answer, and
// the README example as it is.
// Run with `npm run test:integration`.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { WebSocket as NodeWebSocket } from 'ws';

import {
  LocationReporter,
  ProviderClient,
  SeekerClient,
  TetherApi,
  TetherConnectionError,
  TetherError,
  TetherSession,
  verifyTimeline,
} from '../../dist/index.js';
import { startStack } from '../stack.mjs';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

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
  await seeker.client.updateLocation(sessionId, 52.52, 13.405); // resolves: the server took it
  await provider.client.updateLocation(sessionId, 52.529, 13.405);
  const [forSeeker, forProvider] = await distances;
  assert.equal(forSeeker.distance_meters, forProvider.distance_meters);
  assert.match(forSeeker.distance_formatted, /^1\.0 km away$/);

  // Chat: message_sent, automatic delivery receipt, read receipt, typing.
  const typing = next(provider.client, 'typing_indicator');
  await seeker.client.typing(sessionId, true);
  assert.equal((await typing).is_typing, true);
  const received = next(provider.client, 'chat_message');
  const delivered = next(seeker.client, 'message_status_update');
  const sent = await seeker.client.sendChat(sessionId, 'On my way?');
  const message = await received;
  assert.equal(message.message_id, sent.message_id);
  assert.equal(message.message, 'On my way?');
  assert.deepEqual([(await delivered).status, (await delivered).message_id], ['delivered', sent.message_id]);
  const read = next(seeker.client, 'message_status_update');
  await provider.client.markRead(message.message_id);
  assert.equal((await read).status, 'read');
  const history = await seeker.api.messages(sessionId);
  assert.deepEqual(history.messages.map((m) => [m.message, m.delivery_status]), [['On my way?', 'read']]);

  // Finish with a rating: both told, then the server closes both sockets with 1000 and
  // the clients reconnect by themselves.
  const providerFinished = next(provider.client, 'service_finished');
  const reconnecting = new Promise((resolve) => {
    const off = seeker.client.onState((info) => info.state === 'reconnecting' && (off(), resolve(info)));
  });
  const finished = await seeker.client.finish(sessionId, { rating_stars: 5, rating_description: 'Great' });
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

test('the session object, the location reporter and the timeline against the real stack', LIMIT, async () => {
  const { seeker, provider, sessionId } = await openSession();
  const seekerSession = new TetherSession(seeker.client, { api: seeker.api });
  const providerSession = new TetherSession(provider.client, { api: provider.api });
  try {
    // Taken up from the snapshot (the socket was already open, the work_accepted came before).
    await seekerSession.refresh();
    await providerSession.refresh();
    assert.equal(seekerSession.id, sessionId);
    assert.equal(seekerSession.state, 'waiting');
    assert.equal(seekerSession.peer.status, 'online');
    assert.equal(providerSession.peer.status, 'online');

    // Chat while waiting: the stored text is masked, both sides know.
    const masked = seeker.client.waitFor('chat_message', { timeoutMs: 10_000 });
    const sent = await providerSession.sendChat('Call me on +49 151 2345678');
    assert.equal(sent.redacted, true);
    assert.equal((await masked).message, 'Call me on [hidden]');
    const shown = seekerSession.messages.find((m) => m.message_id === sent.message_id);
    assert.deepEqual([shown.message, shown.redacted, shown.mine], ['Call me on [hidden]', true, false]);
    const read = provider.client.waitFor('message_status_update', { timeoutMs: 10_000, filter: (m) => m.status === 'read' });
    await seekerSession.markRead(sent.message_id);
    await read;
    assert.equal(providerSession.messages.find((m) => m.message_id === sent.message_id).delivery_status, 'read');

    // Active; fixes through the reporters, which follow the server's cadence (a 1.1 server
    // sends none: then every fix goes).
    await seeker.client.selectMediums(sessionId, { call: '+4915112345678' });
    await until(() => providerSession.state === 'active');
    // A 1.2 server announces cadences (the session then holds the last one); a 1.1 server none.
    const cadences = [];
    seeker.client.on('location_cadence', ({ band, interval_s, min_move_m }) => cadences.push({ band, interval_s, min_move_m }));
    const seekerReporter = new LocationReporter(seekerSession);
    const providerReporter = new LocationReporter(providerSession);
    const arrived = Promise.all([
      seeker.client.waitFor('arrival_update', { timeoutMs: 10_000, filter: (m) => m.stage === 'arrived' }),
      provider.client.waitFor('arrival_update', { timeoutMs: 10_000, filter: (m) => m.stage === 'arrived' }),
    ]);
    seekerReporter.report({ latitude: 52.52, longitude: 13.405 });
    providerReporter.report({ latitude: 52.524, longitude: 13.405 }); // ~445 m
    await until(() => seekerSession.distance !== null && seekerSession.stage === 'approaching_500');
    assert.equal(seekerSession.distance.formatted, '445 meters away');
    providerReporter.report({ latitude: 52.5202, longitude: 13.405 }); // ~22 m
    await arrived;
    assert.equal(seekerSession.stage, 'arrived');
    assert.equal(providerSession.stage, 'arrived');
    // The reporter waited for the cadence's interval if there was one (the stage came all the same).
    assert.deepEqual(seekerSession.cadence, cadences.at(-1) ?? null);
    if (cadences.length > 0) assert.deepEqual(cadences.at(-1), { band: 'arrived', interval_s: 0, min_move_m: 0 });
    seekerReporter.dispose();
    providerReporter.dispose();

    // Presence: the provider's socket closes, the seeker is told.
    provider.client.close();
    await until(() => seekerSession.peer?.status === 'offline');

    // The timeline, verified with WebCrypto as the console does.
    const timeline = await seeker.api.timeline(sessionId);
    const result = await verifyTimeline(timeline);
    assert.equal(result.ok, true, result.message);
    assert.deepEqual(
      timeline.events.map((e) => e.type),
      ['work_created', 'work_accepted', 'chat_started', 'mediums_selected', 'session_active', 'arrival', 'arrival'],
    );
    assert.deepEqual(timeline.events.filter((e) => e.type === 'arrival').map((e) => e.data.stage), ['approaching_500', 'arrived']);
  } finally {
    seekerSession.dispose();
    providerSession.dispose();
  }
});

/** Polls until `predicate()` is truthy. */
async function until(predicate, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms: ${predicate}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

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

// ---- connections that cannot open ----

/** A port on this machine where nothing listens. */
async function closedPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `ws`'s WebSocket, hiding why an upgrade failed as browsers and Node 22 do. */
class SilentWebSocket extends NodeWebSocket {
  get onerror() {
    return super.onerror;
  }
  set onerror(handler) {
    super.onerror = handler && (() => handler({ type: 'error' }));
  }
}

test('a bad token: connect() rejects with unauthorized and HTTP 401 after asking the provider again', LIMIT, async () => {
  for (const Impl of [WebSocket, SilentWebSocket]) {
    const reasons = [];
    const bad = stack.mint().token.replace(/\.[^.]+$/, '.not-the-signature');
    const client = new SeekerClient({ url: stack.httpBase, WebSocket: Impl, token: (reason) => (reasons.push(reason), bad) });
    clients.push(client);
    await assert.rejects(
      client.connect(),
      (e) => e instanceof TetherConnectionError && e.code === 'unauthorized' && e.status === 401,
      Impl.name,
    );
    assert.deepEqual(reasons, ['connect', 'unauthorized'], Impl.name);
    assert.equal(client.state.state, 'closed');
  }
});

test('a refused token replaced by the provider connects with the new one', LIMIT, async () => {
  const { token } = stack.mint();
  const tokens = ['not.a.jwt', token];
  const reasons = [];
  const client = new SeekerClient({ url: stack.httpBase, WebSocket, backoffBaseMs: 50, token: (reason) => (reasons.push(reason), tokens.shift() ?? token) });
  clients.push(client);
  await client.connect();
  assert.deepEqual(reasons, ['connect', 'unauthorized']);
  assert.equal((await client.ping()).type, 'pong');
});

test('a wrong port: the state says network, connectTimeoutMs rejects connect(), HTTP rejects with network', LIMIT, async () => {
  const url = `ws://127.0.0.1:${await closedPort()}`;
  const { token } = stack.mint();
  const client = new SeekerClient({ url, token, WebSocket, connectTimeoutMs: 1500, backoffBaseMs: 100 });
  clients.push(client);
  const errors = [];
  client.onState((info) => info.error && errors.push(info.error.code));
  await assert.rejects(client.connect(), (e) => e instanceof TetherConnectionError && e.code === 'timeout' && e.cause?.code === 'network');
  assert.ok(errors.includes('network'), `errors: ${errors}`);
  await assert.rejects(new TetherApi({ url, token }).getProfile(), (e) => e instanceof TetherError && e.code === 'network' && /ECONNREFUSED/.test(e.message));
});

// ---- commands without an answer on success ----

test('location, typing and receipts resolve when taken and reject with the server\'s error', LIMIT, async () => {
  const { seeker, provider, sessionId } = await openSession();
  const unknown = '00000000-0000-4000-8000-000000000000';
  await assert.rejects(seeker.client.updateLocation(unknown, 52.5, 13.4), (e) => e instanceof TetherError && e.code === 'not_found');
  await assert.rejects(seeker.client.updateLocation(sessionId, 91, 13.4), (e) => e.code === 'validation');
  await assert.rejects(seeker.client.typing(unknown, true), (e) => e.code === 'not_found');
  await assert.rejects(provider.client.markRead(unknown), (e) => e.code === 'not_found');
  await seeker.client.updateLocation(sessionId, 52.52, 13.405);
  await seeker.client.typing(sessionId, false);
  const received = provider.client.waitFor('chat_message', { timeoutMs: 10_000 });
  const sent = await seeker.client.sendChat(sessionId, 'Read?');
  assert.equal((await received).message_id, sent.message_id);
  await provider.client.markRead(sent.message_id);
});

test('a read receipt lost with its socket reaches the sender after the reconnect', LIMIT, async () => {
  const { seeker, provider: first, sessionId } = await openSession();
  first.client.close();
  // The provider's socket dies as its read receipt is written: the frame never leaves.
  let drop = false;
  class LossyWebSocket extends NodeWebSocket {
    send(data) {
      if (drop && JSON.parse(data).type === 'message_read') {
        drop = false;
        this.terminate();
        return;
      }
      super.send(data);
    }
  }
  const provider = new ProviderClient({ url: stack.httpBase, WebSocket: LossyWebSocket, backoffBaseMs: 50, token: first.token });
  clients.push(provider);
  await provider.connect();
  const received = provider.waitFor('chat_message', { timeoutMs: 10_000 });
  const sent = await seeker.client.sendChat(sessionId, 'Read me');
  const message = await received;
  assert.equal(message.message_id, sent.message_id);
  const read = seeker.client.waitFor('message_status_update', { timeoutMs: 15_000, filter: (m) => m.status === 'read' });
  drop = true;
  const marked = provider.markRead(message.message_id);
  const update = await read;
  assert.equal(update.message_id, sent.message_id);
  await marked;
  const history = await seeker.api.messages(sessionId);
  assert.equal(history.messages.at(-1).delivery_status, 'read');
});

// ---- the README example ----

test('the README example runs against the stack; with a bad token it says unauthorized 401', LIMIT, async () => {
  const source = readFileSync(join(pkg, 'examples', 'node.ts'), 'utf8').replace("'http://127.0.0.1:8080'", JSON.stringify(stack.httpBase));
  // Run from the package folder, where `@tether/client` resolves to this package.
  const good = spawn(process.execPath, ['--input-type=module', '-e', source], { cwd: pkg, env: { ...process.env, TOKEN: stack.mint().token } });
  let out = '';
  good.stdout.on('data', (chunk) => (out += chunk));
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no providers printed: ${out}`)), 20_000);
      good.stdout.on('data', () => /providers/.test(out) && (clearTimeout(timer), resolve()));
      good.once('exit', (code) => (clearTimeout(timer), reject(new Error(`exited ${code}: ${out}`))));
    });
  } finally {
    good.kill();
  }
  assert.match(out, /socket open/);

  const bad = await new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', source], { cwd: pkg, env: { ...process.env, TOKEN: 'not-a-token' } }, (error, stdout, stderr) =>
      resolve({ code: error?.code ?? 0, stderr }),
    );
  });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /not connected: unauthorized 401/);
});
