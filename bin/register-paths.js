// Resolves the monorepo's '@ledger/*' imports inside the compiled output (dist/), the way the
// TypeScript 'paths' in tsconfig.base.json resolve them in the sources. Loaded with `node -r`.
const path = require('node:path');
const { register } = require('tsconfig-paths');
const { compilerOptions } = require('../tsconfig.base.json');

register({ baseUrl: path.join(__dirname, '..', 'dist'), paths: compilerOptions.paths });
