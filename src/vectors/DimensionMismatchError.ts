/**
 * A collection holds embeddings of another dimension than the ones written or queried: typically a
 * Chroma the seed filled with Chroma's default 384-dimension model, or records from before
 * EMBEDDING_DIMENSION changed. Retrying cannot help; reembedCollection() rewrites the collection.
 */
export class DimensionMismatchError extends Error {
  constructor(
    readonly collection: string,
    readonly stored: number,
    readonly given: number,
  ) {
    super(
      `vector collection ${collection} holds embeddings of dimension ${stored}, not ${given}: ` +
        'it was written by another embedding (the seed, or an older pipeline-learner); ' +
        're-embed it from its documents with reembedCollection (`pipeline-learner migrate --reembed-vectors`)',
    );
    this.name = 'DimensionMismatchError';
  }
}
