#!/usr/bin/env node
// Builds the package's dist/ (JavaScript and declarations) from src/ with tsc. dist/ is
// committed, so that `npm install <checkout>/clients/typescript` works without a build step
// (npm links a folder as it is, without the package's devDependencies, and newer npm
// versions do not run an installed package's scripts). `--check` (run by `npm test`)
// compiles into a temporary folder and fails when dist/ differs from it.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(pkg, 'dist');
const check = process.argv.includes('--check');
const tsc = join(pkg, 'node_modules', '.bin', 'tsc');

/** Every file under `dir`, relative to it, sorted. */
function files(dir) {
  const out = [];
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  try {
    walk(dir);
  } catch {
    // a missing folder has no files
  }
  return out.sort();
}

function compile(outDir) {
  rmSync(outDir, { recursive: true, force: true });
  try {
    execFileSync(tsc, ['-p', join(pkg, 'tsconfig.json'), '--outDir', outDir], { stdio: 'inherit' });
  } catch {
    console.error('src/ does not compile (see above)');
    process.exit(1);
  }
}

if (!check) {
  compile(dist);
  console.log(`wrote ${files(dist).length} files to ${dist}`);
} else {
  const fresh = mkdtempSync(join(tmpdir(), 'tether-dist-'));
  try {
    compile(fresh);
    const want = files(fresh);
    const have = files(dist);
    const differ =
      want.length !== have.length ||
      want.some((file, i) => file !== have[i] || !readFileSync(join(fresh, file)).equals(readFileSync(join(dist, file))));
    if (differ) {
      console.error('clients/typescript/dist/ is out of date with src/: run `npm run build` in clients/typescript and commit dist/');
      process.exit(1);
    }
    console.log('dist/ matches a fresh build of src/');
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
}
