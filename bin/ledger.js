#!/usr/bin/env node
// The `ledger` operator CLI. Runs the compiled dist/ (built by `npm ci` through the prepare script,
// and by `npm start`); builds it first if it is missing.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const main = path.join(root, 'dist', 'apps', 'ledger-cli', 'src', 'main.js');
if (!fs.existsSync(main)) {
  const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  const built = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (built.status !== 0) {
    process.stderr.write('ledger: could not build the CLI (npm run build shows why)\n');
    process.exit(1);
  }
}
// A rebuild makes short-lived objects for every event of the log: it runs with twice V8's default
// young generation (semi-spaces of 32 MB, as the API's job workers have: less CPU, see Benchmarks
// in the README). V8 takes it only at a process's start.
const SEMI_SPACE = '--max-semi-space-size=32';
if (process.argv[2] === 'rebuild' && !process.execArgv.some((a) => a.startsWith('--max-semi-space-size'))) {
  const run = spawnSync(process.execPath, [...process.execArgv, SEMI_SPACE, __filename, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}
require('./register-paths.js');
require(main);
