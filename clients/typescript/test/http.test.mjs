// Unit tests of the HTTP helpers against a fake fetch.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { TetherApi, TetherError } from '../dist/index.js';

function fakeFetch(status, body) {
  const calls = [];
  const impl = async (url, init) => {
    calls.push({ url: String(url), ...init });
    return new Response(body === undefined ? '' : JSON.stringify(body), { status });
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
