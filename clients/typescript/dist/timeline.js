// Checking a session's timeline (`GET /api/v1/sessions/{session_id}/timeline`) where it is
// shown: the hash chain recomputed with the platform's SHA-256 (WebCrypto, in browsers and
// Node), and every rule of the protocol's "Session timeline" section, as the server's own
// verifier (`tether-timeline verify`, services/cli/src/timeline.rs) checks them:
// - `seq` is 1, 2, 3, ...;
// - `prev_hash` is 64 zeros for the first event, the previous `hash` after that;
// - `hash` = lowercase hex SHA-256(`prev_hash` + JCS(the event as received, minus `hash`)),
//   so any change to any field, or an added one, shows;
// - `type` is known, `at` is RFC 3339 UTC with `Z` and milliseconds, `actor_role` is the one
//   the type requires, `data` has the type's shape;
// - order: `work_created` then `work_accepted` first (and never again), at most one
//   `chat_started`, `session_active` once, right after the first `mediums_selected`,
//   arrival stages only once active, each closer than the last, `cancelled`/`completed`
//   only last;
// - and for the whole answer: a UUID `session_id`, at least the two first events, and
//   `head_hash` equal to the last `hash`.
/** `prev_hash` of the first event: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);
/** Arrival stages, farthest first (the order they may be announced in). */
const ARRIVAL_STAGES = ['approaching_500', 'approaching_100', 'arrived'];
const MEDIUM_NAMES = ['call', 'telegram', 'whatsapp'];
const ACTORS = {
    work_created: ['seeker'],
    mediums_selected: ['seeker'],
    session_active: ['seeker'],
    work_accepted: ['provider'],
    mediums_shared: ['provider'],
    arrival: ['system'],
    chat_started: ['seeker', 'provider'],
    cancelled: ['seeker', 'provider'],
    completed: ['seeker', 'provider'],
};
const TERMINAL = new Set(['cancelled', 'completed']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/**
 * RFC 8785 (JCS) canonical JSON of a value parsed from JSON: object keys sorted by UTF-16
 * code units, no whitespace, strings and numbers as ECMAScript's `JSON.stringify` writes
 * them (which is what JCS specifies).
 */
export function canonicalJson(value) {
    if (value === null || typeof value === 'string' || typeof value === 'boolean')
        return JSON.stringify(value);
    if (typeof value === 'number') {
        if (!Number.isFinite(value))
            throw new TypeError('JSON has no NaN or Infinity');
        return JSON.stringify(value);
    }
    if (Array.isArray(value))
        return `[${value.map(canonicalJson).join(',')}]`;
    if (typeof value === 'object') {
        const object = value;
        const keys = Object.keys(object).sort();
        return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`).join(',')}}`;
    }
    throw new TypeError(`${typeof value} is not a JSON value`);
}
/**
 * The chain rule: lowercase hex SHA-256 of `prevHash` (64 ASCII characters) followed by the
 * JCS canonical JSON of the event object without its `hash` field (removed here if present).
 */
export async function timelineEventHash(prevHash, event, options = {}) {
    const { hash: _hash, ...rest } = event;
    const bytes = new TextEncoder().encode(prevHash + canonicalJson(rest));
    const digest = await (options.sha256 ?? webCryptoSha256())(bytes);
    let hex = '';
    for (const byte of new Uint8Array(digest))
        hex += byte.toString(16).padStart(2, '0');
    return hex;
}
/**
 * Checks a timeline answer (as parsed from JSON: pass the response body, not a copy that
 * dropped or reordered fields) against every rule of the protocol, recomputing each hash.
 * Resolves with the first rule broken, or `ok`; rejects only when no SHA-256 is available
 * (WebCrypto needs a secure context in browsers: https, or http on localhost).
 */
export async function verifyTimeline(answer, options = {}) {
    const sha256 = options.sha256 ?? webCryptoSha256();
    const whole = (reason) => ({ ok: false, index: null, seq: null, reason, message: `timeline: ${reason}` });
    if (!isObject(answer))
        return whole('the answer is not a JSON object');
    const { session_id: sessionId, events, head_hash: headHash } = answer;
    if (typeof sessionId !== 'string')
        return whole('session_id is missing or not a string');
    if (!UUID.test(sessionId))
        return whole('session_id is not a UUID');
    if (!Array.isArray(events))
        return whole('events is missing or not an array');
    const order = { previous: undefined, seen: new Set(), stage: -1 };
    let prevHash = GENESIS_HASH;
    for (const [index, event] of events.entries()) {
        const seq = isObject(event) && Number.isSafeInteger(event.seq) ? event.seq : null;
        const reason = isObject(event) ? await checkEvent(index, event, prevHash, order, sha256) : 'not a JSON object';
        if (typeof reason === 'string') {
            const where = seq === null ? `event #${index + 1}` : `event #${index + 1} (seq ${seq})`;
            return { ok: false, index, seq, reason, message: `${where}: ${reason}` };
        }
        prevHash = reason.hash;
    }
    if (order.previous === 'mediums_selected' && !order.seen.has('session_active')) {
        return whole('the first mediums_selected is not followed by session_active');
    }
    if (events.length < 2)
        return whole(`${events.length} event(s): work_created and work_accepted are always there`);
    if (typeof headHash !== 'string')
        return whole('head_hash is missing or not a string');
    if (headHash !== prevHash)
        return whole(`head_hash ${headHash} is not the last event's hash ${prevHash}`);
    return { ok: true, events: events.length, headHash: prevHash };
}
/** Checks one event: its hash (the next `prev_hash`), or the rule it breaks. */
async function checkEvent(index, event, expectedPrev, order, sha256) {
    const missing = (name) => !(name in event);
    const { seq, prev_hash: prevHash, hash, type, at, actor_role: actor, data } = event;
    if (missing('seq'))
        return 'seq is missing';
    if (!Number.isSafeInteger(seq))
        return 'seq is not an integer';
    if (seq !== index + 1)
        return `seq ${String(seq)} where ${index + 1} was due`;
    if (missing('prev_hash'))
        return 'prev_hash is missing';
    if (typeof prevHash !== 'string')
        return 'prev_hash is not a string';
    if (prevHash !== expectedPrev)
        return `prev_hash ${prevHash} is not the previous hash ${expectedPrev}`;
    if (missing('hash'))
        return 'hash is missing';
    if (typeof hash !== 'string')
        return 'hash is not a string';
    const computed = await timelineEventHash(prevHash, event, { sha256 });
    if (hash !== computed)
        return `hash ${hash} does not match the content (recomputed ${computed})`;
    if (missing('type'))
        return 'type is missing';
    if (typeof type !== 'string')
        return 'type is not a string';
    const allowed = Object.hasOwn(ACTORS, type) ? ACTORS[type] : undefined;
    if (!allowed)
        return `unknown type ${JSON.stringify(type)}`;
    if (missing('at'))
        return 'at is missing';
    if (typeof at !== 'string')
        return 'at is not a string';
    if (!AT.test(at) || Number.isNaN(Date.parse(at)) || new Date(at).toISOString() !== at) {
        return `at ${JSON.stringify(at)} is not UTC with a Z suffix and millisecond precision`;
    }
    if (missing('actor_role'))
        return 'actor_role is missing';
    if (typeof actor !== 'string')
        return 'actor_role is not a string';
    if (!allowed.includes(actor))
        return `actor_role ${JSON.stringify(actor)} for ${type} (expected ${allowed.join(' or ')})`;
    if (missing('data'))
        return 'data is missing';
    if (!isObject(data))
        return 'data is not an object';
    const shape = checkData(type, data);
    if (shape)
        return shape;
    const rule = checkOrder(index, type, data, order);
    if (rule)
        return rule;
    return { hash };
}
function checkData(type, data) {
    const keys = Object.keys(data);
    if (type === 'mediums_selected' || type === 'mediums_shared') {
        const names = data.mediums;
        if (keys.length !== 1 || !Array.isArray(names))
            return 'data must be {"mediums": [names]}';
        const strings = names.filter((name) => typeof name === 'string');
        const sorted = [...new Set(strings)].sort();
        if (strings.length !== names.length || strings.join() !== sorted.join() || !strings.every((name) => MEDIUM_NAMES.includes(name))) {
            return `data.mediums must be distinct names from ${JSON.stringify(MEDIUM_NAMES)}, sorted`;
        }
    }
    else if (type === 'arrival') {
        const stage = data.stage;
        if (keys.length !== 1 || typeof stage !== 'string' || !ARRIVAL_STAGES.includes(stage)) {
            return `data must be {"stage": one of ${JSON.stringify(ARRIVAL_STAGES)}}`;
        }
    }
    else if (keys.length > 0) {
        return `data of ${type} must be {}`;
    }
    return undefined;
}
function checkOrder(index, type, data, order) {
    if (order.previous !== undefined && TERMINAL.has(order.previous))
        return 'an event after the session ended';
    const first = !order.seen.has(type);
    order.seen.add(type);
    if (index === 0 || index === 1) {
        const due = index === 0 ? 'work_created' : 'work_accepted';
        if (type !== due)
            return `the ${index === 0 ? 'first' : 'second'} event must be ${due}`;
    }
    else if (type === 'work_created' || type === 'work_accepted') {
        return `${type} only as event ${Math.min(index, 1) + 1}`;
    }
    else if ((type === 'chat_started' || type === 'session_active') && !first) {
        return `a second ${type}`;
    }
    const active = order.seen.has('session_active');
    if (type === 'session_active' && order.previous !== 'mediums_selected') {
        return 'session_active must follow the first mediums_selected';
    }
    if (type === 'arrival') {
        if (!active)
            return 'arrival before session_active';
        const stage = ARRIVAL_STAGES.indexOf(data.stage);
        if (stage <= order.stage)
            return 'an arrival stage not closer than one already announced';
        order.stage = stage;
    }
    // The first selection activates the session: session_active must come next.
    if (order.previous === 'mediums_selected' && type !== 'session_active' && !active && order.seen.has('mediums_selected')) {
        return 'the first mediums_selected is not followed by session_active';
    }
    order.previous = type;
    return undefined;
}
function isObject(value) {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}
/**
 * WebCrypto's SHA-256; in Node without a global `crypto` (Node 18), `node:crypto`'s WebCrypto;
 * or a clear error where there is neither (an insecure browser context).
 */
function webCryptoSha256() {
    const subtle = globalThis.crypto?.subtle;
    if (subtle)
        return (data) => subtle.digest('SHA-256', data);
    const runtime = globalThis.process;
    if (runtime?.versions?.node !== undefined) {
        // A module name in a variable: bundlers for browsers leave the import alone.
        const nodeCrypto = 'node:crypto';
        return async (data) => {
            const module = await import(nodeCrypto);
            return module.webcrypto.subtle.digest('SHA-256', data);
        };
    }
    throw new TypeError('No WebCrypto SHA-256 (crypto.subtle): browsers offer it only in a secure context (https, or http on localhost); pass options.sha256');
}
