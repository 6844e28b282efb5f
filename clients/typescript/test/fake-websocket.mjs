// A stand-in for the browser WebSocket, driven by the test as if it were the server.
export class FakeWebSocket {
  static instances = [];
  static OPEN = 1;

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.closedWith = undefined;
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    FakeWebSocket.instances.push(this);
  }

  static reset() {
    FakeWebSocket.instances = [];
  }

  static get last() {
    return FakeWebSocket.instances.at(-1);
  }

  /** The token in the URL's query. */
  get token() {
    return new URL(this.url).searchParams.get('token');
  }

  /** Frames the client sent, parsed. */
  get frames() {
    return this.sent.map((s) => JSON.parse(s));
  }

  /** Frames the client sent other than pings, without their request_id. */
  get commands() {
    return this.frames.filter((f) => f.type !== 'ping').map(({ request_id: _, ...rest }) => rest);
  }

  /** The last frame of `type` the client sent. */
  lastOf(type) {
    return this.frames.filter((f) => f.type === type).at(-1);
  }

  /** Answers every ping not answered yet, as the edge does (in order). */
  answerPings() {
    this.answered ??= new Set();
    for (const frame of this.frames.filter((f) => f.type === 'ping' && !this.answered.has(f.request_id))) {
      this.answered.add(frame.request_id);
      this.serverSend({ type: 'pong', timestamp: 't', request_id: frame.request_id });
    }
  }

  send(data) {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(data);
  }

  close(code = 1000, reason = '') {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  // ---- the "server" side ----
  serverOpen() {
    this.readyState = 1;
    this.onopen?.({});
  }

  serverSend(message) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }

  serverClose(code, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** An upgrade refused with an HTTP status, reported as the `ws` package does. */
  serverRefuse(status) {
    this.onerror?.({ type: 'error', message: `Unexpected server response: ${status}` });
    this.serverClose(1006, '');
  }

  /** A connection that failed without saying why, as browsers report it. */
  serverFail() {
    this.onerror?.({ type: 'error' });
    this.serverClose(1006, '');
  }
}

/** A fetch for the client's probe of a refused upgrade: answers `status`, or fails without one. */
export function probeFetch(status) {
  const calls = [];
  const impl = async (url, init) => {
    calls.push({ url: String(url), ...init });
    if (status === undefined) throw new TypeError('fetch failed');
    return new Response('{"error":"x","code":"unauthorized"}', { status });
  };
  return { impl, calls };
}

/** Resolves after the pending timers and microtasks of `ms` milliseconds. */
export const sleep = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** Waits until `predicate()` is truthy (polling), or fails after `ms`. */
export async function until(predicate, ms = 2000) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms: ${predicate}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** An unsigned JWT-shaped token with `exp` (seconds); the client only reads it. */
export function fakeToken(expSeconds, tag = 'a') {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: tag, exp: expSeconds })}.sig-${tag}`;
}
