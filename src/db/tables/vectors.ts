import type { ColumnType } from 'kysely';
import type { Metadata } from '../../vectors/VectorIndex.js';

/**
 * The embedded vector index (used when CHROMA_URL is unset): one row per record of a collection.
 * metadata is jsonb (equality filters use `@>`); embedding is real[], float32 like Chroma's.
 * Writes go through `::text::jsonb` / `::text::real[]` casts (see EmbeddedVectorIndex), so both
 * drivers bind plain text; reads come back as objects and number arrays.
 */
export interface VectorRecordsTable {
  collection: string;
  id: string;
  document: string;
  metadata: ColumnType<Metadata, Metadata, Metadata>;
  embedding: ColumnType<number[], number[], number[]>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface VectorTables {
  vector_records: VectorRecordsTable;
}
