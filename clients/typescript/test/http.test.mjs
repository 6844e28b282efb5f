// Unit tests of the HTTP helpers against a fake fetch.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { TetherApi, TetherError } from '../dist/index.js';

function fakeFetch(status, body, headers = {}) {
  const calls = [];
  const impl = async (url, init) => {
    calls.push({ url: String(url), ...init });
    return new Response(body === undefined ? '' : JSON.stringify(body), { status, headers });
  };
  return { impl, calls };
}

test('sends the bearer token and the JSON body', async () => {
  const { impl, calls } = fakeFetch(200, { user_id: 'u', display_name: 'Ann', mobile: null, profile_pic_url: null });
  const api = new TetherApi({ url: 'http://edge:8080', token: () => 'jwt', fetch: impl });
  const profile = await api.putProfile({ display_name: 'Ann' });
  assert.equal(profile.display_name, 'Ann');
  assert.equal(calls[0].url, 'http://edge:8080/api/v1/profile');
  assert.equal(calls[0].method, 'PUT');
  assert.equal(calls[0].headers.authorization, 'Bearer jwt');
  assert.equal(calls[0].body, '{"display_name":"Ann"}');
});

test('builds query strings without the unset fields', async () => {
  const { impl, calls } = fakeFetch(200, { providers: [] });
  const api = new TetherApi({ url: 'http://edge:8080', token: () => 'jwt', fetch: impl });
  await api.nearbyProviders({ latitude: 1.5, longitude: -2, service_type: undefined, limit: 5 });
  assert.equal(calls[0].url, 'http://edge:8080/api/v1/providers/nearby?latitude=1.5&longitude=-2&limit=5');
});

test('errors carry the server code and the status', async () => {
  const { impl } = fakeFetch(409, { error: 'Provider is not active', code: 'conflict' });
  const api = new TetherApi({ url: 'http://edge:8080', token: () => 'jwt', fetch: impl });
  await assert.rejects(
    api.createWorkOrder({ provider_id: 'p', service_type: 's', message: '', latitude: 0, longitude: 0 }),
    (e) => e instanceof TetherError && e.code === 'conflict' && e.status === 409 && e.message === 'Provider is not active',
  );
  const bare = fakeFetch(502, undefined);
  const api2 = new TetherApi({ url: 'http://edge:8080', token: () => 'jwt', fetch: bare.impl });
  await assert.rejects(api2.getProfile(), (e) => e.code === 'http' && e.status === 502);
});

test('no active session is null, not an error', async () => {
  const { impl, calls } = fakeFetch(404, { error: 'No active session', code: 'not_found' });
  const api = new TetherApi({ url: 'http://edge:8080', token: () => 'jwt', fetch: impl });
  assert.equal(await api.activeSession('seeker'), null);
  assert.equal(calls[0].url, 'http://edge:8080/api/v1/sessions/active?role=seeker');
});

test('a ws(s):// base URL works for HTTP too', async () => {
  for (const [base, expected] of [
    ['ws://edge:8080', 'http://edge:8080/api/v1/profile'],
    ['wss://edge', 'https://edge/api/v1/profile'],
    ['https://edge/', 'https://edge/api/v1/profile'],
  ]) {
    const { impl, calls } = fakeFetch(200, {});
    await new TetherApi({ url: base, token: 'jwt', fetch: impl }).getProfile();
    assert.equal(calls[0].url, expected);
  }
  assert.throws(() => new TetherApi({ url: 'ftp://edge', token: 'jwt' }), TypeError);
});

test('network failures reject with TetherError network, the fetch error as cause', async () => {
  const cause = new TypeError('fetch failed');
  const api = new TetherApi({
    url: 'http://127.0.0.1:1',
    token: () => 'jwt',
    fetch: async () => {
      throw cause;
    },
  });
  await assert.rejects(
    api.getProfile(),
    (e) => e instanceof TetherError && e.code === 'network' && e.cause === cause && e.status === undefined && /GET \/api\/v1\/profile failed/.test(e.message),
  );
});

test('a call without an answer in time rejects with timeout', async () => {
  const api = new TetherApi({
    url: 'http://edge',
    token: 'jwt',
    requestTimeoutMs: 20,
    fetch: (_url, init) =>
      new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))),
  });
  await assert.rejects(api.getProfile(), (e) => e instanceof TetherError && e.code === 'timeout');
});

test('an empty token rejects with no_token and sends nothing', async () => {
  const { impl, calls } = fakeFetch(200, {});
  assert.throws(() => new TetherApi({ url: 'http://edge', token: '', fetch: impl }), TypeError);
  for (const empty of [undefined, null, '', ' ']) {
    const api = new TetherApi({ url: 'http://edge', token: () => empty, fetch: impl });
    await assert.rejects(api.getProfile(), (e) => e instanceof TetherError && e.code === 'no_token');
  }
  assert.equal(calls.length, 0);
});

test('retry_after_ms (body) and Retry-After (header) reach retryAfterMs', async () => {
  const body = fakeFetch(503, { error: 'Service unavailable', code: 'unavailable', retry_after_ms: 1200 }, { 'retry-after': '2' });
  await assert.rejects(
    new TetherApi({ url: 'http://edge', token: 'jwt', fetch: body.impl }).getProfile(),
    (e) => e.code === 'unavailable' && e.status === 503 && e.retryAfterMs === 1200,
  );
  const header = fakeFetch(429, { error: 'Too many requests', code: 'rate_limited' }, { 'retry-after': '3' });
  await assert.rejects(
    new TetherApi({ url: 'http://edge', token: 'jwt', fetch: header.impl }).getProfile(),
    (e) => e.code === 'rate_limited' && e.retryAfterMs === 3000,
  );
  const proxy = fakeFetch(503, undefined);
  await assert.rejects(
    new TetherApi({ url: 'http://edge', token: 'jwt', fetch: proxy.impl }).getProfile(),
    (e) => e.code === 'unavailable' && e.status === 503 && e.retryAfterMs === undefined,
  );
});

test('the rating has the shape finish() takes', async () => {
  const { impl, calls } = fakeFetch(200, { session_id: 's', rating_stars: 4, rating_description: null, rated_at: 't' });
  const api = new TetherApi({ url: 'http://edge', token: 'jwt', fetch: impl });
  await api.rate('s', { rating_stars: 4 });
  assert.equal(calls[0].body, '{"rating_stars":4}');
});
