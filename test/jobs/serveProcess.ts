import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const cli = `${root}dist/cli.js`;

/** Compiles src/ to dist/ once per test file (type errors elsewhere do not stop the emit). */
export function buildDist(): void {
  const fresh = existsSync(cli) && Date.now() - statSync(cli).mtimeMs < 30_000;
  if (fresh) return;
  spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'ignore' });
  if (!existsSync(cli)) throw new Error('npm run build did not produce dist/cli.js');
}

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * `node dist/cli.js serve` as a real child process, or `npm start` (`viaNpm`: then the child is npm,
 * as for a user; `--ignore-scripts` skips the prestart build, which buildDist did); resolves once it listens.
 */
export async function startServe(
  env: Record<string, string>,
  timeoutMs = 120_000,
  options: {
    viaNpm?: boolean;
    /** another build's dist/cli.js (e.g. the production tree) */
    cli?: string;
    /** further `serve` options, e.g. ['--workers', '2'] */
    args?: string[];
  } = {},
): Promise<ServeProcess> {
  const [command, args] = options.viaNpm
    ? ['npm', ['start', '--ignore-scripts', '--silent']]
    : [process.execPath, [options.cli ?? cli, 'serve', ...(options.args ?? [])]];
  const child = spawn(command, args, {
    cwd: options.cli ? dirname(dirname(options.cli)) : root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += String(d);
  });
  child.stderr!.on('data', (d) => {
    out += String(d);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), timeoutMs);
    const check = () => {
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening:\n${out}`));
    });
  });
  return { child, url, output: () => out, exited };
}
