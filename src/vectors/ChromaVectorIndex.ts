import {
  ChromaClient,
  ChromaConnectionError,
  ChromaNotFoundError,
  ChromaRateLimitError,
  ChromaServerError,
  type Where as ChromaWhere,
  type Collection,
} from 'chromadb';
import { errorMessage, RetryableError } from '../errors.js';
import { DimensionMismatchError } from './DimensionMismatchError.js';
import type { Metadata, VectorIndex, VectorMatch, VectorRecord, Where } from './VectorIndex.js';
import {
  cosineDistance,
  validateCollectionName,
  validateEmbedding,
  validateMetadata,
  validateRecords,
} from './validateRecords.js';

export interface ChromaVectorIndexOptions {
  /** Chroma's tenant and database; default_tenant / default_database as `chroma run` creates them */
  tenant?: string;
  database?: string;
  headers?: Record<string, string>;
  /** per operation (batches included); a hung Chroma then fails like a down one instead of holding a job forever (default 30 s) */
  timeoutMs?: number;
}

/** Largest batch sent in one request; Chroma's own limit (getMaxBatchSize, 5461 on 1.x) is usually higher. */
const MAX_BATCH = 1000;

/**
 * VectorIndex over a Chroma server (`CHROMA_URL`). Collections are created on first use in the cosine
 * space with no embedding function: the service always sends its own embeddings.
 *
 * Chroma's upsert merges metadata into an existing record (and ignores null values); this index
 * replaces it, like the embedded one, by deleting records whose new metadata drops a key first.
 * An unreachable server or a 5xx/429 surfaces as a RetryableError naming the URL, so jobs retry.
 */
export class ChromaVectorIndex implements VectorIndex {
  readonly url: string;
  private readonly client: ChromaClient;
  private readonly collections = new Map<string, Promise<Collection>>();
  /** distance space of each collection; those we create are cosine, a seed-made one may be l2 */
  private readonly spaces = new Map<string, string>();
  private readonly timeoutMs: number;

  constructor(url: string, options: ChromaVectorIndexOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`CHROMA_URL must be http(s): ${url}`);
    if (u.pathname !== '/' && u.pathname !== '') {
      throw new Error(`CHROMA_URL must not have a path (the client adds /api/v2): ${url}`);
    }
    const ssl = u.protocol === 'https:';
    this.url = `${u.protocol}//${u.host}`;
    this.client = new ChromaClient({
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port ? Number(u.port) : ssl ? 443 : 80,
      ssl,
      tenant: options.tenant,
      database: options.database,
      headers: options.headers,
    });
  }

  /** For readiness checks: resolves when Chroma answers its heartbeat, else throws a RetryableError. */
  async ping(): Promise<void> {
    await this.call('heartbeat', () => this.client.heartbeat());
  }

  async upsert(collection: string, records: VectorRecord[]): Promise<void> {
    validateRecords(collection, records);
    if (records.length === 0) return;
    await this.withCollection(collection, 'upsert', async (col) => {
      for (let i = 0; i < records.length; i += MAX_BATCH) {
        const batch = records.slice(i, i + MAX_BATCH);
        await this.replaceDroppedKeys(col, batch);
        // Chroma refuses an empty metadata object; records without metadata go in a call without any.
        const withMeta = batch.filter((r) => Object.keys(r.metadata).length > 0);
        const without = batch.filter((r) => Object.keys(r.metadata).length === 0);
        if (withMeta.length > 0) {
          await col.upsert({
            ids: withMeta.map((r) => r.id),
            embeddings: withMeta.map((r) => r.embedding),
            documents: withMeta.map((r) => r.document),
            metadatas: withMeta.map((r) => r.metadata),
          });
        }
        if (without.length > 0) {
          await col.upsert({
            ids: without.map((r) => r.id),
            embeddings: without.map((r) => r.embedding),
            documents: without.map((r) => r.document),
          });
        }
      }
    });
  }

  async get(collection: string, ids: string[]): Promise<VectorRecord[]> {
    validateCollectionName(collection);
    if (ids.length === 0) return [];
    const unique = [...new Set(ids)];
    const found = new Map<string, VectorRecord>();
    await this.withCollection(collection, 'get', async (col) => {
      for (let i = 0; i < unique.length; i += MAX_BATCH) {
        const res = await col.get({
          ids: unique.slice(i, i + MAX_BATCH),
          include: ['documents', 'metadatas', 'embeddings'],
        });
        for (const r of toRecords(res)) found.set(r.id, r);
      }
    });
    return unique.flatMap((id) => found.get(id) ?? []);
  }

  async query(collection: string, q: { embedding: number[]; where?: Where; limit: number }): Promise<VectorMatch[]> {
    validateCollectionName(collection);
    validateEmbedding(q.embedding, 'query');
    if (q.where) validateMetadata(q.where, 'where');
    if (q.limit <= 0) return [];
    return this.withCollection(collection, 'query', async (col) => {
      const res = await col.query({
        queryEmbeddings: [q.embedding],
        nResults: Math.floor(q.limit),
        where: toChromaWhere(q.where),
        include: ['documents', 'metadatas', 'embeddings', 'distances'],
      });
      const ids = res.ids[0] ?? [];
      const matches = ids.map((id, i) => ({
        id,
        document: res.documents[0]?.[i] ?? '',
        metadata: toMetadata(res.metadatas[0]?.[i]),
        embedding: Array.from(res.embeddings[0]?.[i] ?? []),
        distance: res.distances[0]?.[i] ?? 1,
      }));
      if (this.spaces.get(collection) === 'cosine') return matches;
      // An l2/ip collection (made by the seed) ranks unit vectors as cosine does, but its distances
      // are on another scale: report cosine distances, as callers' thresholds expect.
      for (const m of matches) m.distance = cosineDistance(q.embedding, m.embedding);
      return matches.sort((a, b) => a.distance - b.distance);
    });
  }

  async list(collection: string, q: { where?: Where; limit?: number } = {}): Promise<VectorRecord[]> {
    validateCollectionName(collection);
    if (q.where) validateMetadata(q.where, 'where');
    if (q.limit !== undefined && q.limit <= 0) return [];
    return this.withCollection(collection, 'list', async (col) => {
      const res = await col.get({
        where: toChromaWhere(q.where),
        limit: q.limit === undefined ? undefined : Math.floor(q.limit),
        include: ['documents', 'metadatas', 'embeddings'],
      });
      return toRecords(res);
    });
  }

  async delete(collection: string, q: { ids?: string[]; where?: Where }): Promise<void> {
    validateCollectionName(collection);
    if (q.ids === undefined && q.where === undefined) {
      throw new Error('vector index: delete needs ids or where (refusing to empty a collection)');
    }
    if (q.ids !== undefined && q.ids.length === 0) return;
    if (q.where) validateMetadata(q.where, 'where');
    await this.withCollection(collection, 'delete', async (col) => {
      const where = toChromaWhere(q.where);
      if (q.ids === undefined) {
        await col.delete({ where });
        return;
      }
      for (let i = 0; i < q.ids.length; i += MAX_BATCH) await col.delete({ ids: q.ids.slice(i, i + MAX_BATCH), where });
    });
  }

  /** Removes a whole collection (tests, `templates import --replace`); no error when it does not exist. */
  async dropCollection(collection: string): Promise<void> {
    validateCollectionName(collection);
    this.collections.delete(collection);
    try {
      await this.call('deleteCollection', () => this.client.deleteCollection({ name: collection }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Deletes the records whose metadata would lose keys, since Chroma's upsert would keep those keys. */
  private async replaceDroppedKeys(col: Collection, batch: VectorRecord[]): Promise<void> {
    const existing = await col.get({ ids: batch.map((r) => r.id), include: ['metadatas'] });
    const next = new Map(batch.map((r) => [r.id, r.metadata]));
    const stale = existing.ids.filter((id, i) => {
      const old = existing.metadatas[i] ?? {};
      const now = next.get(id) ?? {};
      return Object.keys(old).some((k) => !(k in now));
    });
    if (stale.length > 0) await col.delete({ ids: stale });
  }

  private collection(name: string): Promise<Collection> {
    let pending = this.collections.get(name);
    if (!pending) {
      pending = this.client.getOrCreateCollection({
        name,
        configuration: { hnsw: { space: 'cosine' } },
        embeddingFunction: null,
      });
      this.collections.set(name, pending);
      pending.then(
        (col) => this.spaces.set(name, collectionSpace(col)),
        () => this.collections.delete(name),
      );
    }
    return pending;
  }

  /** Runs fn on the collection; if it was deleted behind our back, recreates it once. */
  private async withCollection<T>(name: string, op: string, fn: (col: Collection) => Promise<T>): Promise<T> {
    return this.call(`${op} on ${name}`, async () => {
      try {
        return await fn(await this.collection(name));
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.collections.delete(name);
        return fn(await this.collection(name));
      }
    });
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RetryableError(`Chroma at ${this.url} did not answer ${what} within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([fn(), timeout]);
    } catch (err) {
      if (err instanceof RetryableError || err instanceof DimensionMismatchError) throw err;
      const dim = /expecting embedding with dimension of (\d+), got (\d+)/.exec(errorMessage(err));
      if (dim) throw new DimensionMismatchError(what.replace(/^.* on /, ''), Number(dim[1]), Number(dim[2]));
      if (err instanceof ChromaConnectionError || isNetworkError(err)) {
        throw new RetryableError(`Chroma at ${this.url} is unreachable (${what}): ${errorMessage(err)}`, null, {
          cause: err,
        });
      }
      if (err instanceof ChromaServerError || err instanceof ChromaRateLimitError) {
        throw new RetryableError(`Chroma at ${this.url} failed (${what}): ${errorMessage(err)}`, null, { cause: err });
      }
      throw new Error(`Chroma at ${this.url} refused ${what}: ${errorMessage(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }
}

function collectionSpace(col: Collection): string {
  const configured = (col.configuration as { hnsw?: { space?: string } | null } | undefined)?.hnsw?.space;
  const legacy = col.metadata?.['hnsw:space'];
  return configured ?? (typeof legacy === 'string' ? legacy : 'l2');
}

function isNotFound(err: unknown): boolean {
  if (err instanceof ChromaNotFoundError) return true;
  const cause = err instanceof Error ? err.cause : undefined;
  return cause instanceof ChromaNotFoundError;
}

function isNetworkError(err: unknown): boolean {
  return err instanceof TypeError && /fetch failed|network/i.test(err.message);
}

/** Our equality map as Chroma's where: one key as is, several under $and, none as undefined. */
export function toChromaWhere(where: Where | undefined): ChromaWhere | undefined {
  if (!where) return undefined;
  const clauses = Object.entries(where).map(([k, v]) => ({ [k]: { $eq: v } }) as ChromaWhere);
  if (clauses.length === 0) return undefined;
  if (clauses.length === 1) return clauses[0];
  return { $and: clauses };
}

function toMetadata(m: Record<string, unknown> | null | undefined): Metadata {
  const out: Metadata = {};
  if (!m) return out;
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  return out;
}

function toRecords(res: {
  ids: string[];
  documents: (string | null)[];
  metadatas: (Record<string, unknown> | null)[];
  embeddings: number[][];
}): VectorRecord[] {
  return res.ids.map((id, i) => ({
    id,
    document: res.documents[i] ?? '',
    metadata: toMetadata(res.metadatas[i]),
    embedding: Array.from(res.embeddings[i] ?? []),
  }));
}
