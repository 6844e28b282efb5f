// Starts the real stack for the integration and browser tests: the Rust harness's
// `tether-test-stack` binary (tests/src/bin/tether-test-stack.rs: every service
// in-process against the machine's NATS and PostgreSQL), and mints tokens for it.
import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/**
 * Built by `cargo build -p tether-tests --bin tether-test-stack` (scripts/test does it),
 * into CARGO_TARGET_DIR when that is set (relative to the repository, where scripts/test
 * runs cargo).
 */
const BIN =
  process.env.TETHER_TEST_STACK_BIN ??
  join(resolve(root, process.env.CARGO_TARGET_DIR || 'target'), 'debug', 'tether-test-stack');

export async function startStack() {
  const child = spawn(BIN, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const lines = createInterface({ input: child.stdout });
  const ready = await Promise.race([
    new Promise((resolve) => lines.once('line', (line) => resolve(JSON.parse(line)))),
    exited.then((code) => {
      throw new Error(`${BIN} exited (${code}) before the stack was ready`);
    }),
    new Promise((_, reject) => setTimeout(() => reject(new Error('the stack did not start within 60 s')), 60_000).unref()),
  ]);
  return {
    httpBase: ready.http_base,
    /** A token for a new user (or `sub`), signed with the stack's test secret. */
    mint({ name = 'Test User', sub = randomUUID(), ttlS = 3600 } = {}) {
      return { sub, token: signHs256({ sub, name, exp: Math.floor(Date.now() / 1000) + ttlS }, ready.jwt_secret) };
    },
    async stop() {
      child.stdin.end(); // the binary stops the stack when its stdin closes
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000).unref())]);
      child.kill('SIGKILL');
    },
  };
}

function signHs256(claims, secret) {
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}
