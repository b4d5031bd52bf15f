import type { Metadata, VectorRecord, Where } from './VectorIndex.js';

/**
 * The checks Chroma itself applies, run by both implementations so that a record the embedded index
 * accepts is also one Chroma accepts (switching CHROMA_URL on must not start failing writes).
 */
export function validateRecords(collection: string, records: VectorRecord[]): void {
  validateCollectionName(collection);
  const seen = new Set<string>();
  let dimension: number | null = null;
  for (const r of records) {
    if (typeof r.id !== 'string' || r.id.length === 0)
      throw new Error(`vector index: empty record id in ${collection}`);
    if (seen.has(r.id)) throw new Error(`vector index: duplicate id ${r.id} in one upsert to ${collection}`);
    seen.add(r.id);
    if (typeof r.document !== 'string') throw new Error(`vector index: record ${r.id} has no document`);
    validateEmbedding(r.embedding, `record ${r.id}`);
    if (dimension === null) dimension = r.embedding.length;
    else if (r.embedding.length !== dimension) {
      throw new Error(
        `vector index: embeddings of different dimensions in one upsert to ${collection} (${dimension} and ${r.embedding.length})`,
      );
    }
    validateMetadata(r.metadata, `record ${r.id}`);
  }
}

export function validateEmbedding(embedding: number[], what: string): void {
  if (!Array.isArray(embedding) || embedding.length === 0) throw new Error(`vector index: ${what} has no embedding`);
  for (const v of embedding) {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new Error(`vector index: ${what} has a non-finite embedding value`);
  }
}

export function validateMetadata(metadata: Metadata | Where, what: string): void {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new Error(`vector index: ${what}: metadata must be an object`);
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (k.length === 0 || k.startsWith('$') || k.startsWith('#')) {
      throw new Error(`vector index: ${what}: metadata key ${JSON.stringify(k)} is reserved`);
    }
    const t = typeof v;
    if (t === 'string' || t === 'boolean') continue;
    if (t === 'number' && Number.isFinite(v)) continue;
    throw new Error(`vector index: ${what}: metadata ${k} must be a string, a finite number or a boolean`);
  }
}

/** Chroma's rule: 3–512 characters of [a-zA-Z0-9._-], starting and ending with a letter or digit. */
export function validateCollectionName(name: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$/.test(name) || name.includes('..')) {
    throw new Error(`vector index: invalid collection name ${JSON.stringify(name)}`);
  }
}

/** Cosine distance as Chroma's `cosine` space defines it: 1 - cos(a, b); 1 when either vector is zero. */
export function cosineDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  if (na === 0 || nb === 0) return 1;
  return 1 - dot / Math.sqrt(na * nb);
}
