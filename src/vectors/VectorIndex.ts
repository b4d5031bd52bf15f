/**
 * Retrieval store for configurations (Chroma collections `successful_pipelines`, `pipeline_feedback`,
 * `pipeline_templates`). Embeddings are computed by the service itself (see embed.ts), so the index
 * never downloads a model. Implementations: Chroma (CHROMA_URL) and embedded (in the database).
 */
export type Metadata = Record<string, string | number | boolean>;

export interface VectorRecord {
  id: string;
  document: string;
  metadata: Metadata;
  embedding: number[];
}

export interface VectorMatch extends VectorRecord {
  /** cosine distance, 0 = identical */
  distance: number;
}

/** Equality filters, combined with AND. */
export type Where = Record<string, string | number | boolean>;

/**
 * Both implementations pass one contract suite (test/vectors/vectorIndexContract.ts). Collections are
 * created on first write; reading one nobody wrote gives nothing. A collection has one embedding
 * dimension (DimensionMismatchError otherwise). Ids are unique per collection.
 */
export interface VectorIndex {
  /** Inserts or replaces whole records (document, embedding and all metadata keys). */
  upsert(collection: string, records: VectorRecord[]): Promise<void>;
  /** The records found, in the order of `ids`; unknown ids are skipped. */
  get(collection: string, ids: string[]): Promise<VectorRecord[]>;
  /** Nearest first by cosine distance, at most `limit`. */
  query(collection: string, query: { embedding: number[]; where?: Where; limit: number }): Promise<VectorMatch[]>;
  /** Matching records in no particular order; sort them yourself. */
  list(collection: string, query?: { where?: Where; limit?: number }): Promise<VectorRecord[]>;
  /** By ids, by where, or both (AND); neither is refused rather than emptying the collection. */
  delete(collection: string, query: { ids?: string[]; where?: Where }): Promise<void>;
}

export const COLLECTIONS = {
  successful: 'successful_pipelines',
  feedback: 'pipeline_feedback',
  templates: 'pipeline_templates',
} as const;
