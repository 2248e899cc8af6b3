// Mutation testing (npm run mutate): StrykerJS 9 with the Jest runner. 9.x, because 10.x needs Node 22.
// The scope is the code whose bugs are costly: the domain rules, the hash chain and tamper checks,
// the SQLite store's append and revision rules, replay comparison, the intake parsers and the API-key
// guard. It runs in two parts, each with the specs of its own code, because the cost of a mutant is
// mostly Jest loading the spec files related to it: the domain (this file, with
// STRYKER_PART=domain) against the domain's own specs only, and the rest (STRYKER_PART=rest).
// Reports go to reports/mutation/<part>/ (ignored by git). Not part of npm test: it takes minutes.
const part = process.env.STRYKER_PART === 'rest' ? 'rest' : 'domain';

const parts = {
  domain: {
    mutate: ['libs/domain/src/**/*.ts', '!libs/domain/src/**/*.spec.ts', '!libs/domain/src/testing/**', '!libs/domain/src/index.ts'],
    tests: ['**/libs/domain/src/**/*.spec.ts'],
  },
  rest: {
    mutate: [
      'libs/event-store/src/hash-chain.ts',
      // sqlite-event-store.ts: appendToStream, the inline writer's group commit (flush, settle) and
      // the hand-over to the writer thread (handOverAt, handOverNow) and its answers (hear);
      // sqlite-writer.ts: packAppends (the appends as they cross to the thread), SqliteWriter
      // (idempotency and expected revisions, group commit), sameContent, the SQLITE_FULL mapping and
      // the errors' crossing between threads. Reads, snapshots, subscriptions and health are out of
      // scope, and so is the code that runs on the writer thread only (sqlite-writer-thread.ts,
      // unpackAppends): code run on a worker thread is not switched to a mutant (the edge specs run
      // every rule on the inline writer too). Line ranges: check them when the files change (the
      // first and last lines are appendToStream's and writerThread()'s; packAppends'; SqliteWriter's
      // constructor's and the file's end).
      'libs/event-store/src/sqlite-event-store.ts:156-309',
      'libs/event-store/src/sqlite-writer.ts:35-42',
      'libs/event-store/src/sqlite-writer.ts:117-236',
      'libs/audit/src/replay.ts',
      // What-if: one pass, and in shares (threadsFor, inShares, scanShare, the merge, rangeOf, the
      // order of failures); what-if-worker.ts runs on a worker thread only.
      'libs/audit/src/what-if.ts',
      'libs/audit/src/stream-folds.ts',
      'libs/audit/src/tamper.ts',
      'libs/ledger/src/intake/certificates.ts',
      'libs/ledger/src/intake/duis.ts',
      'libs/ledger/src/intake/registrations-csv.ts',
      'apps/ledger-api/src/http/api-keys.ts',
    ],
    // libs/audit/src/audit.spec.ts is left out: it builds a 300-device demo estate in a beforeAll,
    // and Stryker counts what a beforeAll runs as covered by every test of the file. The event-store
    // contract suite (sqlite-event-store.spec.ts) is left out too: each append mutant would rerun
    // its ~80 file-backed tests (about 15 s). The *.edges.spec.ts files test the same code on
    // small (in-memory where durability is not the point) stores built in each test.
    // what-if-shares.spec.ts is in, though it builds a 120-device estate in a beforeAll (~5 s):
    // the shares and their merge are tested there only.
    tests: [
      '**/libs/event-store/src/hash-chain.spec.ts',
      '**/libs/event-store/src/*.edges.spec.ts',
      '**/libs/audit/src/**/*.edges.spec.ts',
      '**/libs/audit/src/what-if-shares.spec.ts',
      '**/libs/ledger/src/intake/**/*.spec.ts',
      '**/apps/ledger-api/src/http/api-keys.spec.ts',
    ],
  },
};

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
module.exports = {
  testRunner: 'jest',
  jest: { projectType: 'custom', configFile: 'jest.config.js', config: { testMatch: parts[part].tests } },
  mutate: parts[part].mutate,
  coverageAnalysis: 'perTest',
  // String literals are not mutated: here they are reasons, evidence keys and error messages (the
  // decision records' wording is pinned in libs/domain/src/evaluate.reasons.spec.ts); a string that
  // decides something (=== 'Supplier') is still mutated through its comparison.
  mutator: { excludedMutations: ['StringLiteral'] },
  // Static mutants (module-level constants: the SRV catalogue, the rule-set table, regular
  // expressions) would each rerun every spec of the part, so they are left out of the run and the
  // score; the catalogue and rule-set tables are pinned row by row in
  // libs/domain/src/identifiers.edges.spec.ts.
  ignoreStatic: true,
  // Every test that kills a mutant is recorded (not only the first), at no extra cost: Jest runs all
  // the covering tests anyway.
  disableBail: true,
  concurrency: 1,
  reporters: ['html', 'json', 'clear-text', 'progress'],
  htmlReporter: { fileName: `reports/mutation/${part}/mutation.html` },
  jsonReporter: { fileName: `reports/mutation/${part}/mutation.json` },
  incrementalFile: `reports/mutation/${part}/stryker-incremental.json`,
  tempDirName: `.stryker-tmp`,
  cleanTempDir: true,
  timeoutMS: 5000,
  thresholds: { high: 90, low: 80, break: null },
};
