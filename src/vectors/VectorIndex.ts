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

export interface VectorIndex {
  upsert(collection: string, records: VectorRecord[]): Promise<void>;
  get(collection: string, ids: string[]): Promise<VectorRecord[]>;
  query(collection: string, query: { embedding: number[]; where?: Where; limit: number }): Promise<VectorMatch[]>;
  list(collection: string, query?: { where?: Where; limit?: number }): Promise<VectorRecord[]>;
  delete(collection: string, query: { ids?: string[]; where?: Where }): Promise<void>;
}

export const COLLECTIONS = {
  successful: 'successful_pipelines',
  feedback: 'pipeline_feedback',
  templates: 'pipeline_templates',
} as const;
