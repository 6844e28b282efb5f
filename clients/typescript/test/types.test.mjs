// Type-level tests: the README's examples (kept as examples/node.ts, with `ws`, and
// examples/browser.ts and examples/session.ts, with the DOM's WebSocket) and
// test/types/sdk-types.ts (what must and must not compile) pass `tsc --strict --noEmit`
// against the built declarations, as an app developer's project would compile them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(pkg, 'node_modules', '.bin', 'tsc');
const run = promisify(execFile);

async function typeCheck(project) {
  try {
    await run(tsc, ['-p', join(pkg, 'test', 'types', project)], { cwd: pkg });
  } catch (error) {
    assert.fail(`tsc -p test/types/${project} failed:\n${error.stdout}${error.stderr}`);
  }
}

test('the README example compiles under strict with ws\'s WebSocket (Node), with the API type tests', async () => {
  await typeCheck('tsconfig.node.json');
});

test('the browser examples (the clients, the session object) compile under strict with the DOM\'s WebSocket', async () => {
  await typeCheck('tsconfig.dom.json');
});

test('the README shows the examples exactly as they are type-checked', () => {
  const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```(?:ts|js)\n([\s\S]*?)```/g)].map((m) => m[1]);
  for (const file of ['node.ts', 'browser.ts', 'session.ts']) {
    const text = readFileSync(join(pkg, 'examples', file), 'utf8');
    assert.ok(blocks.includes(text), `README.md has no code block equal to examples/${file}`);
  }
});

test('outgoing messages are typed without casts to the send union', () => {
  for (const file of readdirSync(join(pkg, 'src')).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(pkg, 'src', file), 'utf8');
    assert.doesNotMatch(text, /as unknown as/, `src/${file} casts through unknown`);
  }
});
