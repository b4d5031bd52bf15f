import type { Kysely } from 'kysely';
import type { VectorTables } from '../db/tables/vectors.js';
import { ChromaVectorIndex, type ChromaVectorIndexOptions } from './ChromaVectorIndex.js';
import { EmbeddedVectorIndex } from './EmbeddedVectorIndex.js';
import type { DroppableVectorIndex } from './reembedCollection.js';

export interface VectorIndexChoice {
  index: DroppableVectorIndex;
  kind: 'chroma' | 'embedded';
  /** for the startup log line: where vectors live */
  description: string;
}

/** Chroma when CHROMA_URL is set, else the embedded index in the service's own database. */
export function createVectorIndex(
  chromaUrl: string | null,
  db: Kysely<VectorTables>,
  options: ChromaVectorIndexOptions = {},
): VectorIndexChoice {
  if (chromaUrl) {
    const index = new ChromaVectorIndex(chromaUrl, options);
    return { index, kind: 'chroma', description: `Chroma at ${index.url}` };
  }
  return { index: new EmbeddedVectorIndex(db), kind: 'embedded', description: 'embedded (in the database)' };
}
