/**
 * The import rules of the monorepo, enforced in `npm test` (libs/runtime/src/dependencies.spec.ts):
 *   apps -> runtime -> (ledger | projections | audit) -> (domain | event-store)
 * `domain` imports nothing of ours and no I/O; `event-store` knows no domain; the ledger (command
 * side), the projections (query side) and the audit never import each other.
 */
const NODE_IO = '^(node:)?(fs|fs/promises|net|http|https|http2|child_process|worker_threads|cluster|dgram|dns|tls|readline|os|process|inspector|v8|vm)$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'domain-is-pure', severity: 'error', comment: 'libs/domain imports nothing of ours, no Nest and no Node I/O', from: { path: '^libs/domain/src' }, to: { path: '^(libs/(?!domain/)|apps/)' } },
    { name: 'domain-no-io', severity: 'error', from: { path: '^libs/domain/src', pathNot: '/testing/' }, to: { dependencyTypes: ['core'], path: NODE_IO } },
    { name: 'domain-no-nest', severity: 'error', from: { path: '^libs/domain/src' }, to: { path: 'node_modules/@nestjs/' } },
    { name: 'event-store-knows-no-domain', severity: 'error', from: { path: '^libs/event-store/src' }, to: { path: '^(libs/(?!event-store/)|apps/)' } },
    { name: 'sides-apart', severity: 'error', comment: 'ledger, projections and audit use domain and event-store only', from: { path: '^libs/(ledger|projections|audit)/src' }, to: { path: '^(libs/(runtime)|apps/)' } },
    { name: 'ledger-not-into-read-side', severity: 'error', from: { path: '^libs/ledger/src' }, to: { path: '^libs/(projections|audit)/' } },
    { name: 'projections-not-into-others', severity: 'error', from: { path: '^libs/projections/src' }, to: { path: '^libs/(ledger|audit)/' } },
    { name: 'audit-reads-only', severity: 'error', comment: 'audit reads the store and the domain, never the write side', from: { path: '^libs/audit/src' }, to: { path: '^libs/(ledger|projections)/' } },
    { name: 'runtime-not-into-apps', severity: 'error', from: { path: '^libs/runtime/src' }, to: { path: '^apps/' } },
    { name: 'cli-uses-api-entry-only', severity: 'error', comment: 'ledger serve starts the API through its entry point, nothing else of it', from: { path: '^apps/ledger-cli/src' }, to: { path: '^apps/ledger-api/', pathNot: '^apps/ledger-api/src/main\\.ts$' } },
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Tests may build their fixtures with any part of the project: the rules hold the product code.
    exclude: { path: '(^|/)(dist|node_modules|coverage)/|\\.spec\\.ts$|\\.contract\\.ts$|/test/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['require', 'node', 'default'] },
  },
};
