// The timeline verifier (verifyTimeline): the chain rules with WebCrypto's SHA-256 and RFC
// 8785 canonical JSON, and the protocol's order rules, as `tether-timeline verify` checks
// them. The fixture is the one the Rust verifier is tested with: an answer saved from a
// real server (services/cli/tests/fixtures/timeline.json).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { GENESIS_HASH, canonicalJson, timelineEventHash, verifyTimeline } from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const fixture = () => JSON.parse(readFileSync(join(root, 'services', 'cli', 'tests', 'fixtures', 'timeline.json'), 'utf8'));
const sha256Hex = (text) => createHash('sha256').update(text).digest('hex');

/** A chain of `specs` ([type, actor_role, data]) hashed with the rules, as the server appends. */
function chain(specs) {
  const events = [];
  for (const [i, [type, actor_role, data]] of specs.entries()) {
    const prev_hash = events.at(-1)?.hash ?? GENESIS_HASH;
    const event = { seq: i + 1, type, at: new Date(1_700_000_000_000 + i * 1000 + 5).toISOString(), actor_role, data, prev_hash };
    event.hash = sha256Hex(prev_hash + canonicalJson(event));
    events.push(event);
  }
  return { session_id: '00000000-0000-0000-0000-000000000000', events, head_hash: events.at(-1)?.hash ?? GENESIS_HASH };
}

const full = () =>
  chain([
    ['work_created', 'seeker', {}],
    ['work_accepted', 'provider', {}],
    ['chat_started', 'provider', {}],
    ['mediums_selected', 'seeker', { mediums: ['call', 'whatsapp'] }],
    ['session_active', 'seeker', {}],
    ['mediums_shared', 'provider', { mediums: [] }],
    ['arrival', 'system', { stage: 'approaching_100' }],
    ['arrival', 'system', { stage: 'arrived' }],
    ['completed', 'seeker', {}],
  ]);

test('a timeline saved from the real server verifies, with WebCrypto', async () => {
  const answer = fixture();
  const result = await verifyTimeline(answer);
  assert.deepEqual(result, { ok: true, events: answer.events.length, headHash: answer.head_hash });
  // The same hashes as node:crypto gives for prev_hash + JCS(event without hash).
  for (const event of answer.events) {
    const { hash, ...rest } = event;
    assert.equal(await timelineEventHash(event.prev_hash, event), hash);
    assert.equal(sha256Hex(event.prev_hash + canonicalJson(rest)), hash);
  }
});

test('the chain rule of the Rust unit test: prev_hash followed by the canonical event', async () => {
  const event = { seq: 1, type: 'work_created', at: '2023-11-14T22:13:20.123Z', actor_role: 'seeker', data: {}, prev_hash: GENESIS_HASH };
  const canonical = `{"actor_role":"seeker","at":"2023-11-14T22:13:20.123Z","data":{},"prev_hash":"${GENESIS_HASH}","seq":1,"type":"work_created"}`;
  assert.equal(canonicalJson(event), canonical);
  assert.equal(await timelineEventHash(GENESIS_HASH, { ...event, hash: 'ignored' }), sha256Hex(GENESIS_HASH + canonical));
});

test('canonical JSON is RFC 8785: keys by UTF-16 code units, ECMAScript numbers and strings', () => {
  // The sorting example of RFC 8785, section 3.2.3.
  const keys = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', 1: 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
  // (Read the values in the text's order: a parsed object would put the key "1" first.)
  const order = [...canonicalJson(keys).matchAll(/:"([^"]*)"/g)].map((m) => m[1]);
  assert.deepEqual(order, ['Carriage Return', 'One', 'Control', 'Latin Small Letter O With Diaeresis', 'Euro Sign', 'Emoji: Grinning Face', 'Hebrew Letter Dalet With Dagesh']);
  assert.equal(canonicalJson({ n: [1e21, 0.000001, -0, 333333333.3333333], s: 'a"\\\n\u0001é', b: [true, false, null], o: { z: {}, a: [] } }),
    '{"b":[true,false,null],"n":[1e+21,0.000001,0,333333333.3333333],"o":{"a":[],"z":{}},"s":"a\\"\\\\\\n\\u0001é"}');
  assert.throws(() => canonicalJson({ x: Number.NaN }), TypeError);
});

test('any change to an event is found at that event', async () => {
  assert.equal((await verifyTimeline(full())).ok, true);
  const cases = [
    ['at', '2023-11-14T22:13:24.006Z'],
    ['actor_role', 'provider'],
    ['data', { mediums: ['call'] }],
    ['seq', 5],
    ['extra', 1],
  ];
  for (const [field, value] of cases) {
    const answer = full();
    answer.events[3][field] = value;
    const result = await verifyTimeline(answer);
    assert.equal(result.ok, false, field);
    assert.equal(result.index, 3, `${field}: ${result.message}`);
    assert.match(result.message, /^event #4/);
  }
  // Tampering with the real server's answer too.
  const real = fixture();
  real.events[1].actor_role = 'seeker';
  const broken = await verifyTimeline(real);
  assert.equal(broken.index, 1);
  assert.match(broken.reason, /does not match the content/);
});

test('re-hashing a changed event breaks the next one; head_hash and the order rules are checked', async () => {
  const answer = full();
  const event = { ...answer.events[2], actor_role: 'seeker' };
  delete event.hash;
  event.hash = sha256Hex(event.prev_hash + canonicalJson(event));
  answer.events[2] = event;
  const result = await verifyTimeline(answer);
  assert.equal(result.index, 3, result.message);
  assert.match(result.reason, /prev_hash .* is not the previous hash/);

  const head = full();
  head.head_hash = GENESIS_HASH;
  assert.deepEqual(
    { ...(await verifyTimeline(head)), reason: undefined, message: undefined },
    { ok: false, index: null, seq: null, reason: undefined, message: undefined },
  );

  const bad = [
    chain([['work_accepted', 'provider', {}], ['work_created', 'seeker', {}]]),
    chain([['work_created', 'seeker', {}]]),
    chain([['work_created', 'seeker', {}], ['work_accepted', 'provider', {}], ['cancelled', 'seeker', {}], ['chat_started', 'seeker', {}]]),
    chain([['work_created', 'seeker', {}], ['work_accepted', 'provider', {}], ['mediums_selected', 'seeker', { mediums: ['call'] }], ['mediums_shared', 'provider', { mediums: ['call'] }]]),
    chain([['work_created', 'seeker', {}], ['work_accepted', 'provider', {}], ['mediums_shared', 'provider', { mediums: ['whatsapp', 'call'] }]]),
    chain([
      ['work_created', 'seeker', {}],
      ['work_accepted', 'provider', {}],
      ['mediums_selected', 'seeker', { mediums: ['call'] }],
      ['session_active', 'seeker', {}],
      ['arrival', 'system', { stage: 'arrived' }],
      ['arrival', 'system', { stage: 'approaching_500' }],
    ]),
    chain([['work_created', 'seeker', {}], ['work_accepted', 'provider', {}], ['chat_started', 'system', {}]]),
    chain([['work_created', 'seeker', {}], ['work_accepted', 'provider', {}], ['arrival', 'system', { stage: 'arrived' }]]),
    { ...full(), session_id: 'not-a-uuid' },
    'not an object',
  ];
  for (const [i, answer] of bad.entries()) {
    const verdict = await verifyTimeline(answer);
    assert.equal(verdict.ok, false, `case ${i}`);
  }
});

test('the SHA-256 can be given; without one the one of Node is used, and an insecure browser context rejects with a reason', async () => {
  let calls = 0;
  const sha256 = async (data) => {
    calls += 1;
    return createHash('sha256').update(data).digest();
  };
  assert.equal((await verifyTimeline(fixture(), { sha256 })).ok, true);
  assert.equal(calls, fixture().events.length);
  // Node without a global crypto (Node 18): node:crypto's WebCrypto is used.
  const savedCrypto = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true, writable: true });
  try {
    assert.equal((await verifyTimeline(fixture())).ok, true);
    // A browser in an insecure context: no crypto and no Node. `process` is hidden only
    // while verifyTimeline runs synchronously (it picks its SHA-256 before any await).
    const savedProcess = Object.getOwnPropertyDescriptor(globalThis, 'process');
    Object.defineProperty(globalThis, 'process', { value: undefined, configurable: true, writable: true });
    let verifying;
    try {
      verifying = verifyTimeline(fixture());
    } finally {
      Object.defineProperty(globalThis, 'process', savedProcess);
    }
    await assert.rejects(verifying, /secure context/);
  } finally {
    if (savedCrypto) Object.defineProperty(globalThis, 'crypto', savedCrypto);
    else delete globalThis.crypto;
  }
});
