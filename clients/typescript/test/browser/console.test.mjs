// The web console in headless Chromium (Debian's `chromium`, driven by playwright-core):
// one whole session through both panes against the real stack, with a screenshot: chat
// masked while waiting, the peer's presence, distance, trend and ETA, arrival stage, the
// cadence row, and the session's timeline with its hash chain verified in the browser
// (and a tampered one caught).
// Run with `npm run test:browser` (scripts/test does, after installing Chromium when it
// is missing). The screenshot goes to $TETHER_SCREENSHOT (default .tether/console.png);
// TETHER_UPDATE_FIXTURES=1 also rewrites docs/console.png, the one the README shows.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { startStack } from '../stack.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const CHROMIUM = process.env.TETHER_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOT = process.env.TETHER_SCREENSHOT ?? join(root, '.tether', 'console.png');
// Without the background-networking flags Chromium waits on services it cannot reach
// on a closed network.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// A hang fails the test instead of stalling the suite (a per-test option: Debian's
// Node 18 has no --test-timeout flag). The whole session waits 20 s for a trend.
const LIMIT = { timeout: 60_000 };
const SESSION_LIMIT = { timeout: 150_000 };
/** The server gives a trend once its distances span this long (protocol 1.1). */
const TREND_WINDOW_MS = 20_000;

let stack;
let context;
let profileDir;

before(async () => {
  // (The test stack turns 1.2's speed check off: dragging a marker teleports a party.)
  stack = await startStack();
  profileDir = mkdtempSync(join(tmpdir(), 'tether-chromium-'));
  // A persistent context is how playwright takes a --user-data-dir of our own.
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1440, height: 1150 },
  });
});

after(async () => {
  await context?.close();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  await stack?.stop();
});

/** Polls until the element's text matches `pattern`. */
async function expectText(locator, pattern, ms = 15_000) {
  const deadline = Date.now() + ms;
  let text = '';
  while (Date.now() < deadline) {
    text = (await locator.textContent().catch(() => '')) ?? '';
    if (pattern.test(text)) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`expected ${pattern} in ${locator}, got ${JSON.stringify(text)}`);
}

/** Polls until `predicate()` resolves truthy. */
async function until(predicate, what, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out: ${what}`);
}

/** Drags a map marker by (dx, dy) screen pixels, in steps like a hand would. */
async function drag(page, marker, dx, dy) {
  const box = await marker.boundingBox();
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + dx, y + dy, { steps: 8 });
  await page.mouse.up();
}

test('one whole session through the console, both panes', SESSION_LIMIT, async () => {
  const seekerToken = stack.mint({ name: 'Demo Seeker' }).token;
  const providerToken = stack.mint({ name: 'Demo Provider' }).token;
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // Chromium logs every 4xx to the console; the expected one (no active session, asked on
  // connect) is allowed, any other failed response is an error.
  page.on('response', (response) => {
    const url = new URL(response.url());
    const expected = response.status() === 404 && url.pathname === '/api/v1/sessions/active';
    if (response.status() >= 400 && !expected) pageErrors.push(`${response.status()} ${url.pathname}`);
  });
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(message.text());
  });

  await page.goto(`${stack.httpBase}/console/#seeker=${seekerToken}&provider=${providerToken}`);
  const seeker = (id) => page.locator(`#seeker [data-testid=${id}]`);
  const provider = (id) => page.locator(`#provider [data-testid=${id}]`);
  const timelineStatus = page.locator('[data-testid=timeline-status]');
  const timelineTypes = () => page.locator('[data-testid=timeline-event]').evaluateAll((items) => items.map((item) => item.dataset.type));

  // Both panes connect by themselves with the tokens from the address, which then
  // leaves the address bar.
  await expectText(seeker('state'), /^open$/);
  await expectText(provider('state'), /^open$/);
  assert.equal(new URL(page.url()).hash, '');

  // Profiles and the provider's availability.
  await seeker('name').fill('Sam Seeker');
  await seeker('save-profile').click();
  await expectText(seeker('who'), /profile saved/);
  await provider('name').fill('Pat Provider');
  await provider('save-profile').click();
  await expectText(provider('who'), /profile saved/);
  // A service type of this run's own: the test database holds other tests' providers.
  const service = `plumbing-${Date.now().toString(36)}`;
  await provider('service-type').fill(service);
  await seeker('service-type').fill(service);
  await provider('go-active').click();
  await expectText(provider('status'), new RegExp(`active for ${service}`));

  // The seeker finds the provider and orders; the provider accepts.
  await seeker('find').click();
  await expectText(seeker('providers'), /Pat Provider/);
  assert.equal(await seeker('request').count(), 1);
  await seeker('request').click();
  await expectText(seeker('order-status'), /pending/);
  await expectText(provider('orders'), /Leaking tap/);
  await provider('accept').click();
  await expectText(seeker('session-state'), /^waiting$/);
  await expectText(provider('session-state'), /^waiting$/);
  // Each pane's session read the snapshot: the other party is online.
  await expectText(seeker('presence'), /^online$/);
  await expectText(provider('presence'), /^online$/);
  await expectText(timelineStatus, /chain verified here: 2 events/);

  // While the session waits, contact details in chat are masked: both panes say so.
  await provider('chat-input').fill('Call me on +49 151 2345678');
  await provider('send').click();
  await expectText(seeker('incoming'), /^Call me on \[hidden\]masked$/);
  await expectText(seeker('redacted'), /^masked$/);
  await expectText(provider('redacted'), /masked for the other party/);
  await expectText(provider('receipt'), /read/);

  // Mediums: the seeker's selection activates the session; the provider shares back.
  await seeker('select-mediums').click();
  await expectText(seeker('session-state'), /^active$/);
  const activeAt = Date.now();
  await expectText(provider('session-state'), /^active$/);
  await expectText(provider('peer-mediums'), /call \+4915100000001/);
  await provider('medium-whatsapp').check();
  await provider('share-mediums').click();
  await expectText(seeker('peer-mediums'), /whatsapp \+4915100000002/);
  // The cadence row: the band once a 1.2 server announces one, until then "not announced".
  await expectText(seeker('cadence'), /not announced|a fix every|stop sending/);

  // Both parties on the map: drag each marker; the distance follows.
  await drag(page, page.locator('[data-testid=marker-seeker]'), 10, -10);
  await drag(page, page.locator('[data-testid=marker-provider]'), -10, 10);
  const first = await expectText(seeker('distance'), /(meters|km) away/);
  await expectText(provider('distance'), /(meters|km) away/);
  await drag(page, page.locator('[data-testid=marker-provider]'), -120, 120);
  // Updates also flow while dragging: wait until both panes and the map settle on one
  // new distance.
  await until(async () => {
    const shown = await Promise.all([seeker('distance'), provider('distance'), page.locator('[data-testid=map-distance]')].map((l) => l.textContent()));
    return shown[0] !== first && shown.every((text) => text === shown[0]);
  }, 'both panes and the map show the same new distance');
  await expectText(seeker('stage'), /within (500|100) m/);

  // Chat with typing, receipts both ways.
  await provider('chat-input').pressSequentially('On my');
  await expectText(seeker('typing'), /provider is typing/);
  await provider('chat-input').pressSequentially(' way, 5 minutes');
  await provider('send').click();
  await expectText(seeker('chat'), /On my way, 5 minutes/);
  await expectText(provider('receipt').last(), /read/); // the seeker's pane shows it, so reads it
  await seeker('chat-input').fill('Great, the door is open');
  await seeker('send').click();
  await expectText(provider('chat'), /the door is open/);
  await expectText(seeker('receipt'), /read/);

  // Presence: the provider's pane disconnects and comes back.
  await provider('disconnect').click();
  await expectText(seeker('presence'), /^offline$/);
  await provider('connect').click();
  await expectText(provider('state'), /^open$/);
  await expectText(seeker('presence'), /^online$/);

  // The provider walks up to the seeker once the distances span the trend's window: the
  // stage is `arrived`, the trend `approaching` with an ETA.
  const wait = activeAt + TREND_WINDOW_MS + 2_000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const at = await page.locator('[data-testid=marker-seeker]').boundingBox();
  const from = await page.locator('[data-testid=marker-provider]').boundingBox();
  await drag(page, page.locator('[data-testid=marker-provider]'), at.x - from.x + 4, at.y - from.y + 4);
  await expectText(seeker('stage'), /^arrived$/);
  await expectText(provider('stage'), /^arrived$/);
  await expectText(seeker('trend'), /^approaching · ETA \d+ s$/);
  await expectText(provider('trend'), /^approaching/);

  // The timeline, read again after the arrival, verifies in the browser.
  const arrivals = () => page.locator('[data-testid=timeline-event][data-type=arrival]').evaluateAll((items) => items.map((item) => item.dataset.detail));
  await until(async () => (await arrivals()).includes('arrived'), 'the arrival in the timeline');
  await expectText(timelineStatus, /^✓ chain verified here: \d+ events, head [0-9a-f]{12}…$/);
  const types = await timelineTypes();
  for (const type of ['work_created', 'work_accepted', 'chat_started', 'mediums_selected', 'session_active', 'mediums_shared', 'arrival']) {
    assert.ok(types.includes(type), `${type} in ${types}`);
  }
  assert.equal(await page.locator('[data-testid=timeline-event].ok').count(), types.length);

  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  if (process.env.TETHER_UPDATE_FIXTURES === '1') copyFileSync(SCREENSHOT, join(root, 'docs', 'console.png'));

  // A timeline changed on its way (one field of event 3) is caught at that event.
  await page.route('**/api/v1/sessions/*/timeline', async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    body.events[2].actor_role = body.events[2].actor_role === 'seeker' ? 'provider' : 'seeker';
    await route.fulfill({ response, json: body });
  });
  await page.locator('[data-testid=timeline-refresh]').click();
  await expectText(timelineStatus, /^✗ event #3 \(seq 3\): hash [0-9a-f]{64} does not match the content/);
  assert.equal(await page.locator('[data-testid=timeline-event].broken').count(), 1);
  assert.equal(await page.locator('[data-testid=timeline-event].ok').count(), 2);
  await page.unroute('**/api/v1/sessions/*/timeline');
  await page.locator('[data-testid=timeline-refresh]').click();
  await expectText(timelineStatus, /^✓ chain verified here/);

  // The seeker finishes and rates; both panes show the end, and the clients reconnect
  // after the server closes the session's sockets.
  await seeker('rating').selectOption('5');
  await seeker('finish').click();
  await expectText(seeker('session-state'), /^completed$/);
  await expectText(provider('session-state'), /^completed$/);
  await expectText(seeker('state'), /^open$/);
  await expectText(provider('state'), /^open$/);
  await until(async () => (await timelineTypes()).at(-1) === 'completed', 'completed ends the timeline');
  await expectText(timelineStatus, /^✓ chain verified here/);

  const sessionId = await seeker('session-id').textContent();
  const snapshot = await fetch(`${stack.httpBase}/api/v1/sessions/${sessionId}`, {
    headers: { authorization: `Bearer ${seekerToken}` },
  }).then((r) => r.json());
  assert.equal(snapshot.connection_state, 'completed');
  assert.equal(snapshot.rating_stars, 5);
  assert.equal(snapshot.rating_description, 'Quick and friendly');
  assert.equal(snapshot.arrival_stage, 'arrived');
  assert.deepEqual(pageErrors, []);
});

test('the console page holds no token or secret of its own', LIMIT, async () => {
  const html = await fetch(`${stack.httpBase}/console/`);
  assert.equal(html.status, 200);
  assert.match(html.headers.get('content-security-policy'), /connect-src 'self'/);
  const script = await fetch(`${stack.httpBase}/console/console.js`).then((r) => r.text());
  assert.doesNotMatch(script, /eyJ[\w-]+\.[\w-]+\./, 'no JWT baked in');
  assert.doesNotMatch(script, /tether-(dev|test)-secret/);
});

test('a refused token: the pane says unauthorized with HTTP 401 and stops retrying', LIMIT, async () => {
  // Chromium's WebSocket reports a refused upgrade only as a failed connection (1006); the
  // SDK's probe of the socket path tells the 401.
  const providerToken = stack.mint({ name: 'Demo Provider' }).token;
  const page = await context.newPage();
  const sockets = [];
  page.on('websocket', (socket) => sockets.push(socket.url()));
  try {
    await page.goto(`${stack.httpBase}/console/#seeker=not-a-valid-token&provider=${providerToken}`);
    const seeker = (id) => page.locator(`#seeker [data-testid=${id}]`);
    await expectText(seeker('state'), /^closed$/);
    await expectText(seeker('error'), /unauthorized.*401/);
    await expectText(page.locator('#provider [data-testid=state]'), /^open$/);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(sockets.filter((url) => url.includes('/ws/work/seeker/')).length, 1, 'one attempt, no retries');
  } finally {
    await page.close();
  }
});
