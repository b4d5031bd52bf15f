import { type Expression, type Kysely, type SqlBool, sql } from 'kysely';
import type { VectorTables } from '../db/tables/vectors.js';
import { DimensionMismatchError } from './DimensionMismatchError.js';
import type { Metadata, VectorIndex, VectorMatch, VectorRecord, Where } from './VectorIndex.js';
import {
  cosineDistance,
  validateCollectionName,
  validateEmbedding,
  validateMetadata,
  validateRecords,
} from './validateRecords.js';

/** Rows per INSERT: 5 parameters each, far below PostgreSQL's 65535-parameter limit. */
const BATCH = 500;

/**
 * VectorIndex in our own database (PGlite or PostgreSQL), for when CHROMA_URL is unset. Filters run in
 * SQL (`metadata @> where`, GIN-indexed); ranking is brute-force cosine in JS over the filtered rows,
 * which stays in the milliseconds for the thousands of configurations one GitLab produces.
 * Semantics follow ChromaVectorIndex: upsert replaces a record whole, embeddings are float32,
 * one dimension per collection, distance = 1 - cosine.
 */
export class EmbeddedVectorIndex implements VectorIndex {
  private readonly embeddings = new Map<string, Map<string, { stamp: string; embedding: Float32Array }>>();
  /**
   * Per collection, the dimension this process last wrote (an upsert of that dimension skips the check
   * read). A collection another process emptied and refilled at another dimension is caught at query time.
   */
  private readonly dimensions = new Map<string, number>();

  constructor(private readonly db: Kysely<VectorTables>) {}

  async upsert(collection: string, records: VectorRecord[]): Promise<void> {
    validateRecords(collection, records);
    if (records.length === 0) return;
    const wanted = records[0].embedding.length;
    // the dimension a collection was seen to hold, read again only when it seems to differ
    const dim = this.dimensions.get(collection) === wanted ? wanted : await this.dimension(collection);
    if (dim !== null && dim !== wanted) throw new DimensionMismatchError(collection, dim, wanted);
    for (let i = 0; i < records.length; i += BATCH) {
      const rows = records.slice(i, i + BATCH).map((r) => ({
        collection,
        id: r.id,
        document: r.document,
        metadata: jsonb(r.metadata),
        embedding: realArray(r.embedding),
        updated_at: sql<Date>`clock_timestamp()`,
      }));
      await this.db
        .insertInto('vector_records')
        .values(rows)
        .onConflict((oc) =>
          oc.columns(['collection', 'id']).doUpdateSet((eb) => ({
            document: eb.ref('excluded.document'),
            metadata: eb.ref('excluded.metadata'),
            embedding: eb.ref('excluded.embedding'),
            updated_at: sql<Date>`clock_timestamp()`,
          })),
        )
        .execute();
    }
    this.dimensions.set(collection, wanted);
  }

  async get(collection: string, ids: string[]): Promise<VectorRecord[]> {
    validateCollectionName(collection);
    if (ids.length === 0) return [];
    const unique = [...new Set(ids)];
    const found = new Map<string, VectorRecord>();
    for (let i = 0; i < unique.length; i += BATCH) {
      const rows = await this.db
        .selectFrom('vector_records')
        .select(['id', 'document', 'metadata', sql<string>`embedding::text`.as('embedding')])
        .where('collection', '=', collection)
        .where('id', 'in', unique.slice(i, i + BATCH))
        .execute();
      for (const r of rows) found.set(r.id, toRecord(r));
    }
    return unique.flatMap((id) => found.get(id) ?? []);
  }

  async query(collection: string, q: { embedding: number[]; where?: Where; limit: number }): Promise<VectorMatch[]> {
    validateCollectionName(collection);
    validateEmbedding(q.embedding, 'query');
    if (q.where) validateMetadata(q.where, 'where');
    if (q.limit <= 0) return [];
    // Rank from a per-process cache of parsed embeddings, checked against each row's updated_at:
    // parsing thousands of real[] per query was the whole cost (PGlite: ~400 ms for 5,000 rows).
    // Rows another replica changed get a new stamp and are refetched, so the cache is never stale.
    const candidates = await this.db
      .selectFrom('vector_records')
      .select(['id', sql<string>`updated_at::text`.as('stamp')])
      .where('collection', '=', collection)
      .where((eb) => matches(eb.ref('metadata'), q.where))
      .execute();
    const cache = this.cacheFor(collection, candidates.length);
    const stale = candidates.filter((c) => cache.get(c.id)?.stamp !== c.stamp).map((c) => c.id);
    for (let i = 0; i < stale.length; i += BATCH) {
      const rows = await this.db
        .selectFrom('vector_records')
        .select(['id', sql<string>`updated_at::text`.as('stamp'), sql<string>`embedding::text`.as('embedding')])
        .where('collection', '=', collection)
        .where('id', 'in', stale.slice(i, i + BATCH))
        .execute();
      for (const r of rows) cache.set(r.id, { stamp: r.stamp, embedding: Float32Array.from(toNumbers(r.embedding)) });
    }
    if (!q.where) {
      const present = new Set(candidates.map((c) => c.id));
      for (const id of cache.keys()) if (!present.has(id)) cache.delete(id);
    }

    const query = Float32Array.from(q.embedding);
    const scored: { id: string; distance: number }[] = [];
    for (const c of candidates) {
      const e = cache.get(c.id)?.embedding;
      if (!e) continue; // deleted since the candidate list was read
      if (e.length !== query.length) throw new DimensionMismatchError(collection, e.length, query.length);
      scored.push({ id: c.id, distance: cosineDistance(query, e) });
    }
    scored.sort((a, b) => a.distance - b.distance || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const top = scored.slice(0, Math.floor(q.limit));
    const winners = await this.get(
      collection,
      top.map((t) => t.id),
    );
    const records = new Map(winners.map((r) => [r.id, r]));
    return top.flatMap((t) => {
      const r = records.get(t.id);
      return r ? [{ ...r, distance: t.distance }] : [];
    });
  }

  async list(collection: string, q: { where?: Where; limit?: number } = {}): Promise<VectorRecord[]> {
    validateCollectionName(collection);
    if (q.where) validateMetadata(q.where, 'where');
    if (q.limit !== undefined && q.limit <= 0) return [];
    let query = this.db
      .selectFrom('vector_records')
      .select(['id', 'document', 'metadata', sql<string>`embedding::text`.as('embedding')])
      .where('collection', '=', collection)
      .where((eb) => matches(eb.ref('metadata'), q.where))
      .orderBy('id');
    if (q.limit !== undefined) query = query.limit(Math.floor(q.limit));
    return (await query.execute()).map(toRecord);
  }

  async delete(collection: string, q: { ids?: string[]; where?: Where }): Promise<void> {
    validateCollectionName(collection);
    if (q.ids === undefined && q.where === undefined) {
      throw new Error('vector index: delete needs ids or where (refusing to empty a collection)');
    }
    if (q.ids !== undefined && q.ids.length === 0) return;
    if (q.where) validateMetadata(q.where, 'where');
    const ids = q.ids;
    if (ids === undefined) {
      await this.db
        .deleteFrom('vector_records')
        .where('collection', '=', collection)
        .where((eb) => matches(eb.ref('metadata'), q.where))
        .execute();
      return;
    }
    for (let i = 0; i < ids.length; i += BATCH) {
      await this.db
        .deleteFrom('vector_records')
        .where('collection', '=', collection)
        .where('id', 'in', ids.slice(i, i + BATCH))
        .where((eb) => matches(eb.ref('metadata'), q.where))
        .execute();
    }
  }

  /** Removes every record of a collection (the embedded twin of ChromaVectorIndex.dropCollection). */
  async dropCollection(collection: string): Promise<void> {
    validateCollectionName(collection);
    await this.db.deleteFrom('vector_records').where('collection', '=', collection).execute();
    this.dimensions.delete(collection);
  }

  private cacheFor(collection: string, expected: number) {
    let cache = this.embeddings.get(collection);
    // filtered queries never evict deleted ids: start over rather than grow without bound
    if (cache && cache.size > Math.max(4 * expected, 50_000)) cache = undefined;
    if (!cache) {
      cache = new Map();
      this.embeddings.set(collection, cache);
    }
    return cache;
  }

  private async dimension(collection: string): Promise<number | null> {
    const row = await this.db
      .selectFrom('vector_records')
      .select(sql<number>`array_length(embedding, 1)`.as('dim'))
      .where('collection', '=', collection)
      .limit(1)
      .executeTakeFirst();
    return row ? Number(row.dim) : null;
  }
}

/** Text bound and cast in SQL: postgres.js and PGlite disagree on binding JS values to jsonb (node-stack.md §10.6). */
function jsonb(value: Metadata): Expression<Metadata> {
  return sql<Metadata>`cast(cast(${JSON.stringify(value)} as text) as jsonb)`;
}

function realArray(values: number[]): Expression<number[]> {
  return sql<number[]>`cast(cast(${`{${values.join(',')}}`} as text) as real[])`;
}

function matches(metadata: Expression<Metadata>, where: Where | undefined): Expression<SqlBool> {
  if (!where || Object.keys(where).length === 0) return sql<SqlBool>`true`;
  return sql<SqlBool>`${metadata} @> ${jsonb(where)}`;
}

function toRecord(row: { id: string; document: string; metadata: unknown; embedding: unknown }): VectorRecord {
  return {
    id: row.id,
    document: row.document,
    metadata: toMetadata(row.metadata),
    embedding: toNumbers(row.embedding),
  };
}

function toMetadata(value: unknown): Metadata {
  const parsed = typeof value === 'string' ? JSON.parse(value) : value;
  return parsed && typeof parsed === 'object' ? (parsed as Metadata) : {};
}

/** Drivers return real[] as number[]; a driver without array parsing would hand back '{1,2,3}'. */
function toNumbers(value: unknown): number[] {
  if (Array.isArray(value)) return value.map(Number);
  if (typeof value === 'string') {
    const inner = value.replace(/^\{|\}$/g, '');
    return inner.length === 0 ? [] : inner.split(',').map(Number);
  }
  return [];
}
