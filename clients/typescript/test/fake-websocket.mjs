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
}

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
