import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The import rules (.dependency-cruiser.cjs), run by dependency-cruiser over the real tree and over a tree that breaks them. */

const ROOT = path.resolve(__dirname, '../../..');
const depcruise = (cwd: string) =>
  spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs'), '--config', path.join(cwd, '.dependency-cruiser.cjs'), '--output-type', 'err', 'apps', 'libs'], { cwd, encoding: 'utf8' });

describe('import rules', () => {
  it('hold in the project', () => {
    const r = depcruise(ROOT);
    expect(r.stdout + r.stderr).toMatch(/no dependency violations found/);
    expect(r.status).toBe(0);
  }, 120_000);

  it('fail on a forbidden import, naming the rule', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-deps-'));
    try {
      const write = (file: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), text);
      };
      fs.copyFileSync(path.join(ROOT, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
      write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'commonjs', strict: true } }));
      write('libs/event-store/src/index.ts', 'export const store = 1;\n');
      write('libs/ledger/src/index.ts', 'export const ledger = 1;\n');
      write('libs/domain/src/index.ts', "import { store } from '../../event-store/src';\nimport * as fs from 'node:fs';\nexport const x = [store, fs];\n");
      write('libs/audit/src/index.ts', "import { ledger } from '../../ledger/src';\nexport const y = ledger;\n");
      write('apps/ledger-api/src/main.ts', "import { x } from '../../../libs/domain/src';\nexport const z = x;\n");
      const r = depcruise(dir);
      const out = r.stdout + r.stderr;
      expect(r.status).not.toBe(0);
      expect(out).toMatch(/error domain-is-pure: libs\/domain\/src\/index\.ts → libs\/event-store\/src\/index\.ts/);
      expect(out).toMatch(/error domain-no-io: libs\/domain\/src\/index\.ts → (node:)?fs/);
      expect(out).toMatch(/error audit-reads-only: libs\/audit\/src\/index\.ts → libs\/ledger\/src\/index\.ts/);
      expect(out).not.toMatch(/apps\/ledger-api\/src\/main\.ts →/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
