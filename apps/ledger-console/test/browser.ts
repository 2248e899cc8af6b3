import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's chromium (apt-get install chromium), or CHROMIUM_PATH; undefined where there is none. */
export function findChromium(): string | undefined {
  return [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => !!p && fs.existsSync(p));
}

/**
 * Compiles the console's browser modules into dist/apps/ledger-console, as `npm run build` does, so a test
 * serves the code under test. It compiles into a folder of its own and moves each file into place
 * with a rename, so two test files building at once never serve a half-written module.
 */
export function buildConsole(): void {
  const root = path.resolve(__dirname, '../../..');
  const target = path.join(root, 'dist', 'apps', 'ledger-console');
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = fs.mkdtempSync(path.join(root, 'dist', '.console-build-'));
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'apps/ledger-console/tsconfig.json'), '--outDir', tmp], { cwd: root, stdio: 'inherit' });
    const move = (rel: string) => {
      for (const entry of fs.readdirSync(path.join(tmp, rel), { withFileTypes: true })) {
        const from = path.join(tmp, rel, entry.name);
        if (entry.isDirectory()) {
          fs.mkdirSync(path.join(target, rel, entry.name), { recursive: true });
          move(path.join(rel, entry.name));
        } else fs.renameSync(from, path.join(target, rel, entry.name));
      }
    };
    fs.mkdirSync(target, { recursive: true });
    move('');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A headless Chromium on a fresh profile; close() also removes the profile. */
export async function launchBrowser(executablePath: string): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-console-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      acceptDownloads: true,
      viewport: { width: 1280, height: 860 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-quic', '--no-first-run', '--disable-sync'],
    });
    return {
      context,
      close: async () => {
        try {
          await context.close();
        } finally {
          fs.rmSync(profile, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}
