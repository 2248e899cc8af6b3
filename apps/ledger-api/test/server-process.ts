import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

/** The API run from the sources (ts-node, transpile only) in a child process of its own, as `npm start` runs it: for the specs that kill it. */

const ROOT = path.resolve(__dirname, '../../..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts the API from the sources on `dir`'s ledger.sqlite (with `env` besides); resolves once it listens. */
export async function startServer(dir: string, port: number, env: Record<string, string> = {}): Promise<ChildProcess> {
  return (await startServerSaying(dir, port, env, 'listening on')).child;
}

/** Starts the API as startServer does; resolves once what it has written (stdout and stderr) includes `text`, with what it had written by then. */
export async function startServerSaying(dir: string, port: number, env: Record<string, string>, text: string): Promise<{ child: ChildProcess; output: string }> {
  const child = spawnServer({ PORT: String(port), LEDGER_SQLITE_PATH: path.join(dir, 'ledger.sqlite'), ...env });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not write '${text}' within 60 s:\n${output}`)), 60_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code}:\n${output}`));
    });
  });
  child.removeAllListeners('exit');
  return { child, output };
}

export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function spawnServer(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['-r', 'ts-node/register', '-r', 'tsconfig-paths/register', 'apps/ledger-api/src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', TS_NODE_PROJECT: 'tsconfig.json', HOST: '127.0.0.1', LEDGER_API_KEYS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs the API from the sources, as startServer does, until it exits (a start that fails): its exit code and what it wrote to stdout and to stderr. */
export async function runServerToExit(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnServer(env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { code, stdout, stderr };
}
