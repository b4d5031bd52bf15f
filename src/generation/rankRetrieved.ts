/**
 * Orders retrieved configurations (RAG) for adaptation: proven-and-similar before merely similar.
 *
 *   score = max(0, similarity) × mean
 *
 * `similarity` is the cosine similarity of the repository's embedding and the configuration's (1 =
 * same direction; a distance d from the vector index is 1 − d). `mean` is the learner's posterior
 * mean probability of success for the configuration in this context; a configuration the learner has
 * not seen gets 0.5, the mean of the cautious Beta(1,1). So a proven configuration (mean 0.9) at
 * similarity 0.8 scores 0.72 and goes before an unproven one at 0.95 (0.475), while a configuration
 * that keeps failing (mean 0.1) falls behind both however similar it is. Ties: more observed runs,
 * then higher similarity, then the hash, so the order is stable.
 */
export interface RetrievedCandidate {
  hash: string;
  similarity: number;
  /** posterior mean from the learner; null when the learner has no record of it */
  posteriorMean: number | null;
  /** effective number of observed runs (0 when unknown) */
  runs?: number;
}

export interface RankedCandidate<T extends RetrievedCandidate> {
  candidate: T;
  score: number;
}

export const UNSEEN_MEAN = 0.5;

export function retrievalScore(c: RetrievedCandidate): number {
  const s = Number.isFinite(c.similarity) ? Math.max(0, Math.min(1, c.similarity)) : 0;
  const m =
    c.posteriorMean === null || !Number.isFinite(c.posteriorMean)
      ? UNSEEN_MEAN
      : Math.max(0, Math.min(1, c.posteriorMean));
  return s * m;
}

export function rankRetrieved<T extends RetrievedCandidate>(
  candidates: readonly T[],
  options: { minSimilarity?: number } = {},
): RankedCandidate<T>[] {
  const min = options.minSimilarity ?? 0;
  return candidates
    .filter((c) => c.similarity >= min)
    .map((candidate) => ({ candidate, score: retrievalScore(candidate) }))
    .sort(
      (a, b) =>
        b.score - a.score ||
        (b.candidate.runs ?? 0) - (a.candidate.runs ?? 0) ||
        b.candidate.similarity - a.candidate.similarity ||
        (a.candidate.hash < b.candidate.hash ? -1 : a.candidate.hash > b.candidate.hash ? 1 : 0),
    );
}
