import { AsyncLocalStorage } from 'node:async_hooks';
import type { PGlite } from '@electric-sql/pglite';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';

const intakePriority = new AsyncLocalStorage<true>();

/**
 * Runs `fn` with its statements ahead of every other waiting statement on the embedded store (the
 * webhook intake: GitLab waits 10 s for an answer, a job can wait). A statement already running,
 * or a transaction already open, is not interrupted. No effect on PostgreSQL, which has its pool.
 */
export function withIntakePriority<T>(fn: () => Promise<T>): Promise<T> {
  return intakePriority.run(true, fn);
}

/**
 * Kysely dialect for PGlite. PGlite is one backend session, so every query must wait while another
 * request holds it (in particular an open transaction): kysely-pglite does not, and a concurrent
 * query then runs inside someone else's transaction (node-stack.md §10.4). Connections are handed
 * out one at a time from a FIFO queue, intake statements (`withIntakePriority`) first.
 */
export class SerialPGliteDialect implements Dialect {
  constructor(private readonly pglite: PGlite) {}
  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new SerialPGliteDriver(this.pglite);
  }
  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }
}

class SerialPGliteDriver implements Driver {
  private readonly connection: PGliteConnection;
  private busy = false;
  private readonly waiters: Array<(c: DatabaseConnection) => void> = [];
  private readonly urgent: Array<(c: DatabaseConnection) => void> = [];

  constructor(pglite: PGlite) {
    this.connection = new PGliteConnection(pglite);
  }
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    if (!this.busy) {
      this.busy = true;
      return this.connection;
    }
    const queue = intakePriority.getStore() ? this.urgent : this.waiters;
    return new Promise((resolve) => queue.push(resolve));
  }
  async releaseConnection(): Promise<void> {
    const next = this.urgent.shift() ?? this.waiters.shift();
    if (next) next(this.connection);
    else this.busy = false;
  }
  async beginTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery({ sql: 'begin', parameters: [] } as unknown as CompiledQuery);
  }
  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery({ sql: 'commit', parameters: [] } as unknown as CompiledQuery);
  }
  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery({ sql: 'rollback', parameters: [] } as unknown as CompiledQuery);
  }
  async destroy(): Promise<void> {}
}

class PGliteConnection implements DatabaseConnection {
  constructor(private readonly pglite: PGlite) {}
  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.pglite.query<R>(query.sql, query.parameters as unknown[]);
    const affected = result.affectedRows;
    return {
      rows: result.rows,
      ...(affected !== undefined && !/^\s*select/i.test(query.sql) ? { numAffectedRows: BigInt(affected) } : {}),
    };
  }
  // biome-ignore lint/correctness/useYield: streaming is not offered by PGlite
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGlite does not support streaming queries');
  }
}
