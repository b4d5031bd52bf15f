import { EMBEDDING_VERSION, embedConfiguration } from './embed.js';
import { extractConfigFromDocument, extractDockerfileFromDocument } from './seedDocuments.js';
import type { VectorIndex, VectorRecord } from './VectorIndex.js';

/** A VectorIndex that can also remove a whole collection (both implementations can). */
export interface DroppableVectorIndex extends VectorIndex {
  dropCollection(collection: string): Promise<void>;
}

export interface ReembedResult {
  collection: string;
  /** records rewritten with this version's embedding */
  reembedded: number;
  /** records already current, left alone */
  current: number;
  /** where the old records were copied before the collection was rewritten, or null if it was not */
  backup: string | null;
}

/** The embedding a stored record gets today, from its document and its language/framework metadata. */
export function embeddingForRecord(record: VectorRecord): number[] {
  const meta = record.metadata;
  const fromDoc = (label: string) => new RegExp(`^${label}: (.+)$`, 'm').exec(record.document)?.[1]?.trim();
  const language = String(meta.language ?? fromDoc('Language') ?? 'unknown');
  const framework = String(meta.framework ?? fromDoc('Framework') ?? 'generic');
  return embedConfiguration({
    language,
    framework,
    // a record without the fenced YAML (foreign documents) is embedded from its whole text
    config: extractConfigFromDocument(record.document) ?? record.document,
    extra: { dockerfile: extractDockerfileFromDocument(record.document) },
  });
}

/**
 * Rewrites a collection's embeddings with this version's (EMBEDDING_VERSION), keeping ids, documents and
 * metadata. Needed once for a Chroma the seed filled (384-dimension default model, l2 space) and after
 * any change to embed.ts. When the dimension changes the collection must be recreated: its records are
 * first copied to `<collection>_backup_<time>`, so a crash midway loses nothing.
 */
export async function reembedCollection(
  index: DroppableVectorIndex,
  collection: string,
  options: { now?: Date; backup?: boolean } = {},
): Promise<ReembedResult> {
  const records = await index.list(collection);
  const stale = records.filter((r) => r.metadata.embedding_version !== EMBEDDING_VERSION);
  if (stale.length === 0) return { collection, reembedded: 0, current: records.length, backup: null };

  const fresh = records.map((r) => ({
    ...r,
    embedding: embeddingForRecord(r),
    metadata: { ...r.metadata, embedding_version: EMBEDDING_VERSION },
  }));
  const dimensionChanges = records.some((r) => r.embedding.length !== fresh[0].embedding.length);
  let backup: string | null = null;
  if (dimensionChanges || options.backup) {
    const stamp = (options.now ?? new Date())
      .toISOString()
      .replace(/[^0-9]/g, '')
      .slice(0, 14);
    backup = `${collection}_backup_${stamp}`;
    // the backup keeps the old embeddings, so it may hold several dimensions: one collection per dimension
    const byDim = new Map<number, VectorRecord[]>();
    for (const r of records) byDim.set(r.embedding.length, [...(byDim.get(r.embedding.length) ?? []), r]);
    const dims = [...byDim.keys()];
    for (const [dim, group] of byDim) await index.upsert(dims.length > 1 ? `${backup}_d${dim}` : backup, group);
  }
  if (dimensionChanges) await index.dropCollection(collection);
  await index.upsert(collection, fresh);
  return { collection, reembedded: stale.length, current: records.length - stale.length, backup };
}
