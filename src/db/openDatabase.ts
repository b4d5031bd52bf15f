import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, sql } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import postgres from 'postgres';
import { errorMessage, UserFacingError } from '../errors.js';
import { withTimeout } from '../withTimeout.js';
import { acquireDataDirLock } from './DataDirLock.js';
import type { Database, Db } from './database.js';
import { migrations } from './migrations.js';
import { SerialPGliteDialect } from './SerialPGliteDialect.js';

export type StoreKind = 'pglite' | 'postgres';

export interface Store {
  db: Db;
  kind: StoreKind;
  /** where the data lives, without credentials */
  description: string;
  close(): Promise<void>;
  /**
   * PostgreSQL only: statements taking longer fail and the pool is rebuilt (null: no limit, the
   * default, so migrations can take their time). See `resilientClient`.
   */
  setQueryTimeout?(ms: number | null): void;
  /** PostgreSQL only: drop every connection and open new ones (after a driver fault) */
  resetConnections?(reason: string): void;
}

export interface OpenOptions {
  databaseUrl: string | null;
  dataDir: string;
  /** who holds the embedded store's lock, shown to a second process */
  command?: string;
  /** postgres pool size */
  maxConnections?: number;
  /**
   * PostgreSQL only: `synchronous_commit = off` on this pool's sessions. For worker processes'
   * job bookkeeping only, never for intake (a 202 means stored): a crash can lose the last few
   * commits, always a suffix in commit order, so a job's result is never lost while its `done`
   * survives; the job is then run again after its lease.
   */
  asyncCommit?: boolean;
}

/**
 * postgres.js JSON-encodes strings bound to json/jsonb and returns int8 as strings; PGlite does
 * neither. These types make both drivers behave alike (node-stack.md §10.6–7).
 */
function postgresJsOptions(
  max: number,
  asyncCommit: boolean,
  prepared: boolean,
): postgres.Options<Record<string, postgres.PostgresType>> {
  return {
    max,
    connection: {
      ...(asyncCommit ? { synchronous_commit: 'off' } : {}),
      // prepared statements keep being planned with their parameters' values, as unnamed ones were
      ...(prepared ? { plan_cache_mode: 'force_custom_plan' } : {}),
    },
    onnotice: () => {},
    connect_timeout: 10,
    transform: { undefined: null },
    types: {
      json: {
        to: 114,
        from: [114, 3802],
        serialize: (x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x)),
        parse: (x: string) => JSON.parse(x),
      },
      int8: {
        to: 20,
        from: [20],
        serialize: (x: unknown) => String(x),
        parse: (x: string) => Number(x),
      },
    },
  };
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable url)';
  }
}

/**
 * Statements run as named prepared statements unless the URL says `prepare=false` (postgres.js's own
 * option; PgBouncer in transaction pooling before 1.21 needs it). Through Kysely, postgres.js prepared
 * nothing: every statement with parameters took two round trips (parse and describe, then bind and
 * execute) and was parsed again each time. Prepared, it takes one after its first run on a connection.
 */
function preparedStatements(url: string): boolean {
  try {
    return !/^(false|disable)$/i.test(new URL(url).searchParams.get('prepare') ?? '');
  } catch {
    return true;
  }
}

export function openPostgres(url: string, maxConnections = 10, asyncCommit = false): Store {
  const prepared = preparedStatements(url);
  const pool = resilientClient(() => postgres(url, postgresJsOptions(maxConnections, asyncCommit, prepared)));
  const db = new Kysely<Database>({ dialect: new PostgresJSDialect({ postgres: pool.sql }) });
  return {
    db,
    kind: 'postgres',
    description: redactUrl(url),
    close: () => db.destroy(),
    setQueryTimeout: pool.setTimeout,
    resetConnections: pool.reset,
  };
}

/**
 * Distinct statement texts a pool prepares at most: each connection keeps every statement it prepared
 * (and so does its server process), and texts vary with the length of `in (…)` lists and multi-row
 * inserts. The service's hot statements are far fewer; texts past the bound run unprepared.
 */
const MAX_PREPARED_TEXTS = 500;

/** The first `max` distinct texts asked about are admitted, and stay admitted; no other is. */
export function boundedStatementSet(max: number): (text: string) => boolean {
  const admitted = new Set<string>();
  return (text) => {
    if (admitted.has(text)) return true;
    if (admitted.size >= max) return false;
    admitted.add(text);
    return true;
  };
}

/** A statement that outlived the query timeout; the pool it ran on was replaced. */
export class QueryTimeoutError extends Error {
  readonly code = 'QUERY_TIMEOUT';
  constructor(ms: number) {
    super(`the database did not answer within ${ms} ms; its connections were reopened`);
    this.name = 'QueryTimeoutError';
  }
}

/**
 * postgres.js 3.4.x can leave a connection that lost its socket with a write that is never flushed
 * (porsager/postgres#1154, #1208: `nextWriteTimer` is cleared but not reset in `closed()`): every
 * later statement on it waits forever, which after a database restart froze the worker and SIGTERM.
 * So every statement gets a time limit, and one that passes it replaces the whole pool (a poisoned
 * connection cannot be told apart from outside). Kysely sees one stable client whose `reserve()`
 * always reaches the current pool.
 */
function resilientClient(open: () => postgres.Sql) {
  let current = open();
  const prepare = boundedStatementSet(MAX_PREPARED_TEXTS);
  let timeoutMs: number | null = null;
  const reset = () => {
    const old = current;
    current = open();
    // statements still running on healthy connections get a moment to finish
    old.end({ timeout: 2 }).catch(() => {});
  };
  const limited = <T>(p: Promise<T>): Promise<T> => {
    const ms = timeoutMs;
    if (ms === null) return p;
    return withTimeout(p, ms, () => {
      reset();
      return new QueryTimeoutError(ms);
    });
  };
  const sql = Object.assign(
    () => {
      throw new Error('only reserve() is used through Kysely');
    },
    {
      async reserve() {
        const reserved = await limited(current.reserve());
        return {
          unsafe: (text: string, params: unknown[]) =>
            limited(reserved.unsafe(text, params as never[], { prepare: params.length > 0 && prepare(text) })),
          release: () => reserved.release(),
        };
      },
      end: () => current.end({ timeout: 5 }),
    },
  ) as unknown as postgres.Sql;
  return {
    sql,
    reset: (_reason: string) => reset(),
    setTimeout: (ms: number | null) => {
      timeoutMs = ms;
    },
  };
}

/**
 * PGlite's defaults plus a 16 MB buffer cache: the default 128 MB cache dominated its resident
 * memory (a reopened store: 295 → 184 MB idle), and this service's working set is small.
 */
const PGLITE_START_PARAMS = [
  ...(PGlite as unknown as { defaultStartParams: string[] }).defaultStartParams,
  '-c',
  'shared_buffers=16MB',
];

/** PGlite in memory (`memory://`) or in a directory; the caller holds any lock. */
export async function openPGlite(dataDirOrMemory: string): Promise<Store> {
  const pglite = await PGlite.create(dataDirOrMemory, { startParams: PGLITE_START_PARAMS });
  const db = new Kysely<Database>({ dialect: new SerialPGliteDialect(pglite) });
  return {
    db,
    kind: 'pglite',
    description: dataDirOrMemory,
    close: async () => {
      await db.destroy();
      await pglite.close();
    },
  };
}

/** True when DATA_DIR already holds an embedded store (opening one that does not exist creates it). */
export function embeddedStoreExists(dataDir: string): boolean {
  return existsSync(join(dataDir, 'pglite', 'PG_VERSION'));
}

/** PostgreSQL when DATABASE_URL is set, else PGlite in DATA_DIR under an exclusive lock. */
export async function openDatabase(options: OpenOptions): Promise<Store> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.maxConnections, options.asyncCommit);
  const release = acquireDataDirLock(options.dataDir, options.command ?? 'pipeline-learner');
  try {
    const dir = join(options.dataDir, 'pglite');
    if (!embeddedStoreExists(options.dataDir)) {
      // initdb leaves PGlite at ~850 MB resident; a reopened data dir runs at ~350 MB
      await (await PGlite.create(dir, { startParams: PGLITE_START_PARAMS })).close();
    }
    const store = await openPGlite(dir);
    return {
      ...store,
      close: async () => {
        try {
          await store.close();
        } finally {
          release();
        }
      },
    };
  } catch (err) {
    release();
    throw new UserFacingError(`could not open the embedded store in ${options.dataDir}: ${errorMessage(err)}`);
  }
}

/**
 * Applies pending migrations. Kysely's Postgres adapter takes a transaction-scoped advisory lock,
 * so concurrent processes on one server apply them one at a time.
 */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new UserFacingError(
      `database migration ${failed?.migrationName ?? ''} failed: ${errorMessage(error ?? 'unknown error')}`.replace(
        '  ',
        ' ',
      ),
    );
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** True when the database answers and every listed migration is applied. */
export async function databaseReady(db: Db): Promise<boolean> {
  try {
    const applied = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    const names = new Set(applied.rows.map((r) => r.name));
    return Object.keys(migrations).every((m) => names.has(m));
  } catch {
    return false;
  }
}
