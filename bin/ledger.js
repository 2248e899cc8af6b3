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
    process.exit(3); // the ledger could not run: see the README's exit codes
  }
}
require('./register-paths.js');
require(main);
