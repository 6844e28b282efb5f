// The package as an app installs it: `npm pack` and the tarball installed into an empty
// project, and `npm install <checkout>/clients/typescript` (a link to the folder, as the
// README says), each imported by Node and type-checked by tsc. No registry is needed: the
// SDK has no dependencies and dist/ is committed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(pkg, 'node_modules', '.bin', 'tsc');
const run = promisify(execFile);
const LIMIT = { timeout: 120_000 };
const NPM_FLAGS = ['--offline', '--no-audit', '--no-fund', '--loglevel=error'];
const temp = [];

after(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

function project() {
  const dir = mkdtempSync(join(tmpdir(), 'tether-sdk-app-'));
  temp.push(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
  return dir;
}

/** Imports the installed package in `dir` and uses it a little. */
async function importsAndTypes(dir) {
  const script = `
    import { SeekerClient, TetherApi, TetherError, TetherConnectionError, socketUrl } from '@tether/client';
    const client = new SeekerClient({ url: 'ws://127.0.0.1:1', token: 't' });
    const error = await client.startChat('s').catch((e) => e);
    if (!(error instanceof TetherError) || error.code !== 'not_connected') throw new Error('unexpected ' + error);
    new TetherApi({ url: 'http://127.0.0.1:1', token: 't' });
    console.log(socketUrl('https://edge', 'provider', 't'), typeof TetherConnectionError);`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: dir });
  assert.equal(stdout.trim(), 'wss://edge/ws/work/provider/?token=t function');
  writeFileSync(
    join(dir, 'check.ts'),
    `import { ProviderClient, type ErrorBody } from '@tether/client';
const provider = new ProviderClient({ url: location.origin, token: () => sessionStorage.getItem('t'), WebSocket });
provider.on('work_assigned', (order) => void provider.respondToWork(order.work_id, true));
const body: ErrorBody = { error: 'e', code: 'internal' };
void body;
`,
  );
  const compilerOptions = { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], types: [] };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['check.ts'] }));
  try {
    await run(tsc, ['-p', dir], { cwd: dir });
  } catch (error) {
    assert.fail(`the installed package does not type-check:\n${error.stdout}${error.stderr}`);
  }
}

test('npm pack, then install the tarball into an empty project: it imports and type-checks', LIMIT, async () => {
  const packDir = mkdtempSync(join(tmpdir(), 'tether-sdk-pack-'));
  temp.push(packDir);
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', packDir, ...NPM_FLAGS], { cwd: pkg });
  const [packed] = JSON.parse(stdout);
  const files = packed.files.map((f) => f.path);
  assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts'), `packed: ${files}`);
  assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/')), `packed: ${files}`);
  const dir = project();
  await run('npm', ['install', join(packDir, packed.filename), ...NPM_FLAGS], { cwd: dir });
  await importsAndTypes(dir);
});

test('npm install <checkout>/clients/typescript (a link to the folder) works without a build', LIMIT, async () => {
  const dir = project();
  await run('npm', ['install', pkg, ...NPM_FLAGS], { cwd: dir });
  await importsAndTypes(dir);
});
